//! The IAM credential report: the CSV that `GetCredentialReport` returns, one
//! [`CredentialReportRow`] per IAM user and one for the account root user.
//!
//! The report writes a marker instead of a value where it has none: `N/A` (the credential
//! does not exist or was never used), `not_supported` (the root user has no such setting)
//! or `no_information` (IAM stopped tracking before the credential was last used). The
//! markers mean different things to an auditor, so a date column keeps the marker in a
//! `<column>_status` field beside its null value instead of dropping it.

use chrono::DateTime;
use csv::StringRecord;

/// The status of a value that the report gave: anything else is the marker as written.
pub const STATUS_PRESENT: &str = "present";

/// What the report writes in a cell that has no value.
const MARKERS: [&str; 3] = ["N/A", "not_supported", "no_information"];

/// One row of the credential report. Timestamps are milliseconds since the Unix epoch, UTC.
///
/// Each `*_status` field is [`STATUS_PRESENT`] when the column beside it held a value and
/// the marker as written (`N/A`, `not_supported`, `no_information`) when it did not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CredentialReportRow {
    /// The `user` column: an IAM user name, or `<root_account>` for the root user.
    pub user_name: String,
    pub arn: String,
    pub user_creation_time: Option<i64>,
    pub password_enabled: Option<bool>,
    pub password_enabled_status: String,
    pub password_last_used: Option<i64>,
    pub password_last_used_status: String,
    pub password_last_changed: Option<i64>,
    pub password_last_changed_status: String,
    pub password_next_rotation: Option<i64>,
    pub password_next_rotation_status: String,
    pub mfa_active: Option<bool>,
    pub access_key_1_active: Option<bool>,
    pub access_key_1_last_rotated: Option<i64>,
    pub access_key_1_last_rotated_status: String,
    pub access_key_1_last_used_date: Option<i64>,
    pub access_key_1_last_used_date_status: String,
    pub access_key_1_last_used_region: Option<String>,
    pub access_key_1_last_used_service: Option<String>,
    pub access_key_2_active: Option<bool>,
    pub access_key_2_last_rotated: Option<i64>,
    pub access_key_2_last_rotated_status: String,
    pub access_key_2_last_used_date: Option<i64>,
    pub access_key_2_last_used_date_status: String,
    pub access_key_2_last_used_region: Option<String>,
    pub access_key_2_last_used_service: Option<String>,
    pub cert_1_active: Option<bool>,
    pub cert_1_last_rotated: Option<i64>,
    pub cert_1_last_rotated_status: String,
    pub cert_2_active: Option<bool>,
    pub cert_2_last_rotated: Option<i64>,
    pub cert_2_last_rotated_status: String,
}

/// Why a credential report could not be read. Messages name the column, and for a bad
/// cell the user whose row holds it; the caller adds the account.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialReportError {
    #[error("credential report is not valid CSV: {source}")]
    Csv {
        #[source]
        source: csv::Error,
    },

    #[error("credential report has no {column} column")]
    MissingColumn { column: &'static str },

    #[error(
        "credential report row for user {user:?}: column {column} holds {value:?}, \
         expected {expected}"
    )]
    InvalidValue {
        user: String,
        column: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Parse a credential report as `GetCredentialReport` returns it (once base64-decoded).
///
/// Columns are found by their header name, so a report with columns in another order or
/// with columns added by a later IAM release still reads; a missing column is an error.
pub fn parse_credential_report(
    csv: &[u8],
) -> Result<Vec<CredentialReportRow>, CredentialReportError> {
    // Not flexible: a row with more or fewer cells than the header is a CSV error, which
    // is what lets `cell` assume every located column exists in every row.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(csv);

    let header = reader
        .headers()
        .map_err(|source| CredentialReportError::Csv { source })?;
    let positions = Positions::locate(header)?;

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| CredentialReportError::Csv { source })?;
        rows.push(parse_row(&Cells::new(&record, &positions))?);
    }
    Ok(rows)
}

fn parse_row(cells: &Cells<'_>) -> Result<CredentialReportRow, CredentialReportError> {
    let password_enabled = cells.flag(Column::PasswordEnabled)?;
    let password_last_used = cells.timestamp(Column::PasswordLastUsed)?;
    let password_last_changed = cells.timestamp(Column::PasswordLastChanged)?;
    let password_next_rotation = cells.timestamp(Column::PasswordNextRotation)?;
    let key_1_rotated = cells.timestamp(Column::AccessKey1LastRotated)?;
    let key_1_used = cells.timestamp(Column::AccessKey1LastUsedDate)?;
    let key_2_rotated = cells.timestamp(Column::AccessKey2LastRotated)?;
    let key_2_used = cells.timestamp(Column::AccessKey2LastUsedDate)?;
    let cert_1_rotated = cells.timestamp(Column::Cert1LastRotated)?;
    let cert_2_rotated = cells.timestamp(Column::Cert2LastRotated)?;

    Ok(CredentialReportRow {
        user_name: cells.user.to_owned(),
        arn: cells.text(Column::Arn).to_owned(),
        user_creation_time: cells.timestamp(Column::UserCreationTime)?.value,
        password_enabled: password_enabled.value,
        password_enabled_status: password_enabled.status,
        password_last_used: password_last_used.value,
        password_last_used_status: password_last_used.status,
        password_last_changed: password_last_changed.value,
        password_last_changed_status: password_last_changed.status,
        password_next_rotation: password_next_rotation.value,
        password_next_rotation_status: password_next_rotation.status,
        mfa_active: cells.flag(Column::MfaActive)?.value,
        access_key_1_active: cells.flag(Column::AccessKey1Active)?.value,
        access_key_1_last_rotated: key_1_rotated.value,
        access_key_1_last_rotated_status: key_1_rotated.status,
        access_key_1_last_used_date: key_1_used.value,
        access_key_1_last_used_date_status: key_1_used.status,
        access_key_1_last_used_region: cells.text_unless_na(Column::AccessKey1LastUsedRegion),
        access_key_1_last_used_service: cells.text_unless_na(Column::AccessKey1LastUsedService),
        access_key_2_active: cells.flag(Column::AccessKey2Active)?.value,
        access_key_2_last_rotated: key_2_rotated.value,
        access_key_2_last_rotated_status: key_2_rotated.status,
        access_key_2_last_used_date: key_2_used.value,
        access_key_2_last_used_date_status: key_2_used.status,
        access_key_2_last_used_region: cells.text_unless_na(Column::AccessKey2LastUsedRegion),
        access_key_2_last_used_service: cells.text_unless_na(Column::AccessKey2LastUsedService),
        cert_1_active: cells.flag(Column::Cert1Active)?.value,
        cert_1_last_rotated: cert_1_rotated.value,
        cert_1_last_rotated_status: cert_1_rotated.status,
        cert_2_active: cells.flag(Column::Cert2Active)?.value,
        cert_2_last_rotated: cert_2_rotated.value,
        cert_2_last_rotated_status: cert_2_rotated.status,
    })
}

/// The report columns this module reads, in the order IAM writes them.
#[derive(Debug, Clone, Copy)]
enum Column {
    User,
    Arn,
    UserCreationTime,
    PasswordEnabled,
    PasswordLastUsed,
    PasswordLastChanged,
    PasswordNextRotation,
    MfaActive,
    AccessKey1Active,
    AccessKey1LastRotated,
    AccessKey1LastUsedDate,
    AccessKey1LastUsedRegion,
    AccessKey1LastUsedService,
    AccessKey2Active,
    AccessKey2LastRotated,
    AccessKey2LastUsedDate,
    AccessKey2LastUsedRegion,
    AccessKey2LastUsedService,
    Cert1Active,
    Cert1LastRotated,
    Cert2Active,
    Cert2LastRotated,
}

impl Column {
    const ALL: [Column; 22] = [
        Column::User,
        Column::Arn,
        Column::UserCreationTime,
        Column::PasswordEnabled,
        Column::PasswordLastUsed,
        Column::PasswordLastChanged,
        Column::PasswordNextRotation,
        Column::MfaActive,
        Column::AccessKey1Active,
        Column::AccessKey1LastRotated,
        Column::AccessKey1LastUsedDate,
        Column::AccessKey1LastUsedRegion,
        Column::AccessKey1LastUsedService,
        Column::AccessKey2Active,
        Column::AccessKey2LastRotated,
        Column::AccessKey2LastUsedDate,
        Column::AccessKey2LastUsedRegion,
        Column::AccessKey2LastUsedService,
        Column::Cert1Active,
        Column::Cert1LastRotated,
        Column::Cert2Active,
        Column::Cert2LastRotated,
    ];

    /// The header IAM gives the column.
    fn header(self) -> &'static str {
        match self {
            Column::User => "user",
            Column::Arn => "arn",
            Column::UserCreationTime => "user_creation_time",
            Column::PasswordEnabled => "password_enabled",
            Column::PasswordLastUsed => "password_last_used",
            Column::PasswordLastChanged => "password_last_changed",
            Column::PasswordNextRotation => "password_next_rotation",
            Column::MfaActive => "mfa_active",
            Column::AccessKey1Active => "access_key_1_active",
            Column::AccessKey1LastRotated => "access_key_1_last_rotated",
            Column::AccessKey1LastUsedDate => "access_key_1_last_used_date",
            Column::AccessKey1LastUsedRegion => "access_key_1_last_used_region",
            Column::AccessKey1LastUsedService => "access_key_1_last_used_service",
            Column::AccessKey2Active => "access_key_2_active",
            Column::AccessKey2LastRotated => "access_key_2_last_rotated",
            Column::AccessKey2LastUsedDate => "access_key_2_last_used_date",
            Column::AccessKey2LastUsedRegion => "access_key_2_last_used_region",
            Column::AccessKey2LastUsedService => "access_key_2_last_used_service",
            Column::Cert1Active => "cert_1_active",
            Column::Cert1LastRotated => "cert_1_last_rotated",
            Column::Cert2Active => "cert_2_active",
            Column::Cert2LastRotated => "cert_2_last_rotated",
        }
    }
}

/// Where each [`Column`] sits in this report's header.
struct Positions([usize; Column::ALL.len()]);

impl Positions {
    fn locate(header: &StringRecord) -> Result<Self, CredentialReportError> {
        let mut positions = [0; Column::ALL.len()];
        for column in Column::ALL {
            positions[column as usize] = header
                .iter()
                .position(|name| name.trim() == column.header())
                .ok_or(CredentialReportError::MissingColumn {
                    column: column.header(),
                })?;
        }
        Ok(Positions(positions))
    }

    fn of(&self, column: Column) -> usize {
        self.0[column as usize]
    }
}

fn cell<'a>(record: &'a StringRecord, positions: &Positions, column: Column) -> &'a str {
    // Every record has as many cells as the header (the reader is not flexible), so the
    // fallback is never taken; it only spares a panic path.
    record.get(positions.of(column)).unwrap_or("")
}

/// A value read from a cell, with the status column that goes beside it.
struct Marked<T> {
    value: Option<T>,
    status: String,
}

/// The cells of one row, read by column.
struct Cells<'a> {
    record: &'a StringRecord,
    positions: &'a Positions,
    /// Named in every error about the row.
    user: &'a str,
}

impl<'a> Cells<'a> {
    fn new(record: &'a StringRecord, positions: &'a Positions) -> Self {
        Cells {
            record,
            positions,
            user: cell(record, positions, Column::User),
        }
    }

    fn text(&self, column: Column) -> &'a str {
        cell(self.record, self.positions, column)
    }

    fn text_unless_na(&self, column: Column) -> Option<String> {
        match self.text(column) {
            "N/A" => None,
            text => Some(text.to_owned()),
        }
    }

    fn timestamp(&self, column: Column) -> Result<Marked<i64>, CredentialReportError> {
        const EXPECTED: &str =
            "an ISO 8601 date with a UTC offset, N/A, not_supported or no_information";
        self.marked(column, EXPECTED, |text| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|moment| moment.timestamp_millis())
        })
    }

    fn flag(&self, column: Column) -> Result<Marked<bool>, CredentialReportError> {
        const EXPECTED: &str = "true, false, N/A, not_supported or no_information";
        self.marked(column, EXPECTED, |text| {
            if text.eq_ignore_ascii_case("true") {
                Some(true)
            } else if text.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Read a cell that holds either a value or one of the [`MARKERS`].
    fn marked<T>(
        &self,
        column: Column,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Marked<T>, CredentialReportError> {
        let text = self.text(column);
        if MARKERS.contains(&text) {
            return Ok(Marked {
                value: None,
                status: text.to_owned(),
            });
        }

        match parse(text) {
            Some(value) => Ok(Marked {
                value: Some(value),
                status: STATUS_PRESENT.to_owned(),
            }),
            None => Err(CredentialReportError::InvalidValue {
                user: self.user.to_owned(),
                column: column.header(),
                value: text.to_owned(),
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,\
        password_last_changed,password_next_rotation,mfa_active,access_key_1_active,\
        access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
        access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
        access_key_2_last_used_date,access_key_2_last_used_region,\
        access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,\
        cert_2_last_rotated";

    const ROOT: &str = "<root_account>,arn:aws:iam::123456789012:root,\
        2016-04-01T00:00:00+00:00,not_supported,2024-05-19T22:10:00+00:00,not_supported,\
        not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";

    const ALICE: &str = "alice,arn:aws:iam::123456789012:user/alice,2019-11-05T14:22:03+00:00,\
        true,no_information,2023-01-15T09:30:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,\
        false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";

    /// Two active keys, both used; times in `Z`, `+00:00`, `+02:00` and with milliseconds.
    const BOB: &str = "bob,arn:aws:iam::123456789012:user/ops/bob,2019-11-05T14:22:03Z,\
        true,2024-05-20T08:15:30Z,2024-04-30T23:59:59+00:00,2024-07-29T23:59:59+00:00,true,\
        true,2023-11-02T07:00:00+00:00,2024-05-21T16:45:00.250+00:00,eu-west-1,s3,\
        true,2024-05-01T12:00:00+02:00,2024-05-19T22:10:00+00:00,us-east-1,iam,\
        true,2022-03-10T11:00:00+00:00,false,N/A";

    fn report(rows: &[&str]) -> String {
        let mut text = String::from(HEADER);
        for row in rows {
            text.push('\n');
            text.push_str(row);
        }
        text.push('\n');
        text
    }

    fn error_of(csv: &str) -> String {
        match parse_credential_report(csv.as_bytes()) {
            Ok(rows) => panic!("expected an error, got {rows:?}"),
            Err(error) => error.to_string(),
        }
    }

    /// The same report with its columns in another order, and a column IAM may add later.
    fn shuffled(csv: &str) -> String {
        let mut lines = Vec::new();
        for line in csv.lines() {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.reverse();
            cells.swap(0, 7);
            let extra = if lines.is_empty() {
                "future_column"
            } else {
                "x"
            };
            cells.insert(3, extra);
            lines.push(cells.join(","));
        }
        lines.join("\n")
    }

    #[test]
    fn credential_report_na_values() {
        let rows =
            parse_credential_report(report(&[ROOT, ALICE]).as_bytes()).expect("report parses");
        assert_eq!(rows.len(), 2);

        let root = &rows[0];
        assert_eq!(root.user_name, "<root_account>");
        assert_eq!(root.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(root.user_creation_time, Some(1_459_468_800_000));
        assert_eq!(root.password_enabled, None);
        assert_eq!(root.password_enabled_status, "not_supported");
        assert_eq!(root.password_last_used, Some(1_716_156_600_000));
        assert_eq!(root.password_last_used_status, "present");
        assert_eq!(root.password_last_changed, None);
        assert_eq!(root.password_last_changed_status, "not_supported");
        assert_eq!(root.password_next_rotation, None);
        assert_eq!(root.password_next_rotation_status, "not_supported");
        assert_eq!(root.mfa_active, Some(true));
        assert_eq!(root.access_key_1_active, Some(false));
        assert_eq!(root.access_key_1_last_rotated, None);
        assert_eq!(root.access_key_1_last_rotated_status, "N/A");

        let alice = &rows[1];
        assert_eq!(alice.user_name, "alice");
        assert_eq!(alice.user_creation_time, Some(1_572_963_723_000));
        assert_eq!(alice.password_enabled, Some(true));
        assert_eq!(alice.password_enabled_status, "present");
        assert_eq!(alice.password_last_used, None);
        assert_eq!(alice.password_last_used_status, "no_information");
        assert_eq!(alice.password_last_changed, Some(1_673_775_000_000));
        assert_eq!(alice.password_last_changed_status, "present");
        assert_eq!(alice.password_next_rotation, None);
        assert_eq!(alice.password_next_rotation_status, "N/A");
        assert_eq!(alice.mfa_active, Some(false));
        assert_eq!(alice.access_key_1_active, Some(false));
        assert_eq!(alice.access_key_1_last_rotated, None);
        assert_eq!(alice.access_key_1_last_rotated_status, "N/A");
        assert_eq!(alice.access_key_1_last_used_date, None);
        assert_eq!(alice.access_key_1_last_used_date_status, "N/A");
        assert_eq!(alice.access_key_1_last_used_region, None);
        assert_eq!(alice.access_key_1_last_used_service, None);
        assert_eq!(alice.access_key_2_active, Some(false));
        assert_eq!(alice.access_key_2_last_rotated, None);
        assert_eq!(alice.access_key_2_last_rotated_status, "N/A");
        assert_eq!(alice.access_key_2_last_used_date, None);
        assert_eq!(alice.access_key_2_last_used_date_status, "N/A");
        assert_eq!(alice.access_key_2_last_used_region, None);
        assert_eq!(alice.access_key_2_last_used_service, None);
        assert_eq!(alice.cert_1_active, Some(false));
        assert_eq!(alice.cert_1_last_rotated, None);
        assert_eq!(alice.cert_1_last_rotated_status, "N/A");
        assert_eq!(alice.cert_2_last_rotated, None);
        assert_eq!(alice.cert_2_last_rotated_status, "N/A");
    }

    #[test]
    fn user_with_two_access_keys() {
        let rows = parse_credential_report(report(&[BOB]).as_bytes()).expect("report parses");
        let present = || "present".to_owned();

        assert_eq!(
            rows,
            vec![CredentialReportRow {
                user_name: "bob".to_owned(),
                arn: "arn:aws:iam::123456789012:user/ops/bob".to_owned(),
                user_creation_time: Some(1_572_963_723_000),
                password_enabled: Some(true),
                password_enabled_status: present(),
                password_last_used: Some(1_716_192_930_000),
                password_last_used_status: present(),
                password_last_changed: Some(1_714_521_599_000),
                password_last_changed_status: present(),
                password_next_rotation: Some(1_722_297_599_000),
                password_next_rotation_status: present(),
                mfa_active: Some(true),
                access_key_1_active: Some(true),
                access_key_1_last_rotated: Some(1_698_908_400_000),
                access_key_1_last_rotated_status: present(),
                access_key_1_last_used_date: Some(1_716_309_900_250),
                access_key_1_last_used_date_status: present(),
                access_key_1_last_used_region: Some("eu-west-1".to_owned()),
                access_key_1_last_used_service: Some("s3".to_owned()),
                access_key_2_active: Some(true),
                access_key_2_last_rotated: Some(1_714_557_600_000),
                access_key_2_last_rotated_status: present(),
                access_key_2_last_used_date: Some(1_716_156_600_000),
                access_key_2_last_used_date_status: present(),
                access_key_2_last_used_region: Some("us-east-1".to_owned()),
                access_key_2_last_used_service: Some("iam".to_owned()),
                cert_1_active: Some(true),
                cert_1_last_rotated: Some(1_646_910_000_000),
                cert_1_last_rotated_status: present(),
                cert_2_active: Some(false),
                cert_2_last_rotated: None,
                cert_2_last_rotated_status: "N/A".to_owned(),
            }]
        );
    }

    #[test]
    fn shuffled_header_order_gives_the_same_rows() {
        let in_order = report(&[ROOT, ALICE, BOB]);
        let reordered = shuffled(&in_order);
        assert!(
            !reordered.starts_with("user,"),
            "the test must move columns: {reordered}"
        );

        assert_eq!(
            parse_credential_report(reordered.as_bytes()).expect("shuffled report parses"),
            parse_credential_report(in_order.as_bytes()).expect("report parses"),
        );
    }

    #[test]
    fn byte_order_mark_and_crlf_are_accepted() {
        let text = format!("\u{feff}{}", report(&[BOB]).replace('\n', "\r\n"));

        let rows = parse_credential_report(text.as_bytes()).expect("report parses");

        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].user_name, "bob");
        assert_eq!(rows[0].cert_2_last_rotated_status, "N/A");
    }

    #[test]
    fn header_only_report_has_no_rows() {
        let rows = parse_credential_report(HEADER.as_bytes()).expect("report parses");

        assert!(rows.is_empty());
    }

    #[test]
    fn missing_column_is_an_error() {
        let without_mfa = report(&[]).replace(",mfa_active,", ",");

        assert_eq!(
            error_of(&without_mfa),
            "credential report has no mfa_active column"
        );
        assert_eq!(error_of(""), "credential report has no user column");
    }

    #[test]
    fn bad_date_names_user_and_column() {
        let csv = report(&[ROOT, &BOB.replace("2024-05-20T08:15:30Z", "yesterday")]);

        assert_eq!(
            error_of(&csv),
            "credential report row for user \"bob\": column password_last_used holds \
             \"yesterday\", expected an ISO 8601 date with a UTC offset, N/A, not_supported \
             or no_information"
        );
    }

    #[test]
    fn date_without_offset_is_an_error() {
        let csv = report(&[&BOB.replace("2022-03-10T11:00:00+00:00", "2022-03-10T11:00:00")]);

        let message = error_of(&csv);

        assert!(
            message.contains("user \"bob\": column cert_1_last_rotated"),
            "{message}"
        );
    }

    #[test]
    fn bad_flag_names_user_and_column() {
        let csv = report(&[&ALICE.replace(":03+00:00,true,", ":03+00:00,yes,")]);

        assert_eq!(
            error_of(&csv),
            "credential report row for user \"alice\": column password_enabled holds \"yes\", \
             expected true, false, N/A, not_supported or no_information"
        );
    }

    #[test]
    fn short_row_is_an_error() {
        let csv = report(&["carol,arn:aws:iam::123456789012:user/carol,N/A"]);

        assert!(error_of(&csv).starts_with("credential report is not valid CSV: "));
    }
}
