//! Running in production: the schedule, the lease, signals and vacuum, through the real
//! binary on local lakes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::harness::{assert_success, duckdb, lakewarden, run_id_of};

/// A config for the tests: a short lease and grace so that the tests wait little.
fn config_file(dir: &Path, lease_ttl_secs: u64, grace_secs: u64) -> PathBuf {
    let path = dir.join("lakewarden.toml");
    std::fs::write(
        &path,
        format!("[run]\nlease_ttl_secs = {lease_ttl_secs}\nshutdown_grace_secs = {grace_secs}\n"),
    )
    .expect("config written");
    path
}

/// A background `lakewarden` whose standard error goes to a file the test can poll.
struct Background {
    child: Child,
    stderr: PathBuf,
    stdout: PathBuf,
}

impl Background {
    fn start(args: &[&str], dir: &Path, name: &str) -> Self {
        let stderr = dir.join(format!("{name}.stderr"));
        let stdout = dir.join(format!("{name}.stdout"));
        let child = lakewarden()
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("lakewarden starts");
        Self {
            child,
            stderr,
            stdout,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn wait_for_log(&mut self, needle: &str, within: Duration) {
        let started = Instant::now();
        while !self.stderr().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "exited with {status} before logging {needle:?}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                started.elapsed() < within,
                "no {needle:?} in {within:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    fn wait_within(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Every object of a local lake, as paths relative to its root.
fn lake_files(lake: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        // The lake may not exist yet, and a lease may vanish while the folder is read.
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("below the root");
                out.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(lake, lake, &mut out);
    out
}

/// Run ids of the commit objects in a lake. A run has its extract commit
/// (`<run_id>.parquet`) and its jobs' commits (`<run_id>.jobs-<n>.parquet`).
fn committed_runs(lake: &Path) -> BTreeSet<String> {
    lake_files(lake)
        .into_iter()
        .filter(|f| f.starts_with("lake_runs/") && !f.contains("dt=1970-01-01"))
        .filter_map(|f| {
            Path::new(&f)
                .file_name()
                .and_then(|s| s.to_string_lossy().split('.').next().map(str::to_owned))
        })
        .collect()
}

fn lease_file(lake: &Path) -> PathBuf {
    lake.join("_lakewarden/lease.json")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn schedule_commits_runs_on_the_cron_expression_until_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let config = config_file(dir.path(), 30, 5);
    let mut scheduler = Background::start(
        &[
            "schedule",
            "--cron",
            "*/2 * * * * *",
            "--no-progress",
            "--config",
            text(&config),
            "--lake",
            text(&lake),
        ],
        dir.path(),
        "schedule",
    );
    let started = Instant::now();
    while committed_runs(&lake).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "fewer than two commits in 90 s:\n{}",
            scheduler.stderr()
        );
        if let Ok(Some(status)) = scheduler.child.try_wait() {
            panic!(
                "the scheduler exited with {status}:\n{}",
                scheduler.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    scheduler.signal("TERM");
    let status = scheduler.wait_within(Duration::from_secs(15));
    // Stopped while waiting: 0; stopped during a third run: 143, which commits nothing.
    assert!(
        matches!(status.code(), Some(0) | Some(143)),
        "exit status {status}:\n{}",
        scheduler.stderr()
    );

    let runs = committed_runs(&lake);
    assert!(runs.len() >= 2, "{runs:?}");
    let printed: BTreeSet<String> = scheduler
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("run ")?.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert_eq!(printed, runs, "every committed run printed its summary");
    let log = scheduler.stderr();
    assert!(log.contains("\"next_run\""), "{log}");
    assert!(log.contains("\"cron\":\"*/2 * * * * *\""), "{log}");
    // Runs start on even seconds: the run id holds its start time.
    for run in &runs {
        let seconds: u32 = run[13..15].parse().expect("seconds of the run id");
        assert_eq!(seconds % 2, 0, "run {run} did not start on an even second");
    }
    assert!(!lease_file(&lake).exists(), "the lease was released");
}

#[test]
fn sigint_stops_a_waiting_scheduler_with_exit_code_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let mut scheduler = Background::start(
        &[
            "schedule",
            "--cron",
            "0 0 3 1 1 * 2099",
            "--timezone",
            "Asia/Tokyo",
            "--lake",
            text(&lake),
        ],
        dir.path(),
        "waiting",
    );
    scheduler.wait_for_log("Next run scheduled", Duration::from_secs(30));
    assert!(
        scheduler
            .stderr()
            .contains("\"next_run\":\"2099-01-01T03:00:00+09:00\""),
        "{}",
        scheduler.stderr()
    );
    scheduler.signal("INT");
    let status = scheduler.wait_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{}", scheduler.stderr());
    assert!(
        scheduler
            .stderr()
            .contains("Scheduler stopped while waiting")
    );
    assert!(committed_runs(&lake).is_empty());
    assert!(!lease_file(&lake).exists());
}

#[test]
fn a_malformed_cron_expression_is_an_error_naming_it() {
    let output = lakewarden()
        .args(["schedule", "--cron", "61 * * * *", "--lake", "./lake"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cron expression \"61 * * * *\" is not valid"),
        "{stderr}"
    );
}

/// What a contention test needs to see of a lake, local or on S3.
struct LakeView<'a> {
    url: String,
    lease: Box<dyn Fn() -> Option<Vec<u8>> + 'a>,
    commits: Box<dyn Fn() -> BTreeSet<String> + 'a>,
}

fn local_view(lake: &Path) -> LakeView<'_> {
    LakeView {
        url: text(lake).to_owned(),
        lease: Box::new(move || std::fs::read(lease_file(lake)).ok()),
        commits: Box::new(move || committed_runs(lake)),
    }
}

/// The emulator's bucket, as the binary sees it.
fn s3_store() -> object_store::aws::AmazonS3 {
    let emulator = crate::harness::emulator();
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(crate::harness::BUCKET)
        .with_endpoint(&emulator.endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id(&emulator.access_key_id)
        .with_secret_access_key(&emulator.secret_access_key)
        .build()
        .expect("S3 store")
}

fn s3_view(prefix: &str) -> LakeView<'static> {
    use object_store::path::Path as StorePath;
    use object_store::{ObjectStore, ObjectStoreExt};

    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(s3_store());
    let runtime = std::sync::Arc::new(tokio::runtime::Runtime::new().expect("runtime"));
    let lease_path = StorePath::from(format!("{prefix}/_lakewarden/lease.json"));
    let commits_prefix = StorePath::from(format!("{prefix}/lake_runs"));
    let (store2, runtime2) = (store.clone(), runtime.clone());
    LakeView {
        url: format!("s3://{}/{prefix}", crate::harness::BUCKET),
        lease: Box::new(move || {
            runtime.block_on(async {
                let got = store.get(&lease_path).await.ok()?;
                got.bytes().await.ok().map(|b| b.to_vec())
            })
        }),
        commits: Box::new(move || {
            use futures::TryStreamExt;
            let objects: Vec<_> = runtime2
                .block_on(store2.list(Some(&commits_prefix)).try_collect::<Vec<_>>())
                .expect("listing");
            objects
                .into_iter()
                .filter(|o| !o.location.as_ref().contains("dt=1970-01-01"))
                .filter_map(|o| {
                    o.location
                        .filename()
                        .and_then(|n| n.split('.').next())
                        .map(str::to_owned)
                })
                .collect()
        }),
    }
}

fn two_runs_at_once(view: &LakeView<'_>, dir: &Path) {
    // A 3 s lease is renewed every second: the first run renews it through its 3 s pause,
    // with conditional updates on S3, and would fail if a renewal did.
    let config = config_file(dir, 3, 5);
    let mut first = Background::start(
        &[
            "run",
            "--no-progress",
            "--pause-before-commit-ms",
            "3000",
            "--config",
            text(&config),
            "--lake",
            &view.url,
        ],
        dir,
        "first",
    );
    first.wait_for_log("Lease taken", Duration::from_secs(60));
    let lease: serde_json::Value =
        serde_json::from_slice(&(view.lease)().expect("lease present")).expect("lease JSON");
    let holder = lease["holder"].as_str().expect("holder").to_owned();
    assert!(
        holder.contains(&format!("/{}/", first.child.id())),
        "{lease}"
    );

    let second = lakewarden()
        .args([
            "run",
            "--no-progress",
            "--config",
            text(&config),
            "--lake",
            &view.url,
        ])
        .output()
        .expect("second run");
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("is leased by {holder} until")),
        "{stderr}"
    );
    assert!(
        second.stdout.is_empty(),
        "the second run printed no summary"
    );

    // The live run renews its lease: renewed_at moves past acquired_at, expiry with it.
    let started = Instant::now();
    let renewed = loop {
        let now: serde_json::Value =
            serde_json::from_slice(&(view.lease)().expect("lease present")).expect("lease JSON");
        if now["renewed_at"] != now["acquired_at"] {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "not renewed: {now}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(renewed["holder"], lease["holder"]);
    assert_eq!(renewed["acquired_at"], lease["acquired_at"]);
    assert_ne!(renewed["expires_at"], lease["expires_at"]);

    let status = first.wait_within(Duration::from_secs(60));
    assert!(status.success(), "{}", first.stderr());
    let runs = (view.commits)();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        first
            .stdout()
            .contains(&format!("run {} ", runs.first().unwrap()))
    );
    assert!((view.lease)().is_none(), "the lease was released");
}

#[test]
fn two_concurrent_runs_never_both_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    two_runs_at_once(&local_view(&lake), dir.path());
}

#[test]
fn two_concurrent_runs_on_s3_never_both_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let prefix = format!("lease-{}", std::process::id());
    two_runs_at_once(&s3_view(&prefix), dir.path());
}

#[test]
fn sigterm_during_a_run_keeps_the_previous_snapshot_and_releases_the_lease() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let config = config_file(dir.path(), 30, 1);
    let previous = lakewarden()
        .args([
            "run",
            "--no-progress",
            "--config",
            text(&config),
            "--lake",
            text(&lake),
        ])
        .output()
        .expect("first run");
    assert_success(&previous);
    let previous_run = run_id_of(&previous);
    let before = lake_files(&lake);

    let mut interrupted = Background::start(
        &[
            "run",
            "--no-progress",
            "--pause-before-commit-ms",
            "60000",
            "--config",
            text(&config),
            "--lake",
            text(&lake),
        ],
        dir.path(),
        "interrupted",
    );
    interrupted.wait_for_log("Pausing before the commit", Duration::from_secs(60));
    let signalled = Instant::now();
    interrupted.signal("TERM");
    let status = interrupted.wait_within(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "{}", interrupted.stderr());
    // One second of grace, then out: well before the 60 s pause would have ended.
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    assert!(interrupted.stderr().contains("Grace period over"));
    assert!(interrupted.stderr().contains("Lease released"));

    assert_eq!(
        committed_runs(&lake),
        BTreeSet::from([previous_run.clone()])
    );
    assert!(!lease_file(&lake).exists(), "no lease left behind");
    let new_files: Vec<_> = lake_files(&lake).difference(&before).cloned().collect();
    assert!(
        !new_files.is_empty(),
        "the interrupted run had written data files"
    );
    let latest = duckdb(&lake, "SELECT DISTINCT run_id FROM lake_latest;");
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0]["run_id"], serde_json::Value::from(previous_run));
}

/// Age a file's modification time by `by`.
fn age(path: &Path, by: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("file opens");
    file.set_modified(SystemTime::now() - by)
        .expect("mtime set");
}

#[test]
fn vacuum_removes_exactly_uncommitted_and_expired_files() {
    let dir = tempfile::tempdir().expect("dir");
    let lake = dir.path().join("lake");
    let config = config_file(dir.path(), 3, 1);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--no-progress", "--config", text(&config)];
        args.extend_from_slice(&["--lake", text(&lake)]);
        args.extend_from_slice(extra);
        lakewarden().args(&args).output().expect("run")
    };

    // A: committed, then superseded by B, so past a retention of 0 days it expires.
    let a = run(&[]);
    assert_success(&a);
    let run_a = run_id_of(&a);

    // C: killed after writing its data files, before committing; its lease stays behind
    // and blocks the next run until it expires.
    let mut crashed = Background::start(
        &[
            "run",
            "--no-progress",
            "--pause-before-commit-ms",
            "60000",
            "--config",
            text(&config),
            "--lake",
            text(&lake),
        ],
        dir.path(),
        "crashed",
    );
    crashed.wait_for_log("Pausing before the commit", Duration::from_secs(60));
    crashed.signal("KILL");
    crashed.wait_within(Duration::from_secs(10));
    let blocked = run(&[]);
    assert_eq!(blocked.status.code(), Some(3), "{blocked:?}");
    std::thread::sleep(Duration::from_millis(3200));

    // B: takes the expired lease over and commits.
    let b = run(&[]);
    assert_success(&b);
    let run_b = run_id_of(&b);
    assert_eq!(
        committed_runs(&lake),
        BTreeSet::from([run_a.clone(), run_b.clone()])
    );

    let files = lake_files(&lake);
    let of_run = |run: &str| -> BTreeSet<String> {
        files
            .iter()
            .filter(|f| {
                Path::new(f)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(run)
            })
            .cloned()
            .collect()
    };
    let crashed_files: BTreeSet<String> = files
        .iter()
        .filter(|f| {
            let name = Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            f.contains("/dt=")
                && !f.contains("dt=1970-01-01")
                && !name.starts_with(&run_a)
                && !name.starts_with(&run_b)
        })
        .cloned()
        .collect();
    assert!(crashed_files.len() > 3, "{crashed_files:?}");
    // The crashed run's files are two days old; one more uncommitted file is fresh, as a
    // live run's would be, and must stay.
    for file in &crashed_files {
        age(&lake.join(file), Duration::from_secs(48 * 3600));
    }
    let crashed_users = crashed_files
        .iter()
        .find(|f| f.starts_with("iam_users/"))
        .expect("an iam_users file of the crashed run");
    let live = Path::new(crashed_users)
        .with_file_name("20991231T000000Z-0000live-0.parquet")
        .to_string_lossy()
        .into_owned();
    std::fs::copy(lake.join(crashed_users), lake.join(&live)).expect("copy");

    let mut expected: BTreeSet<String> = of_run(&run_a);
    expected.extend(crashed_files.iter().cloned());
    let dt_a = format!("{}-{}-{}", &run_a[0..4], &run_a[4..6], &run_a[6..8]);
    assert!(expected.contains(&format!("lake_runs/dt={dt_a}/{run_a}.parquet")));

    let vacuum = |apply: bool| {
        let mut args = vec!["vacuum", "--retain-days", "0", "--lake", text(&lake)];
        if apply {
            args.push("--apply");
        }
        let output = lakewarden().args(&args).output().expect("vacuum");
        assert_success(&output);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let listed: BTreeSet<String> = stdout
            .lines()
            .filter(|l| l.starts_with("remove ") || l.starts_with("would-remove "))
            .map(|l| {
                let path = l.split_whitespace().last().expect("path");
                path.trim_start_matches(&format!("{}/", text(&lake)))
                    .to_owned()
            })
            .collect();
        (stdout, listed)
    };

    let before = lake_files(&lake);
    let (stdout, listed) = vacuum(false);
    assert_eq!(listed, expected, "{stdout}");
    assert!(
        stdout.contains("Nothing was removed: pass --apply."),
        "{stdout}"
    );
    assert_eq!(lake_files(&lake), before, "a dry run removes nothing");

    let (stdout, listed) = vacuum(true);
    assert_eq!(listed, expected, "{stdout}");
    let after = lake_files(&lake);
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(removed, expected);
    assert!(after.contains(&live), "the fresh uncommitted file stays");
    assert!(after.iter().any(|f| f.contains("dt=1970-01-01")));
    assert_eq!(committed_runs(&lake), BTreeSet::from([run_b.clone()]));

    // What the views show is unchanged: B's snapshot, complete.
    let latest = duckdb(&lake, "SELECT DISTINCT run_id FROM lake_latest;");
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0]["run_id"], serde_json::Value::from(run_b));
    let users = duckdb(&lake, "SELECT count(*) AS n FROM iam_users;");
    assert_eq!(
        users[0]["n"].as_u64(),
        Some(crate::harness::emulator().expected["iam_users"])
    );

    // A second vacuum finds nothing more.
    let (stdout, listed) = vacuum(false);
    assert!(listed.is_empty(), "{stdout}");
}

fn test_python() -> PathBuf {
    let path = std::env::var_os("LAKEWARDEN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::harness::repo_root().join(".venv/bin/python"));
    assert!(path.exists(), "{}: run `make setup`", path.display());
    path
}

#[test]
fn deployment_files_hold_their_properties() {
    let script = crate::harness::repo_root().join("tests/deploy/check_deploy.py");
    let checked = std::process::Command::new(test_python())
        .arg(&script)
        .output()
        .expect("python runs");
    assert!(
        checked.status.success(),
        "deploy checks failed:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    // The command lines the image, the CronJob and the ECS task give the binary, run for
    // real with the ConfigMap's config (only the lake moved to a local folder).
    let printed = std::process::Command::new(test_python())
        .arg(&script)
        .arg("--commands")
        .output()
        .expect("python runs");
    assert!(printed.status.success());
    let commands: serde_json::Value = serde_json::from_slice(&printed.stdout).expect("JSON");
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("lakewarden.toml");
    std::fs::write(
        &config,
        commands["configmap_config"].as_str().expect("config text"),
    )
    .expect("config written");
    let mut seen = BTreeSet::new();
    for origin in ["dockerfile", "cronjob", "ecs", "vacuum_cronjob"] {
        let args: Vec<String> = commands[origin]
            .as_array()
            .unwrap_or_else(|| panic!("{origin} has a command"))
            .iter()
            .map(|a| a.as_str().expect("text").to_owned())
            .collect();
        if !seen.insert(args.clone()) {
            continue;
        }
        // The vacuum job runs over the lake the first run wrote.
        let lake = match args.first().map(String::as_str) {
            Some("run") => dir.path().join(format!("lake-{origin}")),
            Some("vacuum") => dir.path().join("lake-dockerfile"),
            other => panic!("{origin}: unexpected command {other:?}"),
        };
        let before = committed_runs(&lake).len();
        let output = lakewarden()
            .args(&args)
            .env("LAKEWARDEN_CONFIG", &config)
            .env("LAKEWARDEN_LAKE", &lake)
            .output()
            .expect("lakewarden runs");
        assert_success(&output);
        let expected = if args[0] == "run" { before + 1 } else { before };
        assert_eq!(committed_runs(&lake).len(), expected, "{origin}: {args:?}");
    }
    assert_eq!(
        seen.len(),
        2,
        "one run and one vacuum command line: {seen:?}"
    );
}

/// Every object under a prefix of the emulator's bucket, relative to the prefix.
fn s3_objects(prefix: &str) -> BTreeSet<String> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    use object_store::path::Path as StorePath;

    let store = s3_store();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = StorePath::from(prefix);
    let objects: Vec<_> = runtime
        .block_on(store.list(Some(&root)).try_collect::<Vec<_>>())
        .expect("listing");
    objects
        .into_iter()
        .map(|o| {
            o.location
                .as_ref()
                .strip_prefix(&format!("{prefix}/"))
                .expect("below the prefix")
                .to_owned()
        })
        .collect()
}

#[test]
fn vacuum_on_s3_removes_the_superseded_run_only() {
    let prefix = format!("vacuum-{}", std::process::id());
    let url = format!("s3://{}/{prefix}", crate::harness::BUCKET);
    let run = || {
        let output = lakewarden()
            .args(["run", "--no-progress", "--lake", &url])
            .output()
            .expect("run");
        assert_success(&output);
        run_id_of(&output)
    };
    let first = run();
    let second = run();
    let before = s3_objects(&prefix);
    let expected: BTreeSet<String> = before
        .iter()
        .filter(|f| f.rsplit('/').next().unwrap_or_default().starts_with(&first))
        .cloned()
        .collect();
    assert!(expected.len() > 3, "{expected:?}");

    let output = lakewarden()
        .args(["vacuum", "--retain-days", "0", "--apply", "--lake", &url])
        .output()
        .expect("vacuum");
    assert_success(&output);
    let listed: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("remove "))
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| {
            p.strip_prefix(&format!("{prefix}/"))
                .unwrap_or(p)
                .to_owned()
        })
        .collect();
    assert_eq!(listed, expected);
    let after = s3_objects(&prefix);
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(removed, expected);
    assert!(after.iter().any(|f| f.contains(&second)));
    assert!(after.iter().any(|f| f.contains("dt=1970-01-01")));
}
