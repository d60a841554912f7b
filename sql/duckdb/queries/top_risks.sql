-- The five highest risk scores across resources, identities and container images, with
-- the factors behind each score (name and weight), the toxic combinations that raised it,
-- and the factors that could not be judged (the score is then a lower bound).
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
WITH risks AS (
    SELECT account_id, region, 'resource' AS kind, resource_type AS type,
           coalesce(resource_arn, resource_id) AS name,
           score, severity, factors, toxic_combinations, unknown_factors
    FROM risk_resources
    UNION ALL
    SELECT account_id, region, 'identity', principal_type, principal_arn,
           score, severity, factors, toxic_combinations, unknown_factors
    FROM risk_identities
    UNION ALL
    SELECT account_id, region, 'image', registry_kind,
           registry || '/' || repository_name || '@' || image_digest,
           score, severity, factors, toxic_combinations, unknown_factors
    FROM risk_images
)
SELECT account_id, region, kind, type, name, score, severity,
       array_to_string([f.factor || ' +' || f.weight FOR f IN factors], ', ') AS factors,
       array_to_string(toxic_combinations, ', ') AS toxic_combinations,
       array_to_string(unknown_factors, ', ') AS unknown_factors
FROM risks
WHERE score > 0
ORDER BY score DESC, kind, name
LIMIT 5;
