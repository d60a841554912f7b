-- IAM users who can sign in to the console with a password but have no MFA device,
-- from the credential report.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, user_name, password_last_used, password_last_used_status
FROM iam_credential_report
WHERE password_enabled AND NOT coalesce(mfa_active, false)
ORDER BY account_id, user_name;
