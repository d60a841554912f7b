#!/usr/bin/env python3
"""`make bench`: import and jobs benchmarks of the release binary beside DuckDB.

For each scale (findings; Config items are half as many) it generates seeded inputs
(generate.py), then:

- imports: `lakewarden import securityhub` (JSON lines and `{"Findings": [...]}`) and
  `lakewarden import config-snapshot` against DuckDB turning the same files into zstd
  Parquet with `COPY (SELECT ... FROM read_json...) TO ... (FORMAT parquet, COMPRESSION
  zstd)`, alternating the two tools, several runs, medians; `lakewarden import iam` of
  the IAM authorization details alone (its records are the users and roles);
- jobs: the Security Hub, IAM and Config imports into one lake, then
  `lakewarden jobs --run-id` over the last (Config's) run, per job from its
  `Job finished` log line, and two of the jobs' steps computed by DuckDB over the same
  Parquet: Security Hub's control evaluations (the compliance job folds them into
  `compliance_results`) and the finding-to-resource join.

Then, once: extraction, `lakewarden run` of the Security Hub source against the moto
emulator (tests/harness/moto_launcher.py, run by the test virtualenv's python) seeded
with many findings, to show the CPU per GetFindings page beside the API's rate.

Every process is measured on its own: wall time, CPU (user + system) and peak resident
memory from `os.wait4`'s rusage of that child. Results go to a Markdown file. Nothing
here talks to a network: the lake and the inputs are local folders, and the emulator
listens on 127.0.0.1 only.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402

# Accounts of the synthetic organisation unless --accounts says otherwise.
ACCOUNTS = 20
# IAM users and roles of each account's authorization details file.
PRINCIPALS = 150


def measure(cmd, stdout=None, stderr=None, env=None):
    """Run one child to its end: wall seconds, CPU seconds, peak RSS (MiB), exit code."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    err = open(stderr, "wb") if stderr else subprocess.DEVNULL
    try:
        started = time.monotonic()
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        for f in (out, err):
            if f is not subprocess.DEVNULL:
                f.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024, "code": child.returncode}


def check(result, what, log=None):
    # Exit 2 is a partial import (a rejected file): a benchmark input must import whole.
    if result["code"] != 0:
        detail = Path(log).read_text()[-2000:] if log else ""
        raise SystemExit(f"{what} exited {result['code']}\n{detail}")
    return result


def sql_text(path):
    return str(path).replace("'", "''")


def duckdb_findings_sql(source, target):
    # The typed columns the findings table has, plus every finding whole as JSON text,
    # as lakewarden writes them.
    return f"""
COPY (
  SELECT json->>'Id' AS finding_id, json->>'ProductArn' AS product_arn,
         json->>'GeneratorId' AS generator_id, json->>'AwsAccountId' AS aws_account_id,
         json->>'Region' AS region, json->>'Title' AS title,
         (json->>'UpdatedAt')::TIMESTAMPTZ AS updated_at,
         json->'Severity'->>'Label' AS severity_label,
         json->'Compliance'->>'Status' AS compliance_status,
         json->'Compliance'->>'SecurityControlId' AS security_control_id,
         json->>'RecordState' AS record_state,
         json->'ProductFields' AS product_fields, json->'Resources' AS resources,
         json AS finding
  FROM read_json_objects('{sql_text(source)}', format = 'newline_delimited')
) TO '{sql_text(target)}' (FORMAT parquet, COMPRESSION zstd);
"""


def duckdb_config_sql(source, target):
    return f"""
COPY (
  WITH items AS (
    SELECT unnest(configurationItems) AS item
    FROM read_json('{sql_text(source)}/*.json', columns = {{configurationItems: 'JSON[]'}},
                   maximum_object_size = 1073741824)
  )
  SELECT item->>'awsAccountId' AS resource_account_id, item->>'awsRegion' AS resource_region,
         item->>'resourceType' AS resource_type, item->>'resourceId' AS resource_id,
         item->>'resourceName' AS resource_name, item->>'ARN' AS arn,
         item->>'configurationItemStatus' AS status,
         (item->>'configurationItemCaptureTime')::TIMESTAMPTZ AS capture_time,
         item->>'configurationStateId' AS configuration_state_id,
         item->'tags' AS tags, item->'relationships' AS relationships,
         item->'configuration' AS configuration,
         item->'supplementaryConfiguration' AS supplementary_configuration
  FROM items
) TO '{sql_text(target)}' (FORMAT parquet, COMPRESSION zstd);
"""


def parquet_glob(lake, table):
    return sql_text(Path(lake) / table / "dt=2*" / "*" / "*.parquet")


def duckdb_control_sql(lake, target):
    # What the compliance job does with Security Hub's findings (`source = securityhub`
    # rows of compliance_results): one result per finding carrying a compliance status.
    return f"""
COPY (
  SELECT account_id, region, 'aws-securityhub' AS framework,
         coalesce(security_control_id, generator_id) AS control_id, title AS control_title,
         coalesce(json_extract_string(finding, '$.Resources[0].Type'), 'Other') AS resource_type,
         coalesce(json_extract_string(finding, '$.Resources[0].Id'), '') AS resource_id,
         CASE compliance_status WHEN 'PASSED' THEN 'pass' WHEN 'FAILED' THEN 'fail'
              WHEN 'WARNING' THEN 'fail' ELSE 'unknown' END AS status,
         'Security Hub reports ' || compliance_status AS reason,
         json_object('finding_id', finding_id, 'compliance_status', compliance_status,
                     'associated_standards', associated_standards)::VARCHAR AS evidence
  FROM read_parquet('{parquet_glob(lake, "securityhub_findings")}', hive_partitioning = false)
  WHERE compliance_status IS NOT NULL
) TO '{sql_text(target)}' (FORMAT parquet, COMPRESSION zstd);
"""


def duckdb_join_sql(lake, target):
    # Each finding's resources matched to the Config resource of the same ARN (or id), in
    # the same account: the step a risk view of findings over inventory starts from.
    return f"""
COPY (
  WITH f AS (
    SELECT account_id, finding_id, severity_label, unnest(resources) AS r
    FROM read_parquet('{parquet_glob(lake, "securityhub_findings")}', hive_partitioning = false)
  ), c AS (
    SELECT account_id, region, resource_type, resource_id, arn
    FROM read_parquet('{parquet_glob(lake, "config_resources")}', hive_partitioning = false)
  )
  SELECT f.account_id, f.finding_id, f.severity_label, c.resource_type, c.resource_id, c.region
  FROM f JOIN c ON c.account_id = f.account_id AND c.arn = f.r.id
) TO '{sql_text(target)}' (FORMAT parquet, COMPRESSION zstd);
"""


def median_of(runs):
    return {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu", "rss")}


def import_benchmark(args, inputs, scale, work, env):
    """Rows for each (input, tool) pair: medians over the runs."""
    accounts = args.accounts
    items = generate_counts(scale, accounts)["items"]
    cases = [
        ("Security Hub, JSON lines", scale, ["securityhub", inputs / "securityhub" / "findings.jsonl"],
         lambda target: duckdb_findings_sql(inputs / "securityhub" / "findings.jsonl", target)),
        ("Security Hub, {\"Findings\": [...]}", scale, ["securityhub", inputs / "securityhub" / "findings.json"], None),
        (f"Config snapshots ({accounts * len(generate.REGIONS)} files)", items, ["config-snapshot", inputs / "config"],
         lambda target: duckdb_config_sql(inputs / "config", target)),
        # No DuckDB counterpart: the rows are built from nested documents, not copied.
        (f"IAM authorization details ({accounts} files; records = users and roles)", accounts * PRINCIPALS,
         ["iam", inputs / "iam"], None),
    ]
    rows = []
    for label, records, import_args, duck_sql in cases:
        ours, theirs = [], []
        for run in range(args.runs):
            order = ["lakewarden", "duckdb"] if run % 2 == 0 else ["duckdb", "lakewarden"]
            for tool in order:
                lake, target = work / "import-lake", work / "duckdb-out.parquet"
                shutil.rmtree(lake, ignore_errors=True)
                target.unlink(missing_ok=True)
                log = work / f"{tool}.log"
                if tool == "lakewarden":
                    cmd = [args.binary, "import", *map(str, import_args), "--lake", str(lake)]
                    ours.append(check(measure(cmd, stdout=log, stderr=log, env=env), " ".join(cmd), log))
                elif duck_sql:
                    cmd = [args.duckdb, "-c", duck_sql(target)]
                    theirs.append(check(measure(cmd, stdout=log, stderr=log), "duckdb", log))
        print(f"  {label}: lakewarden {median_of(ours)}; duckdb {median_of(theirs) if theirs else '-'}", flush=True)
        rows.append((label, records, median_of(ours), median_of(theirs) if theirs else None))
    shutil.rmtree(work / "import-lake", ignore_errors=True)
    (work / "duckdb-out.parquet").unlink(missing_ok=True)
    return rows


def run_id_of(lake):
    commits = sorted((Path(lake) / "lake_runs").glob("dt=*/*.parquet"), key=lambda p: p.stat().st_mtime)
    imports = [p for p in commits if ".jobs-" not in p.name]
    return imports[-1].stem


def jobs_benchmark(args, inputs, scale, work, env):
    lake = work / "jobs-lake"
    shutil.rmtree(lake, ignore_errors=True)
    log = work / "jobs-import.log"
    # Config last: the jobs run over its run, and read the newest snapshot of every other
    # table (findings, IAM) as of then.
    imports = (("securityhub", inputs / "securityhub" / "findings.jsonl"), ("iam", inputs / "iam"),
               ("config-snapshot", inputs / "config"))
    for what, path in imports:
        cmd = [args.binary, "import", what, str(path), "--lake", str(lake)]
        check(measure(cmd, stdout=log, stderr=log, env=env), " ".join(cmd), log)
    run_id = run_id_of(lake)

    per_job, whole = {}, []
    for _ in range(args.runs):
        log = work / "jobs.log"
        cmd = [args.binary, "jobs", "--run-id", run_id, "--lake", str(lake)]
        whole.append(check(measure(cmd, stdout=work / "jobs.out", stderr=log, env=env), " ".join(cmd), log))
        for line in log.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            fields = event.get("fields", {})
            if fields.get("message") == "Job finished":
                per_job.setdefault(fields["job"], []).append((fields["elapsed_ms"] / 1000, fields["rows"]))
    jobs = {job: (statistics.median(s for s, _ in runs), runs[-1][1]) for job, runs in per_job.items()}

    duck = {}
    for name, sql in (("control", duckdb_control_sql), ("join", duckdb_join_sql)):
        target = work / f"duckdb-{name}.parquet"
        runs, out_rows = [], None
        for _ in range(args.runs):
            target.unlink(missing_ok=True)
            dlog = work / "duckdb.log"
            runs.append(check(measure([args.duckdb, "-c", sql(lake, target)], stdout=dlog, stderr=dlog), f"duckdb {name}", dlog))
        count = subprocess.run([args.duckdb, "-csv", "-noheader", "-c", f"SELECT count(*) FROM '{sql_text(target)}'"],
                               capture_output=True, text=True, check=True)
        out_rows = int(count.stdout.strip())
        duck[name] = (median_of(runs), out_rows)
        target.unlink(missing_ok=True)
    return run_id, median_of(whole), jobs, duck


# The extraction benchmark: `lakewarden run` of the Security Hub source against the moto
# emulator, seeded with many findings in one account and region.
EXTRACT_ACCOUNT = "012345678901"
EXTRACT_REGION = "us-east-1"
# GetFindings returns at most 100 findings a page.
FINDINGS_PAGE = 100
# The throttling limits in the introduction of the AWS Security Hub API Reference:
# GetFindings is allowed 3 requests a second (burst 6) per account and region.
GETFINDINGS_PER_SECOND = 3.0
GETFINDINGS_BURST = 6
# Seeding is quadratic in moto (each imported finding is looked up among those held).
EMULATOR_READY_SECONDS = 1200
LAUNCHER = Path(__file__).resolve().parents[2] / "tests" / "harness" / "moto_launcher.py"


def write_extract_findings(path, count, seed):
    """`count` generated findings as JSON lines (a format the emulator's launcher seeds
    from); the launcher rewrites each finding's account, region and product ARN. As in
    the other benchmarks, the findings point at a pool of half as many resources."""
    org = generate.Organisation(seed, accounts=1, resources_per_partition=max(1, count // 2))
    rng = random.Random(f"{seed}/extract")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for n in range(count):
            out.write(generate.dumps(generate.finding(rng, org, n)) + "\n")
    return path


def pages_for(findings):
    """GetFindings pages of a full pull from moto, which gives a next token only while
    findings remain: ceil(findings / 100), and one empty page when there are none."""
    return max(1, -(-findings // FINDINGS_PAGE))


def extract_config(region):
    """The run's configuration: the caller's account, one region, the Security Hub
    findings only, and no client-side rate limit, so the emulator's speed bounds the
    wall time rather than lakewarden's token bucket for GetFindings."""
    return f"""[scope]
accounts = "caller"
regions = ["{region}"]

[sources.iam]
enabled = false

[sources.securityhub]
enabled = true
# The emulator has no Security Hub standards.
standards = false

[limits.apis]
"securityhub:GetFindings" = {{ per_second = 0.0, burst = 0.0 }}
"""


def extract_figures(pages, run_cpu, jobs_cpu):
    """The extraction's share of the run's CPU (the run's CPU less that of the jobs it
    ends with), per page, and how that compares with the interval between two
    GetFindings calls at AWS's sustained rate."""
    interval_ms = 1000 / GETFINDINGS_PER_SECOND
    cpu = max(0.0, run_cpu - jobs_cpu)
    cpu_ms = cpu * 1000 / pages if pages else 0.0
    return {"extract_cpu": cpu, "cpu_ms_per_page": cpu_ms, "interval_ms": interval_ms,
            "share_of_interval": cpu_ms / interval_ms}


def log_seconds(lines, first, last):
    """Seconds between the first log event whose message is `first` and the first after
    it whose message is `last`, from the JSON log lines' timestamps; None if either is
    missing."""
    start = None
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        message = event.get("fields", {}).get("message")
        at = event.get("timestamp")
        if start is None and message == first:
            start = datetime.fromisoformat(at)
        elif start is not None and message == last:
            return (datetime.fromisoformat(at) - start).total_seconds()
    return None


def printed_run_id(text):
    """The run id `lakewarden run` prints as `run <id> <outcome>`."""
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "run":
            return words[1]
    raise ValueError("no `run <id>` line in the output")


def process_cpu(pid):
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_emulator(python, folder, findings_file):
    """moto on 127.0.0.1 (a free port), seeded with `findings_file` in one account and
    region, as the end-to-end harness starts it. Returns the process, its ready file's
    contents and the seconds seeding took."""
    ready = folder / "ready.json"
    ready.unlink(missing_ok=True)
    log = open(folder / "emulator.log", "wb")
    cmd = [python, str(LAUNCHER), "--ready-file", str(ready), "--port", "0",
           "--seed-securityhub", str(findings_file), "--securityhub-region", EXTRACT_REGION,
           "--account", EXTRACT_ACCOUNT, "--quiet", "--exit-on-stdin-close", "--exit-with-parent"]
    started = time.monotonic()
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    try:
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=log, env=env)
    finally:
        log.close()
    try:
        while not ready.exists():
            if child.poll() is not None:
                text = (folder / "emulator.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"the emulator exited {child.returncode} before it was ready\n{text}")
            if time.monotonic() - started > EMULATOR_READY_SECONDS:
                raise SystemExit(f"the emulator was not ready in {EMULATOR_READY_SECONDS} s; "
                                 f"its log is {folder / 'emulator.log'}")
            time.sleep(0.2)
        return child, json.loads(ready.read_text()), time.monotonic() - started
    except BaseException:
        stop_emulator(child)
        raise


def stop_emulator(child):
    if child.poll() is not None:
        return
    child.stdin.close()
    child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def lake_scalar(duckdb, sql):
    out = subprocess.run([duckdb, "-csv", "-noheader", "-c", sql], capture_output=True, text=True, check=True)
    return int(out.stdout.strip() or 0)


def extract_benchmark(args, work):
    """Seed the emulator, then one `lakewarden run` of the Security Hub source against it,
    the lakewarden process measured alone; then the same jobs again over the lake it
    wrote, whose CPU is taken off the run's."""
    folder = work / "extract"
    folder.mkdir(parents=True, exist_ok=True)
    findings_file = folder / f"findings-{args.extract_findings}-seed{args.seed}.jsonl"
    if not findings_file.exists():
        write_extract_findings(findings_file, args.extract_findings, args.seed)
    print(f"extraction: seeding the emulator with {args.extract_findings:,} findings", flush=True)
    child, ready, seeding = start_emulator(args.python, folder, findings_file)
    lake = folder / "lake"
    try:
        account = ready["accounts"][EXTRACT_ACCOUNT]
        active = account["expected_by_region"][EXTRACT_REGION]["securityhub_findings"]
        config = folder / "lakewarden.toml"
        config.write_text(extract_config(EXTRACT_REGION))
        shutil.rmtree(lake, ignore_errors=True)
        # Only the emulator's endpoint and its dummy credentials; no profile, no metadata.
        env = {"PATH": os.environ.get("PATH", ""), "LAKEWARDEN_LOG": "info",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_ENDPOINT_URL": ready["endpoint"],
               "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": account["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": account["secret_access_key"], "AWS_REGION": EXTRACT_REGION}
        log, out = folder / "run.log", folder / "run.out"
        cmd = [args.binary, "run", "--no-progress", "--config", str(config), "--lake", str(lake)]
        print("extraction: lakewarden run", flush=True)
        moto_before = process_cpu(child.pid)
        run = check(measure(cmd, stdout=out, stderr=log, env=env), " ".join(cmd), log)
        moto_cpu = process_cpu(child.pid) - moto_before
    finally:
        stop_emulator(child)
    run_id = printed_run_id(out.read_text())
    extract_wall = log_seconds(log.read_text().splitlines(), "Run started", "Run committed")

    coverage = sql_text(lake / "lake_coverage") + "/**/*.parquet"
    pages = lake_scalar(args.duckdb, f"SELECT coalesce(sum(calls), 0) FROM read_parquet('{coverage}') "
                                     "WHERE source = 'securityhub' AND api = 'GetFindings' AND status = 'ok'")
    rows = lake_scalar(args.duckdb, "SELECT count(*) FROM read_parquet('"
                       + sql_text(lake / "securityhub_findings") + "/**/*.parquet')")
    if rows != active:
        raise SystemExit(f"extraction wrote {rows} findings; the emulator holds {active} active ones")

    # The run ends with the jobs; the same jobs again over the same run, on their own.
    jobs_log = folder / "jobs.log"
    cmd = [args.binary, "jobs", "--run-id", run_id, "--config", str(config), "--lake", str(lake)]
    jobs = check(measure(cmd, stdout=folder / "jobs.out", stderr=jobs_log, env=env), " ".join(cmd), jobs_log)
    shutil.rmtree(lake, ignore_errors=True)

    row = {"findings": args.extract_findings, "rows": rows, "pages": pages,
           "expected_pages": pages_for(args.extract_findings), "seeding": seeding,
           "moto_cpu": moto_cpu, "run": run, "jobs": jobs, "extract_wall": extract_wall}
    row.update(extract_figures(pages, run["cpu"], jobs["cpu"]))
    print(f"  {pages} pages, {rows} findings written: run {run}; jobs alone {jobs}", flush=True)
    return row


def extract_report(extract):
    """The report's extraction section, as lines of Markdown."""
    run, jobs = extract["run"], extract["jobs"]
    wall = extract["extract_wall"]
    interval = extract["interval_ms"]
    whole_ms = run["cpu"] * 1000 / extract["pages"] if extract["pages"] else 0.0
    lines = ["## Extraction against the emulator", "",
             "`lakewarden run` of the Security Hub source (findings only, a fresh lake) against moto on",
             f"127.0.0.1, seeded with {extract['findings']:,} generated findings in one account and region",
             f"(seeding took {extract['seeding']:.0f} s). Pages are the `GetFindings` calls the run recorded",
             "in `lake_coverage.calls`; findings are the active ones written to `securityhub_findings`.",
             "A run ends with the jobs: they ran again alone over the same run (`lakewarden jobs",
             "--run-id`), and the extraction's CPU is taken as the run's less theirs. Its wall time is from the",
             "run's `Run started` to its `Run committed` log line.", "",
             "| source | pages | findings | run wall s | extraction wall s | run CPU s | jobs CPU s | extraction CPU s | CPU ms per page | peak RSS MiB | CPU per page vs AWS's interval |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| Security Hub `GetFindings` | {extract['pages']:,} | {extract['rows']:,} | {run['wall']:.2f} | "
             + (f"{wall:.2f}" if wall is not None else "-")
             + f" | {run['cpu']:.2f} | {jobs['cpu']:.2f} | {extract['extract_cpu']:.2f} | "
             f"{extract['cpu_ms_per_page']:.1f} | {run['rss']:.0f} | "
             f"{extract['share_of_interval'] * 100:.1f}% of {interval:.0f} ms |", "",
             f"AWS allows `GetFindings` {GETFINDINGS_PER_SECOND:.0f} requests a second per account and region, burst",
             f"{GETFINDINGS_BURST} (the throttling limits in the introduction of the AWS Security Hub API Reference):",
             "one page every"
             f" {interval:.0f} ms at the sustained rate, so these {extract['pages']:,} pages take at least "
             f"{max(0, extract['pages'] - GETFINDINGS_BURST) / GETFINDINGS_PER_SECOND:.0f} s from AWS.",
             f"Even the whole run's CPU, jobs included, is {whole_ms:.1f} ms per page "
             f"({whole_ms / interval * 100:.1f}% of that interval).",
             "Lakewarden's own token bucket for `GetFindings` was switched off for this run",
             "(`[limits.apis]`, `per_second = 0`), so nothing waited for it.", "",
             "The CPU and memory figures are the lakewarden process alone: the emulator's own CPU is",
             f"excluded (the moto process used {extract['moto_cpu']:.2f} s of CPU during the run). Peak RSS is",
             f"the whole run's, jobs included (the jobs alone: {jobs['rss']:.0f} MiB). The wall times are bounded",
             "by how fast moto answers (it never throttles) and lakewarden runs on this machine, not by",
             "the API's rate, and say nothing about how long a run against AWS takes.", ""]
    if extract["pages"] != extract["expected_pages"]:
        lines += [f"The run made {extract['pages']:,} calls where {extract['expected_pages']:,} pages hold the findings.", ""]
    return lines


def generate_counts(scale, accounts=ACCOUNTS):
    resources = max(1, scale // 2)
    per_partition = max(1, resources // (accounts * len(generate.REGIONS)))
    return {"findings": scale, "items": per_partition * accounts * len(generate.REGIONS)}


def ensure_inputs(work, scale, seed, accounts=ACCOUNTS):
    suffix = "" if accounts == ACCOUNTS else f"-accounts{accounts}"
    folder = work / f"inputs-{scale}-seed{seed}{suffix}"
    stamp = folder / ".complete"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {scale} findings into {folder}", flush=True)
        generate.generate(folder, findings=scale, seed=seed, accounts=accounts, resources=max(1, scale // 2),
                          principals=PRINCIPALS)
        stamp.write_text("done\n")
    return folder


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        memory = f"{mem / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        memory = "unknown RAM"
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), {memory}"


def fmt_rate(rows, seconds):
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def report(args, results, started, extract=None):
    version = subprocess.run([args.duckdb, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    build = "release" if "/release/" in args.binary else "unoptimised debug"
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/bench/run.py`); do not edit by hand.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; lakewarden at commit `{commit}` ({build} build: `{args.binary_shown}`)",
        f"- machine: {machine()}",
        f"- DuckDB: {version}",
        f"- command: `make bench BENCH_SCALE=\"{' '.join(map(str, args.scales))}\" BENCH_RUNS={args.runs} "
        f"BENCH_ACCOUNTS={args.accounts} BENCH_EXTRACT={args.extract_findings}`",
        f"- inputs: `scripts/bench/generate.py --seed {args.seed}`, {args.accounts} accounts x {len(generate.REGIONS)} regions; Config items are half the findings",
        "",
        "Each figure is the median of the runs; each process is measured alone through",
        "`os.wait4` (wall time, CPU = user + system, peak RSS of that process). Rows/s counts",
        "input records. DuckDB writes the same typed columns plus the whole record as JSON",
        "text, zstd Parquet, one file; lakewarden also partitions by account and region,",
        "sorts row groups and commits the run.",
        "",
    ]
    if build != "release":
        lines += ["**This run used a debug build: its times and rates say nothing about the",
                  "release binary; only the memory figures are indicative.**", ""]
    if args.load:
        lines += [f"Load average when the run started: {args.load} (other work on the machine inflates wall times).", ""]
    for scale, (imports, jobs) in results.items():
        lines += [f"## {scale:,} findings", "", "### Imports", "",
                  "| input | records | tool | wall s | CPU s | peak RSS MiB | rows/s | wall vs DuckDB |",
                  "|---|---:|---|---:|---:|---:|---:|---:|"]
        for label, records, ours, theirs in imports:
            ratio = f"{ours['wall'] / theirs['wall']:.2f}x" if theirs else "-"
            lines.append(f"| {label} | {records:,} | lakewarden | {ours['wall']:.2f} | {ours['cpu']:.2f} | {ours['rss']:.0f} | {fmt_rate(records, ours['wall'])} | {ratio} |")
            if theirs:
                lines.append(f"| | | DuckDB | {theirs['wall']:.2f} | {theirs['cpu']:.2f} | {theirs['rss']:.0f} | {fmt_rate(records, theirs['wall'])} | |")
        run_id, whole, per_job, duck = jobs
        lines += ["", "### Jobs", "",
                  f"`lakewarden jobs --run-id {run_id}` over a lake holding the Security Hub, IAM and Config imports: wall {whole['wall']:.2f} s, "
                  f"CPU {whole['cpu']:.2f} s, peak RSS {whole['rss']:.0f} MiB (the whole process, all jobs).", "",
                  "| job | wall s | rows written | rows/s |", "|---|---:|---:|---:|"]
        for job, (seconds, rows) in sorted(per_job.items()):
            lines.append(f"| {job} | {seconds:.2f} | {rows:,} | {fmt_rate(rows, seconds)} |")
        lines += ["", "The same steps in DuckDB over the lake's Parquet files (written back as zstd Parquet):", "",
                  "| step | DuckDB wall s | CPU s | peak RSS MiB | rows | lakewarden |", "|---|---:|---:|---:|---:|---|"]
        control, control_rows = duck["control"]
        compliance = per_job.get("compliance")
        compared = f"compliance job {compliance[0]:.2f} s ({compliance[0] / control['wall']:.2f}x), which also evaluates the IAM controls" if compliance else "-"
        lines.append(f"| Security Hub control evaluations | {control['wall']:.2f} | {control['cpu']:.2f} | {control['rss']:.0f} | {control_rows:,} | {compared} |")
        join, join_rows = duck["join"]
        risk = per_job.get("risk")
        compared = f"risk job {risk[0]:.2f} s ({risk[0] / join['wall']:.2f}x)" if risk else "no job of this build joins findings to resources"
        lines.append(f"| finding-to-resource join | {join['wall']:.2f} | {join['cpu']:.2f} | {join['rss']:.0f} | {join_rows:,} | {compared} |")
        lines.append("")
    scales = sorted(results)
    if len(scales) > 1:
        small, large = scales[-2], scales[-1]
        grow = [(label, ours["rss"], results[large][0][i][2]["rss"])
                for i, (label, _, ours, _) in enumerate(results[small][0])]
        lines += [f"## Memory as the input grows ({small:,} to {large:,} findings)", "",
                  "| input | peak RSS at small | at large | ratio |", "|---|---:|---:|---:|"]
        for label, a, b in grow:
            lines.append(f"| {label} | {a:.0f} MiB | {b:.0f} MiB | {b / a:.2f}x |")
        lines.append("")
    lines += targets_report(results)
    if extract:
        lines += extract_report(extract)
    Path(args.out).write_text("\n".join(lines))


# The targets the benchmark is read against (never asserted by the tests).
IMPORT_RATIO_TARGET = 1.0
IMPORT_RSS_TARGET_MIB = 512
IMPORT_GROWTH_TARGET = 1.3
JOBS_WALL_TARGET_S = 60
JOBS_RSS_TARGET_MIB = 4096


def verdict(value, limit):
    """'met' or 'missed by N%' for a figure that must not exceed `limit`."""
    return "met" if value <= limit else f"missed by {100 * (value / limit - 1):.0f}%"


def targets_report(results):
    """Each target beside the figure of the largest scale that bears on it."""
    scales = sorted(results)
    if not scales:
        return []
    large = scales[-1]
    imports, (_, whole, _, _) = results[large]
    lines = [f"## Targets ({large:,} findings)", "",
             "| target | measured | verdict |", "|---|---|---|"]
    for label, _, ours, theirs in imports:
        if theirs:
            ratio = ours["wall"] / theirs["wall"]
            lines.append(f"| {label}: import wall time at most DuckDB's | {ratio:.2f}x | "
                         f"{verdict(ratio, IMPORT_RATIO_TARGET)} |")
    for label, _, ours, theirs in imports:
        if theirs:
            lines.append(f"| {label}: import peak RSS under {IMPORT_RSS_TARGET_MIB} MiB | {ours['rss']:.0f} MiB | "
                         f"{verdict(ours['rss'], IMPORT_RSS_TARGET_MIB)} |")
    if len(scales) > 1:
        small = scales[-2]
        for i, (label, _, ours, theirs) in enumerate(imports):
            if theirs:
                growth = ours["rss"] / results[small][0][i][2]["rss"]
                lines.append(f"| {label}: import peak RSS at {large:,} within {IMPORT_GROWTH_TARGET}x of {small:,} | "
                             f"{growth:.2f}x | {verdict(growth, IMPORT_GROWTH_TARGET)} |")
    lines += [f"| all jobs under {JOBS_WALL_TARGET_S} s | {whole['wall']:.1f} s | {verdict(whole['wall'], JOBS_WALL_TARGET_S)} |",
              f"| all jobs under {JOBS_RSS_TARGET_MIB // 1024} GiB | {whole['rss']:.0f} MiB | "
              f"{verdict(whole['rss'], JOBS_RSS_TARGET_MIB)} |",
              "",
              "The jobs targets are set for a larger organisation (500 accounts, 1 000 000 Config",
              "resources, 2 000 000 findings) than this run's unless `BENCH_ACCOUNTS` and the scale",
              "say so; README *Limitations* says what the profiles of the missed targets show.", ""]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--duckdb", required=True)
    parser.add_argument("--python", help="the test virtualenv's python, which runs the moto emulator "
                                         "(default: the python next to --duckdb)")
    parser.add_argument("--extract-findings", type=int, default=20000,
                        help="Security Hub findings seeded into the emulator for the extraction "
                             "benchmark (100 a page); 0 skips it")
    parser.add_argument("--scales", default="50000", help="findings per scale, space or comma separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS,
                        help="accounts of the synthetic organisation (two regions each)")
    parser.add_argument("--work", default=".run/bench")
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.scales = [int(s) for s in args.scales.replace(",", " ").split()]
    args.binary_shown = args.binary
    args.binary = str(Path(args.binary).resolve())
    args.python = args.python or str(Path(args.duckdb).parent / "python")
    if args.extract_findings > 0 and not Path(args.python).exists():
        parser.error(f"--python {args.python} does not exist; the extraction benchmark runs the "
                     "emulator with the test virtualenv's python (`make setup`), or give "
                     "--extract-findings 0 to skip it")
    args.load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", LAKEWARDEN_LOG="info")

    started = datetime.now(timezone.utc)
    results = {}
    for scale in sorted(args.scales):
        inputs = ensure_inputs(work, scale, args.seed, args.accounts)
        print(f"scale {scale}: imports", flush=True)
        imports = import_benchmark(args, inputs, scale, work, env)
        print(f"scale {scale}: jobs", flush=True)
        jobs = jobs_benchmark(args, inputs, scale, work, env)
        results[scale] = (imports, jobs)
        report(args, results, started)
    if args.extract_findings > 0:
        report(args, results, started, extract_benchmark(args, work))
    print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
