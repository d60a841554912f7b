//! The OCI registry source end to end: Debian's docker-registry (Distribution) on
//! 127.0.0.1 with images built by umoci and pushed by skopeo → `lakewarden run` → lake →
//! DuckDB, anonymously and with basic auth. `make registry-tools` installs the three
//! programs; `tests/harness/registry_launcher.py` starts the registry and pushes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow::json::ArrayWriter;
use serde_json::{Map, Value};

use crate::harness::{ACCOUNT, assert_success, duckdb, lakewarden, read_parquet, repo_root};

/// A running registry with the test images; stopped when dropped.
struct Registry {
    child: Child,
    ready: Value,
}

impl Drop for Registry {
    fn drop(&mut self) {
        // Closing standard input makes the launcher stop the registry and clean up.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn start(auth: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory").keep();
        let ready = dir.join("ready.json");
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/harness/registry_launcher.py"))
            .arg("--ready-file")
            .arg(&ready)
            .args(["--auth", auth, "--exit-on-stdin-close"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts the registry launcher");
        let started = Instant::now();
        while !ready.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("the registry launcher exited with {status}: {stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the registry was not ready in 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let ready = serde_json::from_str(&std::fs::read_to_string(&ready).expect("ready file"))
            .expect("JSON");
        Self { child, ready }
    }

    fn get(&self, path: &str) -> &str {
        self.ready
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{path} missing in {}", self.ready))
    }
}

fn write_config(dir: &Path, registries: &str) -> PathBuf {
    let path = dir.join("lakewarden.toml");
    let text = format!(
        "[sources.iam]\nenabled = false\n\n[sources.registry]\npage_size = 2\nmax_attempts = 2\n\
         max_backoff_secs = 1\n\n{registries}"
    );
    std::fs::write(&path, text).expect("config written");
    path
}

fn run_with(config: &Path, lake: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = lakewarden();
    command
        .args(["run", "--no-progress", "--config"])
        .arg(config);
    command.arg("--lake").arg(lake);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("lakewarden runs")
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not text in {row:?}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn image<'a>(rows: &'a [Map<String, Value>], digest: &str) -> &'a Map<String, Value> {
    rows.iter()
        .find(|r| r["image_digest"] == digest)
        .unwrap_or_else(|| panic!("no image {digest} in {rows:?}"))
}

/// Every file under the lake, raw and, for Parquet, every value read back as JSON: the
/// canary must be in none of them.
fn assert_nowhere_in_lake(lake: &Path, needle: &str) {
    let mut stack = vec![lake.to_path_buf()];
    let mut parquet_files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("lake dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("file");
            let raw = String::from_utf8_lossy(&bytes);
            assert!(!raw.contains(needle), "{} holds the canary", path.display());
            if path.extension().is_some_and(|e| e == "parquet") {
                parquet_files += 1;
                let (_, batches) = read_parquet(bytes::Bytes::from(bytes));
                let mut writer = ArrayWriter::new(Vec::new());
                for batch in &batches {
                    writer.write(batch).expect("JSON");
                }
                writer.finish().expect("JSON");
                let decoded = String::from_utf8(writer.into_inner()).expect("UTF-8");
                assert!(
                    !decoded.contains(needle),
                    "{} holds the canary once decompressed",
                    path.display()
                );
            }
        }
    }
    assert!(
        parquet_files > 3,
        "only {parquet_files} Parquet files in the lake"
    );
}

/// Rows of a shipped query (`sql/duckdb/queries/<name>.sql`) over the lake.
fn shipped_query(lake: &Path, name: &str) -> Vec<Map<String, Value>> {
    let path = repo_root().join(format!("sql/duckdb/queries/{name}.sql"));
    duckdb(
        lake,
        &std::fs::read_to_string(&path).expect("the query file"),
    )
}

/// What every run against the test registry must have written.
fn assert_registry_tables(lake: &Path, registry: &Registry) {
    assert_nowhere_in_lake(lake, registry.get("/canary"));
    let host = registry.get("/host");

    let repositories = duckdb(
        lake,
        "SELECT registry_kind, registry, repository_name, repository_uri, account_id, region, \
         policy, policy_public, scan_on_push FROM registry_repositories \
         ORDER BY repository_name;",
    );
    let names: Vec<&str> = repositories
        .iter()
        .map(|r| text(r, "repository_name"))
        .collect();
    // Four repositories over two catalog pages of two: the Link header was followed.
    assert_eq!(names, ["apps/multi", "apps/retag", "apps/root", "apps/web"]);
    for row in &repositories {
        assert_eq!(text(row, "registry_kind"), "oci");
        assert_eq!(text(row, "registry"), host);
        assert_eq!(text(row, "account_id"), ACCOUNT);
        assert_eq!(text(row, "region"), "global");
        assert_eq!(
            text(row, "repository_uri"),
            format!("{host}/{}", text(row, "repository_name"))
        );
        assert!(
            row["policy"].is_null() && row["policy_public"].is_null(),
            "{row:?}"
        );
        assert!(row["scan_on_push"].is_null());
    }

    let images = duckdb(
        lake,
        "SELECT * FROM registry_images ORDER BY repository_name, architecture;",
    );
    assert_eq!(images.len(), 5, "{images:#?}");

    let web = image(&images, registry.get("/images/web/digest"));
    assert_eq!(text(web, "repository_name"), "apps/web");
    assert_eq!(strings(&web["tags"]), ["1.0", "latest"]);
    assert!(web["index_digest"].is_null());
    assert_eq!(
        text(web, "media_type"),
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(web["size_bytes"], registry.ready["images"]["web"]["size"]);
    assert_eq!(web["layer_count"], 1);
    assert_eq!(text(web, "os"), "linux");
    assert_eq!(text(web, "architecture"), "amd64");
    assert!(web["variant"].is_null());
    assert_eq!(text(web, "user"), "app");
    assert_eq!(web["runs_as_root"], false);
    assert_eq!(strings(&web["entrypoint"]), ["/usr/local/bin/web"]);
    assert_eq!(strings(&web["command"]), ["--serve"]);
    assert_eq!(strings(&web["exposed_ports"]), ["8080/tcp"]);
    assert_eq!(
        strings(&web["env_names"]),
        ["PATH", "LAKEWARDEN_SECRET_CANARY"]
    );
    assert_eq!(
        web["labels"],
        serde_json::json!({"org.opencontainers.image.title": "web", "team": "payments"})
    );
    assert_eq!(text(web, "image_created_at"), "2026-11-30 12:00:00+00");
    assert_eq!(text(web, "base_image_name"), registry.get("/base_name"));
    assert_eq!(text(web, "base_image_digest"), registry.get("/base_digest"));
    for column in [
        "pushed_at",
        "last_pulled_at",
        "scan_status",
        "findings_critical",
    ] {
        assert!(web[column].is_null(), "{column}: {web:?}");
    }

    let root = image(&images, registry.get("/images/root/digest"));
    assert_eq!(strings(&root["tags"]), ["v1"]);
    assert_eq!(text(root, "user"), "");
    assert_eq!(root["runs_as_root"], true);
    assert_eq!(root["layer_count"], 0);
    assert_eq!(strings(&root["env_names"]), Vec::<String>::new());
    assert_eq!(root["labels"], serde_json::json!({}));

    // One row per platform of the index, each carrying the index digest and its tag.
    let index = registry.get("/images/multi/index");
    let platforms = registry.ready["images"]["multi"]["platforms"]
        .as_array()
        .expect("platforms");
    let amd64 = image(&images, platforms[0].as_str().expect("digest"));
    let arm64 = image(&images, platforms[1].as_str().expect("digest"));
    for (row, arch) in [(amd64, "amd64"), (arm64, "arm64")] {
        assert_eq!(text(row, "index_digest"), index);
        assert_eq!(strings(&row["tags"]), ["2.0"]);
        assert_eq!(text(row, "architecture"), arch);
        assert_eq!(text(row, "user"), "1000");
        assert_eq!(row["runs_as_root"], false);
    }
    assert!(amd64["variant"].is_null());
    assert_eq!(text(arm64, "variant"), "v8");

    // The retagged repository: only the image its tag points at now. The first image is
    // still stored, but the Distribution API cannot list an untagged manifest.
    let new = image(&images, registry.get("/images/retag_new/digest"));
    assert_eq!(strings(&new["tags"]), ["v1"]);
    assert_eq!(new["labels"], serde_json::json!({"generation": "new"}));
    let old = registry.get("/images/retag_old/digest");
    assert!(images.iter().all(|r| r["image_digest"] != old));

    // OCI registries have no scan findings; the table is committed empty.
    let findings = duckdb(lake, "SELECT count(*) AS n FROM registry_image_findings;");
    assert_eq!(findings[0]["n"], 0);
}

#[test]
fn oci_registry_anonymous_snapshot() {
    let registry = Registry::start("none");
    let work = tempfile::tempdir().expect("work dir");
    let lake = work.path().join("lake");
    let config = write_config(
        work.path(),
        &format!(
            "[[sources.registry.oci]]\nurl = \"{}\"\n",
            registry.get("/endpoint")
        ),
    );
    let output = run_with(&config, &lake, &[]);
    assert_success(&output);
    assert_registry_tables(&lake, &registry);

    let coverage = duckdb(
        &lake,
        "SELECT source, api, status, calls FROM lake_coverage WHERE source = 'oci';",
    );
    assert_eq!(coverage.len(), 1, "{coverage:?}");
    assert_eq!(
        text(&coverage[0], "api"),
        format!("registry:{}", registry.get("/host"))
    );
    assert_eq!(text(&coverage[0], "status"), "ok");
    // 2 catalog pages, 4 tag lists, 5 manifests by tag, 2 platform manifests by digest,
    // 5 configs (the two tags of apps/web share one image).
    assert_eq!(coverage[0]["calls"], 18);

    // The demo's queries: the two images that set no user, and no findings (OCI
    // registries do not scan) with every image counted as not scanned.
    let root = shipped_query(&lake, "root_user_images");
    let got: Vec<(&str, &str, &str, &str)> = root
        .iter()
        .map(|r| {
            (
                text(r, "repository_name"),
                text(r, "tags"),
                text(r, "platform_arch"),
                text(r, "user"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("apps/retag", "v1", "amd64", "(none set)"),
            ("apps/root", "v1", "amd64", "(none set)"),
        ]
    );
    let critical = shipped_query(&lake, "critical_findings_by_repository");
    let got: Vec<(&str, i64, i64, i64)> = critical
        .iter()
        .map(|r| {
            (
                text(r, "repository_name"),
                r["images"].as_i64().expect("images"),
                r["not_scanned"].as_i64().expect("count"),
                r["critical_findings"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("apps/multi", 2, 2, 0),
            ("apps/retag", 1, 1, 0),
            ("apps/root", 1, 1, 0),
            ("apps/web", 1, 1, 0),
        ]
    );

    let canary = registry.get("/canary");
    for stream in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(canary));
    }
}

#[test]
fn oci_registry_basic_auth_and_a_failing_registry() {
    let registry = Registry::start("basic");
    let work = tempfile::tempdir().expect("work dir");
    let lake = work.path().join("lake");
    let endpoint = registry.get("/endpoint");
    let username = registry.get("/username");
    // The same registry twice: once with the right password from the environment, once
    // with a wrong one. The second fails alone; the run commits the first as partial.
    let config = write_config(
        work.path(),
        &format!(
            "[[sources.registry.oci]]\nurl = \"{endpoint}\"\nusername = \"{username}\"\n\
             password_env = \"TEST_REGISTRY_PASSWORD\"\n\n\
             [[sources.registry.oci]]\nurl = \"{endpoint}/\"\nrepositories = [\"apps/web\"]\n\
             username = \"{username}\"\npassword = \"wrong-password\"\n"
        ),
    );
    let output = run_with(
        &config,
        &lake,
        &[("TEST_REGISTRY_PASSWORD", registry.get("/password"))],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "partial run expected:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_registry_tables(&lake, &registry);

    let coverage = duckdb(
        &lake,
        "SELECT status, message FROM lake_coverage WHERE source = 'oci' ORDER BY status;",
    );
    let statuses: Vec<&str> = coverage.iter().map(|r| text(r, "status")).collect();
    assert_eq!(statuses, ["access_denied", "ok"]);
    let denied = text(&coverage[0], "message");
    assert!(
        denied.contains("/v2/apps/web/tags/list") && denied.contains("401"),
        "{denied}"
    );
    assert!(!denied.contains("wrong-password"), "{denied}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("wrong-password") && !stderr.contains(registry.get("/password")));
}

/// Seed ECR in the shared emulator; returns what the seed script printed.
fn seed_ecr() -> Value {
    let emulator = crate::harness::emulator();
    let python = std::env::var_os("LAKEWARDEN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let output = Command::new(python)
        .arg(repo_root().join("tests/harness/seed_ecr.py"))
        .args(["--endpoint", &emulator.endpoint])
        .args(["--access-key-id", &emulator.access_key_id])
        .args(["--secret-access-key", &emulator.secret_access_key])
        .args(["--account", ACCOUNT])
        .output()
        .expect("the ECR seed script runs");
    assert!(
        output.status.success(),
        "seeding ECR failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the seed prints JSON")
}

#[test]
fn ecr_snapshot_against_moto() {
    let seeded = seed_ecr();
    let work = tempfile::tempdir().expect("work dir");
    let lake = work.path().join("lake");
    let config = write_config(work.path(), "");
    let text_config = std::fs::read_to_string(&config).expect("config");
    // Two attempts per AWS call: the emulator's answer to GetDownloadUrlForLayer is a
    // server error, which the SDK retries.
    let text_config = text_config.replace("page_size = 2", "ecr = true");
    std::fs::write(&config, format!("[aws]\nmax_attempts = 2\n\n{text_config}")).expect("config");
    let output = run_with(&config, &lake, &[]);
    // The emulator does not implement GetDownloadUrlForLayer: image configs are not read,
    // which makes the run partial.
    assert_eq!(
        output.status.code(),
        Some(2),
        "partial run expected:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let host = format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com");

    let repositories = duckdb(
        &lake,
        "SELECT * FROM registry_repositories ORDER BY repository_name;",
    );
    let names: Vec<&str> = repositories
        .iter()
        .map(|r| text(r, "repository_name"))
        .collect();
    assert_eq!(
        names,
        ["team/api", "team/empty", "team/multi", "team/worker"]
    );
    let (api, empty, worker) = (&repositories[0], &repositories[1], &repositories[3]);
    for row in &repositories {
        assert_eq!(text(row, "registry_kind"), "ecr");
        assert_eq!(text(row, "registry"), host);
        assert_eq!(text(row, "registry_id"), ACCOUNT);
        assert_eq!(text(row, "region"), "us-east-1");
        assert_eq!(text(row, "scan_type"), "BASIC");
        assert_eq!(
            text(row, "repository_uri"),
            format!("{host}/{}", text(row, "repository_name"))
        );
    }
    assert_eq!(
        text(api, "repository_arn"),
        format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/api")
    );
    assert_eq!(text(api, "tag_mutability"), "IMMUTABLE");
    assert_eq!(api["scan_on_push"], true);
    assert_eq!(text(api, "encryption_type"), "KMS");
    assert_eq!(
        text(api, "kms_key"),
        seeded["kms_key"].as_str().expect("key")
    );
    assert_eq!(api["policy_public"], true);
    let policy: Value = serde_json::from_str(text(api, "policy")).expect("policy JSON");
    assert_eq!(policy["Statement"][0]["Principal"], "*");
    let lifecycle: Value =
        serde_json::from_str(text(api, "lifecycle_policy")).expect("lifecycle JSON");
    let seeded_lifecycle: Value =
        serde_json::from_str(seeded["lifecycle"].as_str().expect("text")).expect("JSON");
    assert_eq!(lifecycle, seeded_lifecycle);
    assert_eq!(worker["policy_public"], false);
    assert!(worker["lifecycle_policy"].is_null());
    assert_eq!(text(worker, "tag_mutability"), "MUTABLE");
    assert_eq!(text(worker, "encryption_type"), "AES256");
    assert!(worker["kms_key"].is_null());
    assert!(empty["policy"].is_null() && empty["lifecycle_policy"].is_null());
    assert_eq!(empty["policy_public"], false);

    let images = duckdb(&lake, "SELECT * FROM registry_images;");
    // The index of team/multi is replaced by its two platform images.
    assert_eq!(images.len(), 5, "{images:#?}");
    let scanned = image(&images, seeded["api"].as_str().expect("digest"));
    assert_eq!(strings(&scanned["tags"]), ["v2"]);
    assert_eq!(text(scanned, "scan_status"), "COMPLETE");
    assert_eq!(scanned["findings_high"], 1);
    assert_eq!(scanned["findings_low"], 1);
    assert_eq!(scanned["findings_critical"], 1);
    assert_eq!(scanned["findings_medium"], 0);
    assert_eq!(scanned["size_bytes"], 1002);
    assert_eq!(
        text(scanned, "media_type"),
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert!(!scanned["pushed_at"].is_null());
    // From BatchGetImage; the image config could not be downloaded from the emulator.
    assert_eq!(scanned["layer_count"], 1);
    assert!(scanned["user"].is_null() && scanned["runs_as_root"].is_null());
    let multi = seeded["multi"].as_str().expect("digest");
    assert!(images.iter().all(|r| r["image_digest"] != multi));
    for (key, arch, variant) in [
        ("multi_amd64", "amd64", None),
        ("multi_arm64", "arm64", Some("v8")),
    ] {
        let row = image(&images, seeded[key].as_str().expect("digest"));
        assert_eq!(text(row, "index_digest"), multi);
        assert_eq!(strings(&row["tags"]), ["3.0"]);
        assert_eq!(text(row, "os"), "linux");
        assert_eq!(text(row, "architecture"), arch);
        assert_eq!(row["variant"].as_str(), variant);
        assert_eq!(row["layer_count"], 1);
    }
    let untagged = image(&images, seeded["api_untagged"].as_str().expect("digest"));
    assert_eq!(strings(&untagged["tags"]), Vec::<String>::new());
    assert!(untagged["scan_status"].is_null());
    for severity in [
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "undefined",
    ] {
        assert!(untagged[&format!("findings_{severity}")].is_null());
    }
    // Enhanced scanning: ACTIVE, and no counts rather than zeros.
    let active = image(&images, seeded["worker"].as_str().expect("digest"));
    assert_eq!(text(active, "scan_status"), "ACTIVE");
    assert_eq!(
        text(active, "scan_status_description"),
        "Continuous scan is selected for image."
    );
    assert!(active["findings_high"].is_null() && active["findings_critical"].is_null());

    let findings = duckdb(
        &lake,
        "SELECT repository_name, vulnerability_id, severity, package_name, package_version, \
         fixed_version, cvss_score, cvss_vector, uri, status, finding_source \
         FROM registry_image_findings ORDER BY vulnerability_id;",
    );
    let rows: Vec<Value> = findings.into_iter().map(Value::Object).collect();
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"repository_name": "team/api", "vulnerability_id": "CVE-2011-3374",
                "severity": "LOW", "package_name": "apt", "package_version": "2.6.1",
                "fixed_version": null, "cvss_score": 4.3, "cvss_vector": null,
                "uri": "https://security-tracker.debian.org/tracker/CVE-2011-3374",
                "status": null, "finding_source": "basic"}),
            serde_json::json!({"repository_name": "team/worker", "vulnerability_id": "CVE-2020-8203",
                "severity": "HIGH", "package_name": "lodash", "package_version": "4.17.15",
                "fixed_version": "4.17.19", "cvss_score": 7.4,
                "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H",
                "uri": "https://nvd.nist.gov/vuln/detail/CVE-2020-8203",
                "status": "ACTIVE", "finding_source": "enhanced"}),
            serde_json::json!({"repository_name": "team/api", "vulnerability_id": "CVE-2023-38545",
                "severity": "CRITICAL", "package_name": "curl",
                "package_version": "7.88.1-10+deb12u1", "fixed_version": null, "cvss_score": 9.8,
                "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "uri": "https://security-tracker.debian.org/tracker/CVE-2023-38545",
                "status": null, "finding_source": "basic"}),
            serde_json::json!({"repository_name": "team/api", "vulnerability_id": "CVE-2024-6387",
                "severity": "HIGH", "package_name": "openssh",
                "package_version": "1:9.2p1-2+deb12u2", "fixed_version": null, "cvss_score": 8.1,
                "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "uri": "https://security-tracker.debian.org/tracker/CVE-2024-6387",
                "status": null, "finding_source": "basic"}),
        ]
    );

    let coverage = duckdb(
        &lake,
        "SELECT api, status, calls FROM lake_coverage WHERE source = 'ecr' ORDER BY api;",
    );
    let got: Vec<(String, String, i64)> = coverage
        .iter()
        .map(|r| {
            (
                text(r, "api").to_owned(),
                text(r, "status").to_owned(),
                r["calls"].as_i64().expect("calls"),
            )
        })
        .collect();
    let expect = |api: &str, calls: i64| (api.to_owned(), "ok".to_owned(), calls);
    assert_eq!(
        got,
        [
            expect("BatchGetImage", 3),
            expect("DescribeImageScanFindings", 6),
            expect("DescribeImages", 4),
            expect("DescribeRepositories", 1),
            ("GetDownloadUrlForLayer".to_owned(), "error".to_owned(), 1),
            expect("GetLifecyclePolicy", 4),
            expect("GetRegistryScanningConfiguration", 1),
            expect("GetRepositoryPolicy", 4),
        ]
    );

    // The demo's queries: critical findings first; no image is known to run as root,
    // since no config could be read.
    let critical = shipped_query(&lake, "critical_findings_by_repository");
    let got: Vec<(&str, i64, i64, i64, i64, i64)> = critical
        .iter()
        .map(|r| {
            let n = |key: &str| r[key].as_i64().expect("a count");
            (
                text(r, "repository_name"),
                n("images"),
                n("not_scanned"),
                n("critical_findings"),
                n("images_with_critical"),
                n("high_findings"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("team/api", 2, 1, 1, 1, 1),
            ("team/worker", 1, 0, 0, 0, 1),
            ("team/empty", 0, 0, 0, 0, 0),
            ("team/multi", 2, 2, 0, 0, 0),
        ]
    );
    assert!(shipped_query(&lake, "root_user_images").is_empty());
    let per_repository = shipped_query(&lake, "images_by_repository");
    let not_read: i64 = per_repository
        .iter()
        .map(|r| r["config_not_read"].as_i64().expect("a count"))
        .sum();
    assert_eq!(not_read, 5);

    // Asked once, for the first image; each image with a config is a lake_errors row
    // naming repository and digest.
    let errors = duckdb(
        &lake,
        "SELECT table_name, object, message FROM lake_errors WHERE source = 'ecr' \
         ORDER BY message LIKE '%not asked for%', object;",
    );
    let mut objects: Vec<String> = errors
        .iter()
        .map(|r| text(r, "object").to_owned())
        .collect();
    objects.sort();
    let mut expected: Vec<String> = [
        ("team/api", "api"),
        ("team/api", "api_untagged"),
        ("team/multi", "multi_amd64"),
        ("team/multi", "multi_arm64"),
        ("team/worker", "worker"),
    ]
    .iter()
    .map(|(repository, key)| {
        format!(
            "{host}/{repository}@{}",
            seeded[*key].as_str().expect("digest")
        )
    })
    .collect();
    expected.sort();
    assert_eq!(objects, expected);
    assert!(
        errors
            .iter()
            .all(|r| text(r, "table_name") == "registry_images")
    );
    let first = text(&errors[0], "message");
    assert!(
        first.starts_with("config sha256:") && first.contains("GetDownloadUrlForLayer"),
        "{first}"
    );
    for row in &errors[1..] {
        assert!(text(row, "message").contains("not asked for"), "{row:?}");
    }
}
