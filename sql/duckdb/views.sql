-- Views over a Lakewarden lake, generated from schemas/ by `lakewarden ddl duckdb`.
-- Do not edit: change the schema files and regenerate (`make docs`).
--
-- Usage, in the DuckDB CLI or any DuckDB client:
--   SET VARIABLE lake = './lake';      -- or 's3://bucket/prefix' with httpfs loaded
--   .read sql/duckdb/views.sql
--
-- `<table>` holds the newest committed snapshot of each account and region (the
-- latest start, then the latest commit: rerunning the jobs of an old run does not
-- make it current);
-- `<table>_history` every committed snapshot. Files of runs that never
-- committed are never read. Partition values are typed as strings.

CREATE OR REPLACE VIEW lake_runs AS
SELECT *
FROM read_parquet(getvariable('lake') || '/lake_runs/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)
WHERE run_id IS NOT NULL;

CREATE OR REPLACE VIEW lake_latest AS
SELECT table_name, account_id, region,
    max_by(run_id, {'snapshot_at': snapshot_at, 'committed_at': committed_at}) AS run_id,
    max(committed_at) AS committed_at
FROM lake_runs
WHERE status = 'ok'
GROUP BY table_name, account_id, region;

CREATE OR REPLACE VIEW changes_controls_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/changes_controls/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'changes_controls' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW changes_controls AS
SELECT t.*
FROM changes_controls_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'changes_controls'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW changes_findings_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/changes_findings/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'changes_findings' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW changes_findings AS
SELECT t.*
FROM changes_findings_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'changes_findings'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW changes_resources_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/changes_resources/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'changes_resources' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW changes_resources AS
SELECT t.*
FROM changes_resources_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'changes_resources'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW compliance_results_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/compliance_results/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'compliance_results' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW compliance_results AS
SELECT t.*
FROM compliance_results_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'compliance_results'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW compliance_summary_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/compliance_summary/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'compliance_summary' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW compliance_summary AS
SELECT t.*
FROM compliance_summary_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'compliance_summary'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW config_resources_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/config_resources/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'config_resources' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW config_resources AS
SELECT t.*
FROM config_resources_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'config_resources'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW config_rule_compliance_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/config_rule_compliance/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'config_rule_compliance' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW config_rule_compliance AS
SELECT t.*
FROM config_rule_compliance_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'config_rule_compliance'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_access_keys_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_access_keys/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_access_keys' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_access_keys AS
SELECT t.*
FROM iam_access_keys_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_access_keys'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_account_summary_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_account_summary/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_account_summary' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_account_summary AS
SELECT t.*
FROM iam_account_summary_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_account_summary'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_credential_report_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_credential_report/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_credential_report' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_credential_report AS
SELECT t.*
FROM iam_credential_report_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_credential_report'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_groups_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_groups/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_groups' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_groups AS
SELECT t.*
FROM iam_groups_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_groups'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_inline_policies_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_inline_policies/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_inline_policies' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_inline_policies AS
SELECT t.*
FROM iam_inline_policies_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_inline_policies'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_mfa_devices_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_mfa_devices/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_mfa_devices' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_mfa_devices AS
SELECT t.*
FROM iam_mfa_devices_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_mfa_devices'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_password_policy_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_password_policy/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_password_policy' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_password_policy AS
SELECT t.*
FROM iam_password_policy_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_password_policy'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_policies_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_policies/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_policies' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_policies AS
SELECT t.*
FROM iam_policies_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_policies'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_policy_statements_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_policy_statements/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_policy_statements' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_policy_statements AS
SELECT t.*
FROM iam_policy_statements_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_policy_statements'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_roles_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_roles/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_roles' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_roles AS
SELECT t.*
FROM iam_roles_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_roles'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW iam_users_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/iam_users/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'iam_users' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW iam_users AS
SELECT t.*
FROM iam_users_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'iam_users'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW lake_coverage_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/lake_coverage/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'lake_coverage' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW lake_coverage AS
SELECT t.*
FROM lake_coverage_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'lake_coverage'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW lake_errors_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/lake_errors/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'lake_errors' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW lake_errors AS
SELECT t.*
FROM lake_errors_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'lake_errors'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW registry_image_findings_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/registry_image_findings/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'registry_image_findings' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW registry_image_findings AS
SELECT t.*
FROM registry_image_findings_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'registry_image_findings'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW registry_images_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/registry_images/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'registry_images' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW registry_images AS
SELECT t.*
FROM registry_images_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'registry_images'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW registry_repositories_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/registry_repositories/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'registry_repositories' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW registry_repositories AS
SELECT t.*
FROM registry_repositories_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'registry_repositories'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW risk_identities_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/risk_identities/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'risk_identities' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW risk_identities AS
SELECT t.*
FROM risk_identities_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'risk_identities'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW risk_images_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/risk_images/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'risk_images' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW risk_images AS
SELECT t.*
FROM risk_images_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'risk_images'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW risk_resources_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/risk_resources/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'risk_resources' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW risk_resources AS
SELECT t.*
FROM risk_resources_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'risk_resources'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW securityhub_controls_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/securityhub_controls/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'securityhub_controls' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW securityhub_controls AS
SELECT t.*
FROM securityhub_controls_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'securityhub_controls'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW securityhub_findings_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/securityhub_findings/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'securityhub_findings' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW securityhub_findings AS
SELECT t.*
FROM securityhub_findings_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'securityhub_findings'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

CREATE OR REPLACE VIEW securityhub_standards_history AS
SELECT t.*
FROM read_parquet(getvariable('lake') || '/securityhub_standards/*/*/*.parquet',
    hive_partitioning = true, hive_types = {'dt': VARCHAR, 'account_id': VARCHAR}, union_by_name = true) AS t
SEMI JOIN lake_runs AS c
    ON c.table_name = 'securityhub_standards' AND c.status = 'ok'
    AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region;

CREATE OR REPLACE VIEW securityhub_standards AS
SELECT t.*
FROM securityhub_standards_history AS t
SEMI JOIN lake_latest AS l
    ON l.table_name = 'securityhub_standards'
    AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region;

