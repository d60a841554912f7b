-- Athena tables and views over a Lakewarden lake, generated from schemas/ by
-- `lakewarden ddl athena --location s3://YOUR-LAKE-BUCKET/lake --database lakewarden --accounts <ids>`.
-- Do not edit: change the schema files and regenerate (`make docs` writes the
-- committed copy, whose location s3://YOUR-LAKE-BUCKET/lake and accounts are placeholders).
--
-- Run each statement on its own (Athena runs one statement per query), in order:
-- the database, the tables, then the views. `<table>_files` reads every file;
-- query the views: `<table>` holds the newest committed snapshot of each account and
-- region, `<table>_history` every committed snapshot. Partitions are projected
-- (`dt` as a date within NOW-1YEARS,NOW, `account_id` as the listed accounts), so no
-- crawler or MSCK REPAIR is needed. `account_id` is the partition column: Hive
-- does not allow a column to be both, and its value equals the files' column.

CREATE DATABASE IF NOT EXISTS lakewarden;

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.changes_controls_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `framework` string,
    `framework_version` string,
    `control_id` string,
    `control_title` string,
    `resource_type` string,
    `resource_id` string,
    `source` string,
    `previous_status` string,
    `status` string,
    `reason` string,
    `previous_run_id` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/changes_controls/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/changes_controls/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.changes_findings_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `change` string,
    `finding_id` string,
    `product_name` string,
    `title` string,
    `severity_label` string,
    `previous_severity_label` string,
    `workflow_status` string,
    `previous_workflow_status` string,
    `record_state` string,
    `previous_record_state` string,
    `previous_run_id` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/changes_findings/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/changes_findings/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.changes_resources_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `change` string,
    `resource_type` string,
    `resource_id` string,
    `resource_name` string,
    `arn` string,
    `changed_keys` array<string>,
    `previous_run_id` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/changes_resources/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/changes_resources/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.compliance_results_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `framework` string,
    `framework_version` string,
    `control_id` string,
    `control_title` string,
    `level` int,
    `resource_type` string,
    `resource_id` string,
    `status` string,
    `reason` string,
    `evidence` string,
    `source` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/compliance_results/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/compliance_results/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.compliance_summary_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `framework` string,
    `framework_version` string,
    `control_id` string,
    `passed` bigint,
    `failed` bigint,
    `unknown` bigint,
    `not_applicable` bigint,
    `score` double
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/compliance_summary/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/compliance_summary/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.config_resources_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `resource_type` string,
    `resource_id` string,
    `resource_name` string,
    `arn` string,
    `resource_account_id` string,
    `resource_region` string,
    `availability_zone` string,
    `configuration_item_status` string,
    `configuration_item_capture_time` timestamp,
    `resource_creation_time` timestamp,
    `resource_deletion_time` timestamp,
    `configuration_state_id` string,
    `configuration_item_md5_hash` string,
    `configuration_item_version` string,
    `tags` map<string,string>,
    `relationships` array<struct<`resource_type`:string,`resource_id`:string,`resource_name`:string,`relationship_name`:string>>,
    `configuration` string,
    `supplementary_configuration` string,
    `deleted` boolean
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/config_resources/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/config_resources/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.config_rule_compliance_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `config_rule_name` string,
    `config_rule_arn` string,
    `config_rule_state` string,
    `resource_type` string,
    `resource_id` string,
    `compliance_type` string,
    `annotation` string,
    `result_recorded_time` timestamp,
    `config_rule_invoked_time` timestamp,
    `ordering_timestamp` timestamp,
    `evaluation_mode` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/config_rule_compliance/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/config_rule_compliance/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_access_keys_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `user_name` string,
    `user_arn` string,
    `access_key_id` string,
    `status` string,
    `create_date` timestamp,
    `last_used_at` timestamp,
    `last_used_service` string,
    `last_used_region` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_access_keys/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_access_keys/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_account_summary_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `users` int,
    `groups` int,
    `roles` int,
    `policies` int,
    `mfa_devices` int,
    `mfa_devices_in_use` int,
    `account_mfa_enabled` boolean,
    `account_access_keys_present` boolean,
    `account_signing_certificates_present` boolean,
    `summary` map<string,bigint>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_account_summary/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_account_summary/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_credential_report_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `user_name` string,
    `arn` string,
    `user_creation_time` timestamp,
    `password_enabled` boolean,
    `password_enabled_status` string,
    `password_last_used` timestamp,
    `password_last_used_status` string,
    `password_last_changed` timestamp,
    `password_last_changed_status` string,
    `password_next_rotation` timestamp,
    `password_next_rotation_status` string,
    `mfa_active` boolean,
    `access_key_1_active` boolean,
    `access_key_1_last_rotated` timestamp,
    `access_key_1_last_rotated_status` string,
    `access_key_1_last_used_date` timestamp,
    `access_key_1_last_used_date_status` string,
    `access_key_1_last_used_region` string,
    `access_key_1_last_used_service` string,
    `access_key_2_active` boolean,
    `access_key_2_last_rotated` timestamp,
    `access_key_2_last_rotated_status` string,
    `access_key_2_last_used_date` timestamp,
    `access_key_2_last_used_date_status` string,
    `access_key_2_last_used_region` string,
    `access_key_2_last_used_service` string,
    `cert_1_active` boolean,
    `cert_1_last_rotated` timestamp,
    `cert_1_last_rotated_status` string,
    `cert_2_active` boolean,
    `cert_2_last_rotated` timestamp,
    `cert_2_last_rotated_status` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_credential_report/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_credential_report/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_groups_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `group_name` string,
    `group_id` string,
    `arn` string,
    `path` string,
    `create_date` timestamp,
    `attached_policy_arns` array<string>,
    `inline_policy_names` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_groups/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_groups/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_inline_policies_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `owner_type` string,
    `owner_name` string,
    `owner_arn` string,
    `policy_name` string,
    `document` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_inline_policies/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_inline_policies/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_mfa_devices_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `user_name` string,
    `user_arn` string,
    `serial_number` string,
    `enable_date` timestamp
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_mfa_devices/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_mfa_devices/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_password_policy_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `policy_present` boolean,
    `minimum_password_length` int,
    `require_symbols` boolean,
    `require_numbers` boolean,
    `require_uppercase_characters` boolean,
    `require_lowercase_characters` boolean,
    `allow_users_to_change_password` boolean,
    `expire_passwords` boolean,
    `max_password_age` int,
    `password_reuse_prevention` int,
    `hard_expiry` boolean
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_password_policy/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_password_policy/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_policies_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `policy_name` string,
    `policy_id` string,
    `arn` string,
    `path` string,
    `aws_managed` boolean,
    `default_version_id` string,
    `attachment_count` int,
    `permissions_boundary_usage_count` int,
    `is_attachable` boolean,
    `create_date` timestamp,
    `update_date` timestamp,
    `description` string,
    `document` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_policies/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_policies/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_policy_statements_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `policy_kind` string,
    `policy_arn` string,
    `policy_name` string,
    `owner_type` string,
    `owner_arn` string,
    `statement_index` int,
    `sid` string,
    `effect` string,
    `action` array<string>,
    `not_action` array<string>,
    `resource` array<string>,
    `not_resource` array<string>,
    `principal` array<struct<`kind`:string,`value`:string>>,
    `not_principal` array<struct<`kind`:string,`value`:string>>,
    `condition_json` string,
    `conditions` array<struct<`operator`:string,`key`:string,`values`:array<string>>>,
    `admin_equivalent` boolean
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_policy_statements/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_policy_statements/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_roles_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `role_name` string,
    `role_id` string,
    `arn` string,
    `path` string,
    `create_date` timestamp,
    `trust_policy` string,
    `role_last_used_at` timestamp,
    `role_last_used_region` string,
    `permissions_boundary_arn` string,
    `attached_policy_arns` array<string>,
    `inline_policy_names` array<string>,
    `instance_profile_arns` array<string>,
    `tags` map<string,string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_roles/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_roles/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.iam_users_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `user_name` string,
    `user_id` string,
    `arn` string,
    `path` string,
    `create_date` timestamp,
    `permissions_boundary_arn` string,
    `group_names` array<string>,
    `attached_policy_arns` array<string>,
    `inline_policy_names` array<string>,
    `tags` map<string,string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/iam_users/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/iam_users/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.lake_coverage_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `source` string,
    `api` string,
    `status` string,
    `message` string,
    `calls` int,
    `tables` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/lake_coverage/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/lake_coverage/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.lake_errors_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `source` string,
    `table_name` string,
    `object` string,
    `message` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/lake_errors/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/lake_errors/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.lake_runs_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `committed_at` timestamp,
    `table_name` string,
    `account_id` string,
    `region` string,
    `status` string,
    `files` array<string>,
    `rows` bigint,
    `bytes` bigint,
    `error` string,
    `shard` string,
    `lakewarden_version` string,
    `run_summary` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/lake_runs/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/lake_runs/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.registry_image_findings_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `registry_kind` string,
    `registry` string,
    `repository_name` string,
    `image_digest` string,
    `vulnerability_id` string,
    `severity` string,
    `package_name` string,
    `package_version` string,
    `fixed_version` string,
    `cvss_score` double,
    `cvss_vector` string,
    `uri` string,
    `description` string,
    `status` string,
    `finding_source` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/registry_image_findings/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/registry_image_findings/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.registry_images_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `registry_kind` string,
    `registry` string,
    `repository_name` string,
    `image_digest` string,
    `index_digest` string,
    `tags` array<string>,
    `pushed_at` timestamp,
    `size_bytes` bigint,
    `media_type` string,
    `os` string,
    `architecture` string,
    `variant` string,
    `last_pulled_at` timestamp,
    `scan_status` string,
    `scan_status_description` string,
    `findings_critical` bigint,
    `findings_high` bigint,
    `findings_medium` bigint,
    `findings_low` bigint,
    `findings_informational` bigint,
    `findings_undefined` bigint,
    `image_created_at` timestamp,
    `user` string,
    `runs_as_root` boolean,
    `entrypoint` array<string>,
    `command` array<string>,
    `exposed_ports` array<string>,
    `env_names` array<string>,
    `labels` map<string,string>,
    `base_image_name` string,
    `base_image_digest` string,
    `layer_count` int
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/registry_images/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/registry_images/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.registry_repositories_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `registry_kind` string,
    `registry` string,
    `repository_name` string,
    `repository_uri` string,
    `repository_arn` string,
    `registry_id` string,
    `created_at` timestamp,
    `tag_mutability` string,
    `scan_on_push` boolean,
    `scan_type` string,
    `encryption_type` string,
    `kms_key` string,
    `policy` string,
    `policy_public` boolean,
    `lifecycle_policy` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/registry_repositories/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/registry_repositories/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.risk_identities_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `principal_type` string,
    `principal_arn` string,
    `principal_name` string,
    `score` int,
    `severity` string,
    `factors` array<struct<`factor`:string,`weight`:int,`evidence`:string>>,
    `toxic_combinations` array<string>,
    `unknown_factors` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/risk_identities/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/risk_identities/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.risk_images_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `registry_kind` string,
    `registry` string,
    `repository_name` string,
    `image_digest` string,
    `tags` array<string>,
    `score` int,
    `severity` string,
    `factors` array<struct<`factor`:string,`weight`:int,`evidence`:string>>,
    `toxic_combinations` array<string>,
    `unknown_factors` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/risk_images/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/risk_images/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.risk_resources_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `resource_type` string,
    `resource_id` string,
    `resource_arn` string,
    `resource_name` string,
    `tags` map<string,string>,
    `score` int,
    `severity` string,
    `factors` array<struct<`factor`:string,`weight`:int,`evidence`:string>>,
    `toxic_combinations` array<string>,
    `unknown_factors` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/risk_resources/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/risk_resources/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.securityhub_controls_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `standards_subscription_arn` string,
    `standards_control_arn` string,
    `control_id` string,
    `control_status` string,
    `severity_rating` string,
    `title` string,
    `description` string,
    `disabled_reason` string,
    `control_status_updated_at` timestamp,
    `remediation_url` string,
    `related_requirements` array<string>
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/securityhub_controls/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/securityhub_controls/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.securityhub_findings_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `finding_id` string,
    `aws_account_id` string,
    `product_arn` string,
    `product_name` string,
    `company_name` string,
    `generator_id` string,
    `types` array<string>,
    `title` string,
    `description` string,
    `severity_label` string,
    `severity_normalized` int,
    `workflow_status` string,
    `record_state` string,
    `compliance_status` string,
    `related_requirements` array<string>,
    `security_control_id` string,
    `associated_standards` array<string>,
    `resources` array<struct<`type`:string,`id`:string,`partition`:string,`region`:string,`tags`:map<string,string>,`details`:string>>,
    `first_observed_at` timestamp,
    `last_observed_at` timestamp,
    `created_at` timestamp,
    `updated_at` timestamp,
    `product_fields` map<string,string>,
    `user_defined_fields` map<string,string>,
    `note_text` string,
    `finding` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/securityhub_findings/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/securityhub_findings/dt=${dt}/account_id=${account_id}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS lakewarden.securityhub_standards_files (
    `run_id` string,
    `snapshot_at` timestamp,
    `region` string,
    `standards_subscription_arn` string,
    `standards_arn` string,
    `standards_status` string,
    `status_reason` string
)
PARTITIONED BY (`dt` string, `account_id` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/lake/securityhub_standards/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'parquet.compression' = 'ZSTD',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = 'NOW-1YEARS,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'projection.account_id.type' = 'enum',
    'projection.account_id.values' = '012345678901,111111111111,222222222222',
    'storage.location.template' = 's3://YOUR-LAKE-BUCKET/lake/securityhub_standards/dt=${dt}/account_id=${account_id}/'
);

CREATE OR REPLACE VIEW lakewarden.lake_runs AS
SELECT *
FROM lakewarden.lake_runs_files
WHERE run_id IS NOT NULL;

CREATE OR REPLACE VIEW lakewarden.lake_latest AS
SELECT table_name, account_id, region, run_id, committed_at
FROM (
    SELECT table_name, account_id, region, run_id,
        max(committed_at) OVER (PARTITION BY table_name, account_id, region) AS committed_at,
        row_number() OVER (PARTITION BY table_name, account_id, region
            ORDER BY snapshot_at DESC, committed_at DESC) AS newest
    FROM lakewarden.lake_runs
    WHERE status = 'ok'
) AS ranked
WHERE newest = 1;

CREATE OR REPLACE VIEW lakewarden.changes_controls_history AS
SELECT t.*
FROM lakewarden.changes_controls_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'changes_controls' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.changes_controls AS
SELECT t.*
FROM lakewarden.changes_controls_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'changes_controls'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.changes_findings_history AS
SELECT t.*
FROM lakewarden.changes_findings_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'changes_findings' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.changes_findings AS
SELECT t.*
FROM lakewarden.changes_findings_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'changes_findings'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.changes_resources_history AS
SELECT t.*
FROM lakewarden.changes_resources_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'changes_resources' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.changes_resources AS
SELECT t.*
FROM lakewarden.changes_resources_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'changes_resources'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.compliance_results_history AS
SELECT t.*
FROM lakewarden.compliance_results_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'compliance_results' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.compliance_results AS
SELECT t.*
FROM lakewarden.compliance_results_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'compliance_results'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.compliance_summary_history AS
SELECT t.*
FROM lakewarden.compliance_summary_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'compliance_summary' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.compliance_summary AS
SELECT t.*
FROM lakewarden.compliance_summary_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'compliance_summary'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.config_resources_history AS
SELECT t.*
FROM lakewarden.config_resources_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'config_resources' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.config_resources AS
SELECT t.*
FROM lakewarden.config_resources_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'config_resources'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.config_rule_compliance_history AS
SELECT t.*
FROM lakewarden.config_rule_compliance_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'config_rule_compliance' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.config_rule_compliance AS
SELECT t.*
FROM lakewarden.config_rule_compliance_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'config_rule_compliance'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_access_keys_history AS
SELECT t.*
FROM lakewarden.iam_access_keys_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_access_keys' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_access_keys AS
SELECT t.*
FROM lakewarden.iam_access_keys_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_access_keys'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_account_summary_history AS
SELECT t.*
FROM lakewarden.iam_account_summary_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_account_summary' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_account_summary AS
SELECT t.*
FROM lakewarden.iam_account_summary_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_account_summary'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_credential_report_history AS
SELECT t.*
FROM lakewarden.iam_credential_report_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_credential_report' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_credential_report AS
SELECT t.*
FROM lakewarden.iam_credential_report_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_credential_report'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_groups_history AS
SELECT t.*
FROM lakewarden.iam_groups_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_groups' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_groups AS
SELECT t.*
FROM lakewarden.iam_groups_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_groups'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_inline_policies_history AS
SELECT t.*
FROM lakewarden.iam_inline_policies_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_inline_policies' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_inline_policies AS
SELECT t.*
FROM lakewarden.iam_inline_policies_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_inline_policies'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_mfa_devices_history AS
SELECT t.*
FROM lakewarden.iam_mfa_devices_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_mfa_devices' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_mfa_devices AS
SELECT t.*
FROM lakewarden.iam_mfa_devices_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_mfa_devices'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_password_policy_history AS
SELECT t.*
FROM lakewarden.iam_password_policy_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_password_policy' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_password_policy AS
SELECT t.*
FROM lakewarden.iam_password_policy_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_password_policy'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_policies_history AS
SELECT t.*
FROM lakewarden.iam_policies_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_policies' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_policies AS
SELECT t.*
FROM lakewarden.iam_policies_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_policies'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_policy_statements_history AS
SELECT t.*
FROM lakewarden.iam_policy_statements_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_policy_statements' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_policy_statements AS
SELECT t.*
FROM lakewarden.iam_policy_statements_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_policy_statements'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_roles_history AS
SELECT t.*
FROM lakewarden.iam_roles_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_roles' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_roles AS
SELECT t.*
FROM lakewarden.iam_roles_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_roles'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_users_history AS
SELECT t.*
FROM lakewarden.iam_users_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'iam_users' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.iam_users AS
SELECT t.*
FROM lakewarden.iam_users_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'iam_users'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.lake_coverage_history AS
SELECT t.*
FROM lakewarden.lake_coverage_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'lake_coverage' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.lake_coverage AS
SELECT t.*
FROM lakewarden.lake_coverage_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'lake_coverage'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.lake_errors_history AS
SELECT t.*
FROM lakewarden.lake_errors_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'lake_errors' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.lake_errors AS
SELECT t.*
FROM lakewarden.lake_errors_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'lake_errors'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_image_findings_history AS
SELECT t.*
FROM lakewarden.registry_image_findings_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'registry_image_findings' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_image_findings AS
SELECT t.*
FROM lakewarden.registry_image_findings_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'registry_image_findings'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_images_history AS
SELECT t.*
FROM lakewarden.registry_images_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'registry_images' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_images AS
SELECT t.*
FROM lakewarden.registry_images_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'registry_images'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_repositories_history AS
SELECT t.*
FROM lakewarden.registry_repositories_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'registry_repositories' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.registry_repositories AS
SELECT t.*
FROM lakewarden.registry_repositories_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'registry_repositories'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_identities_history AS
SELECT t.*
FROM lakewarden.risk_identities_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'risk_identities' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_identities AS
SELECT t.*
FROM lakewarden.risk_identities_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'risk_identities'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_images_history AS
SELECT t.*
FROM lakewarden.risk_images_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'risk_images' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_images AS
SELECT t.*
FROM lakewarden.risk_images_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'risk_images'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_resources_history AS
SELECT t.*
FROM lakewarden.risk_resources_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'risk_resources' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.risk_resources AS
SELECT t.*
FROM lakewarden.risk_resources_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'risk_resources'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_controls_history AS
SELECT t.*
FROM lakewarden.securityhub_controls_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'securityhub_controls' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_controls AS
SELECT t.*
FROM lakewarden.securityhub_controls_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'securityhub_controls'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_findings_history AS
SELECT t.*
FROM lakewarden.securityhub_findings_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'securityhub_findings' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_findings AS
SELECT t.*
FROM lakewarden.securityhub_findings_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'securityhub_findings'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_standards_history AS
SELECT t.*
FROM lakewarden.securityhub_standards_files AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_runs AS c
    WHERE c.table_name = 'securityhub_standards' AND c.status = 'ok'
        AND c.run_id = t.run_id AND c.account_id = t.account_id AND c.region = t.region
);

CREATE OR REPLACE VIEW lakewarden.securityhub_standards AS
SELECT t.*
FROM lakewarden.securityhub_standards_history AS t
WHERE EXISTS (
    SELECT 1 FROM lakewarden.lake_latest AS l
    WHERE l.table_name = 'securityhub_standards'
        AND l.run_id = t.run_id AND l.account_id = t.account_id AND l.region = t.region
);

