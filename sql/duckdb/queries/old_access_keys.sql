-- Active access keys created more than 90 days before the snapshot that read them.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT
    account_id,
    user_name,
    status,
    strftime(create_date AT TIME ZONE 'UTC', '%Y-%m-%d') AS created,
    strftime(last_used_at AT TIME ZONE 'UTC', '%Y-%m-%d') AS last_used
FROM iam_access_keys
WHERE status = 'Active' AND create_date < snapshot_at - INTERVAL 90 DAY
ORDER BY account_id, user_name, create_date;
