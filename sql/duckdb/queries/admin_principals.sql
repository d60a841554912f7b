-- Principals that hold an admin-equivalent statement (see README: Admin-equivalent
-- statements), directly, through an inline policy, or through a group.
-- Needs the views: SET VARIABLE lake = './lake'; .read sql/duckdb/views.sql
WITH admin_managed AS (
    SELECT DISTINCT account_id, policy_arn, policy_name
    FROM iam_policy_statements
    WHERE policy_kind = 'managed' AND admin_equivalent
),
admin_inline AS (
    SELECT DISTINCT account_id, owner_arn, policy_name
    FROM iam_policy_statements
    WHERE policy_kind = 'inline' AND admin_equivalent
),
principals AS (
    SELECT account_id, 'user' AS kind, user_name AS name, arn, attached_policy_arns, group_names
    FROM iam_users
    UNION ALL
    SELECT account_id, 'role', role_name, arn, attached_policy_arns, []::VARCHAR[]
    FROM iam_roles
    UNION ALL
    SELECT account_id, 'group', group_name, arn, attached_policy_arns, []::VARCHAR[]
    FROM iam_groups
),
grants AS (
    SELECT p.account_id, p.kind, p.name, 'managed ' || m.policy_name AS via
    FROM principals AS p
    JOIN admin_managed AS m
        ON m.account_id = p.account_id AND list_contains(p.attached_policy_arns, m.policy_arn)
    UNION ALL
    SELECT p.account_id, p.kind, p.name, 'inline ' || i.policy_name
    FROM principals AS p
    JOIN admin_inline AS i ON i.account_id = p.account_id AND i.owner_arn = p.arn
    UNION ALL
    SELECT u.account_id, 'user', u.name, 'group ' || g.name
    FROM principals AS u
    JOIN principals AS g
        ON g.kind = 'group' AND g.account_id = u.account_id AND list_contains(u.group_names, g.name)
    JOIN admin_managed AS m
        ON m.account_id = g.account_id AND list_contains(g.attached_policy_arns, m.policy_arn)
)
SELECT account_id, kind, name, string_agg(DISTINCT via, ', ' ORDER BY via) AS admin_through
FROM grants
GROUP BY account_id, kind, name
ORDER BY account_id, kind, name;
