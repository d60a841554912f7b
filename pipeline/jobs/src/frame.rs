//! Tables of a committed snapshot as Polars data frames, and plain Rust views of their
//! columns for the checks that need row logic.

use polars::prelude::*;

/// A data frame of one table across the accounts of a snapshot.
#[derive(Debug, Clone)]
pub struct Frame {
    pub table: &'static str,
    pub df: DataFrame,
}

impl Frame {
    pub fn height(&self) -> usize {
        self.df.height()
    }

    fn column(&self, name: &str) -> PolarsResult<&Column> {
        self.df.column(name)
    }

    /// A text column; nulls stay `None`.
    pub fn strings(&self, name: &str) -> PolarsResult<Vec<Option<String>>> {
        let column = self.column(name)?.as_materialized_series().clone();
        Ok(column.str()?.iter().map(|v| v.map(str::to_owned)).collect())
    }

    pub fn bools(&self, name: &str) -> PolarsResult<Vec<Option<bool>>> {
        let column = self.column(name)?.as_materialized_series().clone();
        Ok(column.bool()?.iter().collect())
    }

    pub fn ints(&self, name: &str) -> PolarsResult<Vec<Option<i64>>> {
        let column = self.column(name)?.cast(&DataType::Int64)?;
        Ok(column.as_materialized_series().i64()?.iter().collect())
    }

    /// A timestamp column as milliseconds since the epoch.
    pub fn millis(&self, name: &str) -> PolarsResult<Vec<Option<i64>>> {
        let column = self
            .column(name)?
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
            .cast(&DataType::Int64)?;
        Ok(column.as_materialized_series().i64()?.iter().collect())
    }

    /// A `list<string>` column.
    pub fn string_lists(&self, name: &str) -> PolarsResult<Vec<Vec<String>>> {
        let column = self.column(name)?.as_materialized_series().clone();
        let lists = column.list()?;
        let mut out = Vec::with_capacity(lists.len());
        for value in lists.amortized_iter() {
            let items = match value {
                Some(series) => series
                    .as_ref()
                    .str()?
                    .iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            };
            out.push(items);
        }
        Ok(out)
    }

    /// A `map<string,string>` column (a list of key/value structs in Polars); nulls stay
    /// `None`.
    pub fn string_maps(
        &self,
        name: &str,
    ) -> PolarsResult<Vec<Option<std::collections::BTreeMap<String, String>>>> {
        let column = self.column(name)?.as_materialized_series().clone();
        let lists = column.list()?;
        let mut out = Vec::with_capacity(lists.len());
        for value in lists.amortized_iter() {
            let Some(series) = value else {
                out.push(None);
                continue;
            };
            let entries = series.as_ref().struct_()?;
            let keys = entries.field_by_name("key")?;
            let values = entries.field_by_name("value")?;
            let map = keys
                .str()?
                .iter()
                .zip(values.str()?.iter())
                .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
                .collect();
            out.push(Some(map));
        }
        Ok(out)
    }

    /// Rows whose `account_id` is `account`.
    pub fn for_account(&self, account: &str) -> PolarsResult<Frame> {
        let df = self
            .df
            .clone()
            .lazy()
            .filter(col("account_id").eq(lit(account)))
            .collect()?;
        Ok(Frame {
            table: self.table,
            df,
        })
    }
}
