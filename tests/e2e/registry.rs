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
    command.args(["run", "--no-progress", "--config"]).arg(config);
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
    assert!(parquet_files > 3, "only {parquet_files} Parquet files in the lake");
}

/// What every run against the test registry must have written.
fn assert_registry_tables(lake: &Path, registry: &Registry) {
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
        assert!(row["policy"].is_null() && row["policy_public"].is_null(), "{row:?}");
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
    assert_eq!(text(web, "media_type"), "application/vnd.oci.image.manifest.v1+json");
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
    for column in ["pushed_at", "last_pulled_at", "scan_status", "findings_critical"] {
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

    assert_nowhere_in_lake(lake, registry.get("/canary"));
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
    assert!(denied.contains("/v2/apps/web/tags/list") && denied.contains("401"), "{denied}");
    assert!(!denied.contains("wrong-password"), "{denied}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("wrong-password") && !stderr.contains(registry.get("/password")));
}
