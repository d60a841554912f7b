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
accounts=(012345678901 111111111111 222222222222)
regions=(us-east-1 eu-west-1)
"$venv/bin/python" tests/harness/moto_launcher.py \
    --ready-file "$ready" \
    --seed-iam tests/fixtures/iam/cloudsplaining-authz-details.json \
    --seed-config \
    --seed-securityhub tests/fixtures/securityhub/guardduty-findings.json \
    --seed-securityhub tests/fixtures/securityhub/config-findings.json \
    --securityhub-region us-east-1 --securityhub-region eu-west-1 \
    --account "${accounts[0]}" --account "${accounts[1]}" --account "${accounts[2]}" \
    --quiet > "$state/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT

echo "Starting the AWS emulator on 127.0.0.1 and seeding accounts ${accounts[*]} ..."

# A local OCI registry: Debian's docker-registry on 127.0.0.1 with images built by umoci
# and pushed by skopeo, as the registry end-to-end tests use (tests/harness/
# registry_launcher.py). Missing tools are installed when this runs as root with apt-get;
# otherwise the OCI part is skipped and the rest goes on. The launcher stops the registry
# when this script exits and closes its standard input.
oci_ready="$state/oci-ready.json"
rm -f "$oci_ready"
oci_tools_missing() {
    local tool
    for tool in docker-registry skopeo umoci; do
        command -v "$tool" >/dev/null || return 0
    done
    return 1
}
if oci_tools_missing && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing docker-registry, skopeo and umoci (apt-get) for the OCI registry part ..."
    make --no-print-directory registry-tools > "$state/registry-tools.log" 2>&1 || true
fi
oci_launcher=
if oci_tools_missing; then
    echo "Skipping the OCI registry part: docker-registry, skopeo or umoci is not installed," \
        "and installing them needs root and apt-get (run 'make registry-tools' as root)."
else
    exec {oci_stdin}> >(exec python3 tests/harness/registry_launcher.py \
        --ready-file "$oci_ready" --exit-on-stdin-close > "$state/oci-registry.log" 2>&1)
    oci_launcher=$!
    echo "Starting an OCI registry on 127.0.0.1 and pushing images to it ..."
fi
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

oci_endpoint=
if [ -n "$oci_launcher" ]; then
    for _ in $(seq 240); do
        [ -f "$oci_ready" ] && break
        kill -0 "$oci_launcher" 2>/dev/null || break
        sleep 0.5
    done
    if [ -f "$oci_ready" ]; then
        oci_endpoint=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$oci_ready")
    else
        echo "Skipping the OCI registry part: the registry did not start; its log:" >&2
        cat "$state/oci-registry.log" >&2
    fi
fi

# Amazon ECR images in each account: repositories with and without policies, a public
# one, tagged and untagged images, basic and enhanced scan results.
for account in "${accounts[@]}"; do
    "$venv/bin/python" - "$ready" "$account" <<'PY' > "$state/ecr-$account.args"
import json, sys
ready = json.load(open(sys.argv[1]))
reader = ready["accounts"][sys.argv[2]]
print(ready["endpoint"], reader["access_key_id"], reader["secret_access_key"])
PY
    read -r endpoint key secret < "$state/ecr-$account.args"
    "$venv/bin/python" tests/harness/seed_ecr.py --endpoint "$endpoint" \
        --access-key-id "$key" --secret-access-key "$secret" --account "$account" \
        > "$state/ecr-$account.json"
done

# Every account of the list is reached by assuming the read-only role in it, and every
# source reads both regions.
cat > "$state/lakewarden.toml" <<TOML
[scope]
accounts = ["${accounts[0]}", "${accounts[1]}", "${accounts[2]}"]
regions = ["${regions[0]}", "${regions[1]}"]

[sources.config]
enabled = true

[sources.securityhub]
enabled = true
# The emulator has no Security Hub standards.
standards = false

[sources.registry]
ecr = true

# The emulator answers at once; AWS's published rates would only slow the demo down.
[limits.apis]
"config:ListDiscoveredResources" = { per_second = 0.0, burst = 0.0 }
TOML
if [ -n "$oci_endpoint" ]; then
    printf '\n[[sources.registry.oci]]\nurl = "%s"\n' "$oci_endpoint" >> "$state/lakewarden.toml"
fi

echo "Running lakewarden into $lake ..."
status=0
./target/debug/lakewarden run --no-progress --config "$state/lakewarden.toml" --lake "$lake" \
    2> "$state/run.log" || status=$?
if [ "$status" -eq 1 ]; then
    echo "lakewarden committed nothing; its log is in $state/run.log" >&2
    tail -n 5 "$state/run.log" >&2
    exit 1
fi

# The known-answer posture fixture (account 012345678901, us-east-1: open security
# groups, a public bucket, an unencrypted public database...) becomes that account's
# newest Config snapshot there, and the jobs over it score sections 2-5 of CIS.
imported=$(./target/debug/lakewarden import config-snapshot \
    tests/fixtures/posture/config-snapshot.json --config "$state/lakewarden.toml" \
    --lake "$lake" 2>> "$state/run.log" | awk '$1 == "run" { print $2 }')
./target/debug/lakewarden jobs --run-id "$imported" --config "$state/lakewarden.toml" \
    --lake "$lake" > /dev/null 2>> "$state/run.log"

query() {
    local title=$1 file=$2
    printf '\n== %s (%s)\n' "$title" "$file"
    printf "SET TimeZone = 'UTC';\nSET VARIABLE lake = '%s';\n.read sql/duckdb/views.sql\n.mode box\n.read %s\n" \
        "$lake" "$file" | "$venv/bin/duckdb"
}
query "Principals with admin-equivalent statements" sql/duckdb/queries/admin_principals.sql
query "Console users without MFA" sql/duckdb/queries/console_users_without_mfa.sql
query "Active access keys older than 90 days" sql/duckdb/queries/old_access_keys.sql
query "AWS Config resources per account and region" sql/duckdb/queries/inventory_by_account.sql
query "Security Hub findings per account, region and severity" sql/duckdb/queries/findings_by_account.sql
query "Container images per repository" sql/duckdb/queries/images_by_repository.sql
query "Container images that run as root" sql/duckdb/queries/root_user_images.sql
query "Critical findings per container repository" sql/duckdb/queries/critical_findings_by_repository.sql
query "Compliance score per account (CIS AWS Foundations)" sql/duckdb/queries/posture_by_account.sql
query "Failing controls" sql/duckdb/queries/failing_controls.sql
query "Controls across accounts" sql/duckdb/queries/controls_across_accounts.sql
query "Top five risks (resources, identities, images)" sql/duckdb/queries/top_risks.sql
