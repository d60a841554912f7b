-- Active Security Hub findings per account, region and severity.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, region, severity_label, count(*) AS findings
FROM securityhub_findings
WHERE record_state = 'ACTIVE'
GROUP BY account_id, region, severity_label
ORDER BY account_id, region,
         list_position(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'], severity_label);
