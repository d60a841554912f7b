-- Critical Security Hub findings that are new since the previous snapshot of their
-- account and region (changes_findings), with what Security Hub holds about them now.
-- A first snapshot has no previous one, so it reports none.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT c.account_id, c.region, c.finding_id, c.product_name, c.title,
    c.snapshot_at, c.previous_run_id, f.updated_at, f.resources[1].id AS first_resource
FROM changes_findings AS c
LEFT JOIN securityhub_findings AS f
    ON f.account_id = c.account_id AND f.region = c.region AND f.finding_id = c.finding_id
WHERE c.change = 'new' AND c.severity_label = 'CRITICAL'
ORDER BY c.account_id, c.region, c.finding_id;
