//! The emulator, the binary and DuckDB, as the tests drive them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

/// The account the emulator is seeded with; its leading zero must survive everywhere.
pub const ACCOUNT: &str = "012345678901";
/// The S3 bucket the emulator creates for lakes on S3.
pub const BUCKET: &str = "lake";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv_tool(env: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin").join(name));
    assert!(
        path.exists(),
        "{} not found: run `make setup` (or `make test`), which creates the test virtualenv",
        path.display()
    );
    path
}

/// The test virtualenv's Python, which has the emulator, DuckDB and sqlglot.
pub fn python() -> PathBuf {
    venv_tool("LAKEWARDEN_TEST_PYTHON", "python")
}

/// A running emulator launcher and what its ready file said.
pub struct Launcher {
    /// Holding the launcher's standard input open keeps it alive; it exits when this
    /// process does, however the process ends.
    _child: Mutex<Child>,
    pub ready: Value,
    pub endpoint: String,
}

/// The seeded emulator shared by most tests of this binary: one account from the IAM
/// sample, and the `lake` bucket.
pub struct Emulator {
    /// Kept so the emulator lives as long as the tests.
    launcher: Launcher,
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Rows per table that the seed produced, as the launcher counted them.
    pub expected: BTreeMap<String, u64>,
    /// What `--seed-config` created and the resources per region and type it expects.
    pub config: Value,
    /// Rows per region and table of the regional sources' seeds.
    pub expected_by_region: BTreeMap<String, BTreeMap<String, u64>>,
}

/// ASFF exports the launcher imports into Security Hub, under `tests/fixtures/securityhub/`.
pub const SECURITYHUB_SEEDS: &[&str] = &[
    "guardduty-findings.json",
    "config-findings.json",
    "guardduty-persistence-array.json",
];
/// The regions seeded with those findings.
pub const SECURITYHUB_REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let root = repo_root();
        let fixture = root.join("tests/fixtures/iam/cloudsplaining-authz-details.json");
        let seeds: Vec<String> = SECURITYHUB_SEEDS
            .iter()
            .flat_map(|f| {
                let path = root.join("tests/fixtures/securityhub").join(f);
                [
                    "--seed-securityhub".to_owned(),
                    path.to_str().expect("utf-8").to_owned(),
                ]
            })
            .chain(
                SECURITYHUB_REGIONS
                    .iter()
                    .flat_map(|r| ["--securityhub-region".to_owned(), (*r).to_owned()]),
            )
            .collect();
        let mut args: Vec<&str> = seeds.iter().map(String::as_str).collect();
        args.extend([
            "--seed-iam",
            fixture.to_str().expect("utf-8"),
            "--seed-config",
            "--account",
            ACCOUNT,
            "--bucket",
            BUCKET,
        ]);
        let launcher = start_launcher(&args);
        let account = &launcher.ready["accounts"][ACCOUNT];
        Emulator {
            endpoint: launcher.endpoint.clone(),
            access_key_id: account["access_key_id"].as_str().expect("key").to_owned(),
            secret_access_key: account["secret_access_key"]
                .as_str()
                .expect("secret")
                .to_owned(),
            expected: counts(&account["expected"]),
            config: account["config"].clone(),
            expected_by_region: account["expected_by_region"]
                .as_object()
                .map(|regions| {
                    regions
                        .iter()
                        .map(|(r, t)| (r.clone(), counts(t)))
                        .collect()
                })
                .unwrap_or_default(),
            launcher,
        }
    })
}

impl Emulator {
    /// The launcher's ready file: endpoint, accounts and what was seeded.
    pub fn ready(&self) -> &Value {
        &self.launcher.ready
    }
}

/// Row counts per table from a ready file's `expected` object.
pub fn counts(expected: &Value) -> BTreeMap<String, u64> {
    expected
        .as_object()
        .expect("expected counts")
        .iter()
        .map(|(table, n)| (table.clone(), n.as_u64().expect("a count")))
        .collect()
}

/// Start the emulator launcher with these arguments and wait until it is seeded.
pub fn start_launcher(args: &[&str]) -> Launcher {
    let dir = tempfile::tempdir().expect("temporary directory").keep();
    let ready = dir.join("ready.json");
    let log = std::fs::File::create(dir.join("emulator.log")).expect("log file");
    let mut child = Command::new(venv_tool("LAKEWARDEN_TEST_PYTHON", "python"))
        .arg(repo_root().join("tests/harness/moto_launcher.py"))
        .arg("--ready-file")
        .arg(&ready)
        .args(args)
        .args(["--quiet", "--exit-on-stdin-close"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("the emulator launcher starts");
    let started = Instant::now();
    while !ready.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("emulator.log")).unwrap_or_default();
            panic!("the emulator exited with {status} before it was ready:\n{log}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the emulator was not ready in 300 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let ready: Value =
        serde_json::from_str(&std::fs::read_to_string(&ready).expect("ready file")).expect("JSON");
    Launcher {
        _child: Mutex::new(child),
        endpoint: ready["endpoint"].as_str().expect("endpoint").to_owned(),
        ready,
    }
}

/// The binary under test, set up to talk only to the shared emulator with static
/// credentials.
pub fn lakewarden() -> Command {
    let emulator = emulator();
    lakewarden_with(
        &emulator.endpoint,
        &emulator.access_key_id,
        &emulator.secret_access_key,
    )
}

/// The binary under test, talking only to the emulator at `endpoint` with these static
/// credentials.
pub fn lakewarden_with(endpoint: &str, access_key_id: &str, secret_access_key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakewarden"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret_access_key)
        .env("AWS_REGION", "us-east-1")
        .current_dir(tempfile::tempdir().expect("work dir").keep());
    command
}

/// `lakewarden run` into a lake; returns the output and the run id it printed.
pub fn run_into(lake: &str) -> (Output, String) {
    let output = lakewarden()
        .args(["run", "--no-progress", "--lake", lake])
        .output()
        .expect("lakewarden runs");
    let run_id = run_id_of(&output);
    (output, run_id)
}

pub fn run_id_of(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("run ")?
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            panic!(
                "no run id in the output:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "lakewarden failed with {}:\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Rows of a query run by the DuckDB CLI over a local lake, after the shipped views.
pub fn duckdb(lake: &Path, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    let script = format!(
        "SET TimeZone = 'UTC';\nSET VARIABLE lake = '{}';\n.read {}\n.mode json\n{sql}\n",
        lake.display(),
        repo_root().join("sql/duckdb/views.sql").display()
    );
    let mut child = Command::new(venv_tool("LAKEWARDEN_TEST_DUCKDB", "duckdb"))
        .arg("-bail")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("duckdb starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    let output = child.wait_with_output().expect("duckdb ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "duckdb failed:\n{sql}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    if stdout.trim().is_empty() {
        return Vec::new();
    }
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("DuckDB prints JSON rows");
    rows.into_iter()
        .map(|row| row.as_object().expect("a row is an object").clone())
        .collect()
}

/// A Parquet file's schema and rows.
pub fn read_parquet(bytes: bytes::Bytes) -> (SchemaRef, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("a Parquet file");
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    (schema, batches)
}
