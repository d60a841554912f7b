-- Compliance score per account and framework, from the latest committed jobs.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, framework, framework_version, passed, failed, unknown, not_applicable,
       round(score, 1) AS score
FROM compliance_summary
WHERE control_id IS NULL
ORDER BY account_id, framework;
