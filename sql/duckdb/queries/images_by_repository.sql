-- Container images per repository: how many, how many run as root (and how many of
-- whose config was not read, so whether they do is not known), and critical findings,
-- across every registry (ECR and OCI).
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
WITH critical AS (
    SELECT account_id, registry, repository_name, count(*) AS critical_findings
    FROM registry_image_findings
    WHERE severity = 'CRITICAL'
    GROUP BY ALL
)
SELECT i.account_id, i.registry_kind, i.repository_name,
       count(*) AS images,
       count(*) FILTER (i.runs_as_root) AS root_images,
       count(*) FILTER (i.runs_as_root IS NULL) AS config_not_read,
       coalesce(any_value(c.critical_findings), 0) AS critical_findings
FROM registry_images AS i
LEFT JOIN critical AS c USING (account_id, registry, repository_name)
GROUP BY i.account_id, i.registry_kind, i.repository_name
ORDER BY i.account_id, i.registry_kind, i.repository_name;
