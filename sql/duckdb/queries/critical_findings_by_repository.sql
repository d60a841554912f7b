-- Critical and high vulnerability findings per repository, across every registry (ECR
-- and OCI): repositories without findings are listed too, with the images that were
-- never scanned or whose registry reports no counts (OCI registries do not scan).
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
WITH findings AS (
    SELECT account_id, registry, repository_name,
           count(*) FILTER (severity = 'CRITICAL') AS critical_findings,
           count(*) FILTER (severity = 'HIGH') AS high_findings,
           count(DISTINCT image_digest) FILTER (severity = 'CRITICAL') AS images_with_critical
    FROM registry_image_findings
    GROUP BY ALL
),
images AS (
    SELECT account_id, registry, repository_name,
           count(*) AS images,
           count(*) FILTER (scan_status IS NULL AND findings_critical IS NULL) AS not_scanned
    FROM registry_images
    GROUP BY ALL
)
SELECT r.account_id, r.registry_kind, r.repository_name,
       coalesce(i.images, 0) AS images,
       coalesce(i.not_scanned, 0) AS not_scanned,
       coalesce(f.critical_findings, 0) AS critical_findings,
       coalesce(f.images_with_critical, 0) AS images_with_critical,
       coalesce(f.high_findings, 0) AS high_findings
FROM registry_repositories AS r
LEFT JOIN images AS i USING (account_id, registry, repository_name)
LEFT JOIN findings AS f USING (account_id, registry, repository_name)
ORDER BY critical_findings DESC, high_findings DESC, r.account_id, r.registry_kind,
         r.repository_name;
