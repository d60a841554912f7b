#!/usr/bin/env bash
# The demo: an emulated AWS account seeded from a real IAM authorization-details sample,
# one `lakewarden run` into ./lake, then the shipped DuckDB SQL over what it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
state=.run/demo
lake=${LAKEWARDEN_DEMO_LAKE:-./lake}
mkdir -p "$state"
ready="$state/ready.json"
rm -f "$ready"

export AWS_EC2_METADATA_DISABLED=true
"$venv/bin/python" tests/harness/moto_launcher.py \
    --ready-file "$ready" \
    --seed-iam tests/fixtures/iam/cloudsplaining-authz-details.json \
    --account 012345678901 \
    --quiet > "$state/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT

echo "Starting the AWS emulator on 127.0.0.1 and seeding account 012345678901 ..."
for _ in $(seq 240); do
    [ -f "$ready" ] && break
    if ! kill -0 "$emulator" 2>/dev/null; then
        echo "The emulator stopped; its log:" >&2
        cat "$state/emulator.log" >&2
        exit 1
    fi
    sleep 0.5
done
[ -f "$ready" ] || { echo "The emulator was not ready within 120 s" >&2; exit 1; }

# Static dummy credentials of the seeded read-only user; every call goes to 127.0.0.1.
eval "$("$venv/bin/python" - "$ready" <<'PY'
import json, shlex, sys
ready = json.load(open(sys.argv[1]))
account = ready["accounts"]["012345678901"]
for key, value in {
    "AWS_ENDPOINT_URL": ready["endpoint"],
    "AWS_ACCESS_KEY_ID": account["access_key_id"],
    "AWS_SECRET_ACCESS_KEY": account["secret_access_key"],
    "AWS_REGION": "us-east-1",
}.items():
    print(f"export {key}={shlex.quote(value)}")
PY
)"

echo "Running lakewarden into $lake ..."
status=0
./target/debug/lakewarden run --no-progress --lake "$lake" 2> "$state/run.log" || status=$?
if [ "$status" -eq 1 ]; then
    echo "lakewarden committed nothing; its log is in $state/run.log" >&2
    tail -n 5 "$state/run.log" >&2
    exit 1
fi

query() {
    local title=$1 file=$2
    printf '\n== %s (%s)\n' "$title" "$file"
    printf "SET TimeZone = 'UTC';\nSET VARIABLE lake = '%s';\n.read sql/duckdb/views.sql\n.mode box\n.read %s\n" \
        "$lake" "$file" | "$venv/bin/duckdb"
}
query "Principals with admin-equivalent statements" sql/duckdb/queries/admin_principals.sql
query "Console users without MFA" sql/duckdb/queries/console_users_without_mfa.sql
query "Active access keys older than 90 days" sql/duckdb/queries/old_access_keys.sql
query "Compliance score per account (CIS AWS Foundations)" sql/duckdb/queries/posture_by_account.sql
query "Failing controls" sql/duckdb/queries/failing_controls.sql
