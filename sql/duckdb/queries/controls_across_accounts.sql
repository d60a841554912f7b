-- Each control across every account: resources by status, how many accounts fail it,
-- and a score. `compliance_summary` is partitioned by account, so a row spanning the
-- accounts has no partition to live in: this query computes it from the results.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT framework, control_id, any_value(control_title) AS title,
       count(*) FILTER (status = 'PASS') AS passed,
       count(*) FILTER (status = 'FAIL') AS failed,
       count(*) FILTER (status = 'UNKNOWN') AS unknown,
       count(*) FILTER (status = 'NOT_APPLICABLE') AS not_applicable,
       count(DISTINCT account_id) FILTER (status = 'FAIL') AS failing_accounts,
       round(100.0 * count(*) FILTER (status = 'PASS')
             / nullif(count(*) FILTER (status IN ('PASS', 'FAIL')), 0), 1) AS score
FROM compliance_results
GROUP BY framework, control_id
ORDER BY framework, try_cast(split_part(control_id, '.', 1) AS INTEGER),
         try_cast(split_part(control_id, '.', 2) AS INTEGER),
         try_cast(split_part(control_id, '.', 3) AS INTEGER), control_id;
