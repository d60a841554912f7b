-- IAM users who hold an admin-equivalent statement (directly, inline, or through a group's
-- managed or inline policy) and can sign in to the console with a password but have no
-- MFA device: the accounts' most exposed principals.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
WITH admin_policies AS (
    SELECT DISTINCT account_id, policy_kind, policy_arn, owner_arn
    FROM iam_policy_statements
    WHERE admin_equivalent
),
holders AS (
    -- the user itself, and each group it belongs to
    SELECT u.account_id, u.arn AS user_arn, u.arn AS holder_arn, u.attached_policy_arns
    FROM iam_users AS u
    UNION ALL
    SELECT u.account_id, u.arn, g.arn, g.attached_policy_arns
    FROM iam_users AS u
    JOIN iam_groups AS g
        ON g.account_id = u.account_id AND list_contains(u.group_names, g.group_name)
),
admin_users AS (
    SELECT DISTINCT h.account_id, h.user_arn
    FROM holders AS h
    JOIN admin_policies AS p
        ON p.account_id = h.account_id
        AND ((p.policy_kind = 'managed' AND list_contains(h.attached_policy_arns, p.policy_arn))
            OR (p.policy_kind = 'inline' AND p.owner_arn = h.holder_arn))
)
SELECT c.account_id, c.user_name, c.arn, c.password_last_used, c.password_last_used_status
FROM admin_users AS a
JOIN iam_credential_report AS c ON c.account_id = a.account_id AND c.arn = a.user_arn
WHERE c.password_enabled AND NOT coalesce(c.mfa_active, false)
ORDER BY c.account_id, c.user_name;
