-- Example custom control: EC2 instances answer instance metadata requests only with a
-- session token (IMDSv2), judged from AWS Config's configuration item of each instance.
-- A custom control returns exactly these columns; the compliance job adds the run,
-- framework (`custom`), source (`custom`) and snapshot time.
SELECT
    account_id,
    resource_region AS region,
    'ec2-imdsv2' AS control_id,
    'EC2 instances require IMDSv2 session tokens' AS control_title,
    resource_type,
    COALESCE(arn, resource_id) AS resource_id,
    CASE WHEN configuration LIKE '%"httpTokens":"required"%' THEN 'PASS' ELSE 'FAIL' END
        AS status,
    CASE WHEN configuration LIKE '%"httpTokens":"required"%'
        THEN 'instance metadata requires a session token'
        ELSE 'instance metadata answers without a session token' END AS reason,
    CASE WHEN configuration LIKE '%"httpTokens":"required"%'
        THEN '{"http_tokens_required":true}'
        ELSE '{"http_tokens_required":false}' END AS evidence
FROM config_resources
WHERE resource_type = 'AWS::EC2::Instance' AND NOT deleted
