//! The external-cluster mode, end to end: `cluster up --print-external` starts a cluster and
//! writes it as an external one (docker commands as hooks); the same scenario then runs against
//! it through the hooks and on a cluster the harness starts itself, and must reach the same
//! verdicts. The run may create and delete its own topics on the external cluster and nothing
//! else: the containers and the network are the same afterwards, and so is the topic list.

mod common;

use common::{require_docker, BIN};
use kafka_chaos::checker::{read_analysis, HISTORY_FILE};
use kafka_chaos::summary::{Summary, Verdict};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = "tests/external/hooks.toml";
const SASL_SCENARIO: &str = "tests/external/sasl.toml";
/// `cluster up --sasl-plain` reads the password here, and the printed table names it.
const PASSWORD_ENV: &str = "KAFKA_CHAOS_PASSWORD";
const PASSWORD: &str = "not-a-secret-42";

/// `cluster up`, removed (SIGTERM, as Ctrl-C) when dropped, even when the test panics.
struct HeldCluster {
    child: Child,
}

impl Drop for HeldCluster {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// `cluster up --print-external` with `extra` arguments, held until dropped: the printed table
/// and the containers it names.
fn cluster_up(dir: &Path, extra: &[&str]) -> (HeldCluster, String, Vec<String>) {
    let table = dir.join("external.toml");
    let child = Command::new(BIN)
        .args(["cluster", "up", "--print-external"])
        .arg(&table)
        .args(extra)
        .env(PASSWORD_ENV, PASSWORD)
        .stdout(Stdio::null())
        .spawn()
        .expect("cluster up starts");
    let held = HeldCluster { child };
    let began = Instant::now();
    while !table.exists() {
        assert!(began.elapsed() < Duration::from_secs(240), "cluster up wrote no table within 240 s");
        std::thread::sleep(Duration::from_millis(500));
    }
    let written = std::fs::read_to_string(&table).unwrap();
    let parsed: toml::Value = toml::from_str(&written).expect("the table is TOML");
    let containers: Vec<String> = parsed["cluster"]["nodes"]
        .as_table()
        .expect("nodes")
        .values()
        .map(|n| n["container"].as_str().expect("container").to_string())
        .collect();
    assert_eq!(containers.len(), 3);
    (held, written, containers)
}

fn run(scenario: &Path, out: &Path) -> (Summary, i32, String) {
    let output = Command::new(BIN)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .env(PASSWORD_ENV, PASSWORD)
        .output()
        .expect("binary runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{text}");
    let summary = Summary::load(out).unwrap_or_else(|e| panic!("no summary ({e}):\n{text}"));
    (summary, output.status.code().unwrap_or(-1), text)
}

/// Each container of the external cluster: its id (the same container), state, restarts by
/// Docker, and how many networks it is on.
fn snapshot(containers: &[String]) -> Vec<String> {
    let out = Command::new("docker")
        .args(["inspect", "--format", "{{.Id}} {{.State.Status}} {{.RestartCount}} {{len .NetworkSettings.Networks}}"])
        .args(containers)
        .output()
        .expect("docker inspect runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn topics(container: &str) -> Vec<String> {
    let server = format!("{container}:19092");
    let out = Command::new("docker")
        .args(["exec", container, "/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server", &server, "--list"])
        .output()
        .expect("docker exec runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Internal topics (`__consumer_offsets`) are the broker's own, created on a group's first use.
    let mut list: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|t| !t.trim().is_empty() && !t.starts_with("__"))
        .map(str::to_string)
        .collect();
    list.sort();
    list
}

#[test]
fn a_scenario_runs_through_hooks_on_an_external_cluster_with_the_verdicts_of_containers() {
    require_docker();
    let tmp = tempfile::tempdir().unwrap();
    let (held, written, containers) = cluster_up(tmp.path(), &[]);

    // The scenario with the printed table as its [cluster].
    let external: PathBuf = tmp.path().join("external-hooks.toml");
    std::fs::write(&external, format!("{}\n{written}", std::fs::read_to_string(SCENARIO).unwrap())).unwrap();
    let before = (snapshot(&containers), topics(&containers[0]));
    let (on_hooks, code, _) = run(&external, &tmp.path().join("external"));
    let after = (snapshot(&containers), topics(&containers[0]));
    assert_eq!(before, after, "the run changed the external cluster beyond its own topics");
    assert!(on_hooks.image.starts_with("external cluster at 127.0.0.1:"), "{}", on_hooks.image);

    // Every step went through its hook, took effect on a victim and was healed.
    let cell = &on_hooks.cells[0];
    let analysis = read_analysis(&tmp.path().join("external").join("cells").join(&cell.id)).unwrap();
    assert!(analysis.evidence.problems().is_empty(), "{:?}", analysis.evidence.problems());
    let history = std::fs::read_to_string(tmp.path().join("external").join("cells").join(&cell.id).join(HISTORY_FILE)).unwrap();
    for (i, hook) in ["docker kill --signal STOP", "docker network disconnect", "docker kill --signal KILL"].iter().enumerate() {
        let step = &analysis.evidence.steps[i];
        assert!(step.fired_ms.is_some() && !step.victims.is_empty(), "step {}: {step:?}", i + 1);
        assert!(step.victims.iter().all(|v| v.applied_ms.is_some() && v.healed_ms.is_some()), "step {}: {step:?}", i + 1);
        assert!(history.contains(&format!("hook `{hook}")), "no {hook} hook in the history");
    }
    drop(held);

    // Every worker ran through the launch template (which says so on its stderr) and stopped at
    // the end of its stdin, without being killed.
    let cell_dir = tmp.path().join("external").join("cells").join(&cell.id);
    let logs: Vec<PathBuf> = std::fs::read_dir(&cell_dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert_eq!(logs.len(), 2, "one producer and one consumer: {logs:?}");
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("launched through the template"), "{}: {text}", log.display());
    }
    assert!(!history.contains("did not stop within"), "a worker had to be killed at the end");

    let (on_containers, container_code, _) = run(Path::new(SCENARIO), &tmp.path().join("containers"));
    let verdicts = |s: &Summary| s.cells.iter().map(|c| (c.id.clone(), c.verdict)).collect::<Vec<_>>();
    assert_eq!(verdicts(&on_hooks), verdicts(&on_containers));
    assert_eq!(verdicts(&on_hooks), vec![(cell.id.clone(), Verdict::Pass)]);
    for s in [&on_hooks, &on_containers] {
        let c = s.cells[0].counts.expect("counts");
        println!("{}: {c:?}", s.image);
        assert!(c.acked > 5000, "too little traffic to judge: {c:?}");
        assert_eq!((c.lost, c.duplicated, c.reordered, c.unexpected), (0, 0, 0, 0));
    }
    assert_eq!((code, container_code), (0, 0));
}

#[test]
fn every_client_authenticates_with_sasl_and_the_controller_is_found_through_the_admin_api() {
    require_docker();
    let tmp = tempfile::tempdir().unwrap();
    let (held, written, _) = cluster_up(tmp.path(), &["--sasl-plain", "chaos"]);
    assert!(written.contains("[cluster.security]") && written.contains(&format!("password_env = \"{PASSWORD_ENV}\"")), "{written}");
    assert!(!written.contains(PASSWORD), "the printed table holds the password:\n{written}");
    let scenario = tmp.path().join("sasl.toml");
    std::fs::write(&scenario, format!("{}\n{written}", std::fs::read_to_string(SASL_SCENARIO).unwrap())).unwrap();

    // Without the security table, the harness's own client is refused: the listener really
    // asks for SASL, so the pass below is the passthrough's doing.
    let plaintext = tmp.path().join("plaintext.toml");
    let cut = written.find("[cluster.security]").unwrap();
    std::fs::write(&plaintext, format!("{}\n{}", std::fs::read_to_string(SASL_SCENARIO).unwrap(), &written[..cut])).unwrap();
    let refused = Command::new(BIN).arg("run").arg(&plaintext).arg("--out").arg(tmp.path().join("refused")).output().unwrap();
    let text = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0), "a plaintext client ran on a SASL listener:\n{text}");
    assert!(text.contains("no broker answers"), "{text}");

    let (summary, code, _) = run(&scenario, &tmp.path().join("sasl"));
    drop(held);
    assert_eq!(code, 0);
    let clients: Vec<&str> = summary.cells.iter().map(|c| c.config["client"].as_str()).collect();
    assert_eq!(clients, ["rdkafka", "sarama", "java"]);
    for cell in &summary.cells {
        let counts = cell.counts.expect("counts");
        assert_eq!(cell.verdict, Verdict::Pass, "{}: {counts:?}", cell.id);
        assert!(counts.acked > 1000, "{}: too little traffic to judge: {counts:?}", cell.id);
        let analysis = read_analysis(&tmp.path().join("sasl").join("cells").join(&cell.id)).unwrap();
        let step = &analysis.evidence.steps[0];
        assert!(step.victims.len() == 1 && step.victims[0].applied_ms.is_some(), "{}: {step:?}", cell.id);
    }
}
