-- Controls that fail, with how many resources fail each, per account.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, framework, control_id, any_value(control_title) AS title,
       count(*) AS failing_resources
FROM compliance_results
WHERE status = 'FAIL'
GROUP BY account_id, framework, control_id
ORDER BY account_id, framework, try_cast(split_part(control_id, '.', 1) AS INTEGER),
         try_cast(split_part(control_id, '.', 2) AS INTEGER);
