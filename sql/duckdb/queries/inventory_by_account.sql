-- AWS Config resources per account and region, by type (the five commonest types).
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, region, resource_type, count(*) AS resources,
       count(*) FILTER (deleted) AS deleted
FROM config_resources
GROUP BY account_id, region, resource_type
ORDER BY account_id, region, resource_type;
