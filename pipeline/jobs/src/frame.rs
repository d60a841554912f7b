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

    /// The frame's row positions by `account_id`, found in one pass. The per-account
    /// loops take each account's rows from these; a filter per account would read the
    /// whole frame once for every account, and a sorted copy would double its memory.
    pub fn by_account(&self) -> PolarsResult<ByAccount> {
        let mut rows: std::collections::BTreeMap<String, Vec<IdxSize>> =
            std::collections::BTreeMap::new();
        for (i, account) in self.df.column("account_id")?.str()?.iter().enumerate() {
            let Some(account) = account else { continue };
            let i = IdxSize::try_from(i)
                .map_err(|_| polars_err!(ComputeError: "more rows than an index holds"))?;
            match rows.get_mut(account) {
                Some(positions) => positions.push(i),
                None => {
                    rows.insert(account.to_owned(), vec![i]);
                }
            }
        }
        Ok(ByAccount {
            frame: self.clone(),
            rows,
        })
    }
}

/// A table's rows by account (see [`Frame::by_account`]).
#[derive(Debug)]
pub struct ByAccount {
    frame: Frame,
    rows: std::collections::BTreeMap<String, Vec<IdxSize>>,
}

impl ByAccount {
    /// The account's rows, in the frame's order; none, with the table's columns, when it
    /// has none.
    pub fn get(&self, account: &str) -> PolarsResult<Frame> {
        let df = match self.rows.get(account) {
            Some(positions) => self
                .frame
                .df
                .take(&IdxCa::from_vec("rows".into(), positions.clone()))?,
            None => self.frame.df.clear(),
        };
        Ok(Frame {
            table: self.frame.table,
            df,
        })
    }
}

/// Tables split by account once, for a job's loop over the accounts of a snapshot.
#[derive(Debug)]
pub(crate) struct AccountFrames {
    job: &'static str,
    tables: std::collections::BTreeMap<&'static str, ByAccount>,
}

impl AccountFrames {
    pub(crate) fn new(
        job: &'static str,
        frames: &std::collections::BTreeMap<&'static str, Frame>,
    ) -> Result<Self, crate::JobError> {
        let mut tables = std::collections::BTreeMap::new();
        for (table, frame) in frames {
            let split = frame
                .by_account()
                .map_err(|source| polars_error(job, table, source))?;
            tables.insert(*table, split);
        }
        Ok(Self { job, tables })
    }

    /// The account's rows of each table `covered` says was collected for it.
    pub(crate) fn of(
        &self,
        account: &str,
        covered: impl Fn(&str) -> bool,
    ) -> Result<std::collections::BTreeMap<&'static str, Frame>, crate::JobError> {
        let mut own = std::collections::BTreeMap::new();
        for (table, split) in &self.tables {
            if covered(table) {
                let rows = split
                    .get(account)
                    .map_err(|source| polars_error(self.job, table, source))?;
                own.insert(*table, rows);
            }
        }
        Ok(own)
    }
}

fn polars_error(job: &'static str, table: &str, source: PolarsError) -> crate::JobError {
    crate::JobError::Polars {
        job,
        table: table.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_account_keeps_each_accounts_rows_in_order_and_gives_unknown_accounts_none() {
        let df = df!(
            "account_id" => [Some("b"), Some("a"), None, Some("b"), Some("a"), Some("b")],
            "n" => [1, 2, 3, 4, 5, 6],
        )
        .expect("frame");
        let split = Frame { table: "t", df }.by_account().expect("split");
        let ns = |account: &str| split.get(account).expect("rows").ints("n").expect("n");
        assert_eq!(ns("a"), [Some(2), Some(5)]);
        assert_eq!(ns("b"), [Some(1), Some(4), Some(6)]);
        let none = split.get("c").expect("no rows");
        assert_eq!(none.height(), 0);
        assert_eq!(none.df.get_column_names(), ["account_id", "n"]);
    }
}
