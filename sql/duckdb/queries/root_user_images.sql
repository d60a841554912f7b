-- Container images that run as root (no user set, uid 0 or `root`), in every registry
-- (ECR and OCI), with the user and tags. Images whose config was not read (runs_as_root
-- null) are counted per repository in `images_by_repository.sql`, not listed here.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
SELECT account_id, registry_kind, registry, repository_name,
       coalesce(nullif(array_to_string(tags, ', '), ''), '(untagged)') AS tags,
       coalesce(architecture, '?') AS platform_arch,
       CASE WHEN "user" = '' THEN '(none set)' ELSE "user" END AS "user",
       left(image_digest, 19) AS digest
FROM registry_images
WHERE runs_as_root
ORDER BY account_id, registry_kind, registry, repository_name, tags, platform_arch;
