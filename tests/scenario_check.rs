//! `kafka-chaos check` as users run it: every shipped scenario passes, and every kind of invalid
//! scenario is rejected with exit code 2 and one line `error: path:line:col: message`.

use kafka_chaos::commands::check;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn check_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-chaos"))
        .arg("check")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KAFKA_CHAOS_LOG")
        .output()
        .expect("the binary runs")
}

fn shipped() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_shipped_scenario_passes_check() {
    let names = shipped();
    for required in ["nightly.toml", "seed-claims.toml", "smoke.toml"] {
        assert!(names.iter().any(|n| n == required), "scenarios/{required} is missing");
    }
    for name in names {
        let out = check_cmd(&[&format!("scenarios/{name}")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "scenarios/{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("cell 1/"),
            "scenarios/{name} printed no cells:\n{stdout}"
        );
        assert!(stdout.contains("estimated wall time: "), "{stdout}");
    }
}

#[test]
fn check_prints_the_plan() {
    let out = check_cmd(&["scenarios/seed-claims.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "scenario  seed-claims\n",
        "seed      42\n",
        "cell 1/8  leader-kill-once-acked_acks-0_idem-false_commit-manual-sync\n",
        "  config  fault=leader-kill-once-acked acks=0 enable.idempotence=false commit=manual-sync\n",
        "  faults  1. pause followers:0 at 10 s; resume once the next step took effect\n",
        "          2. kill leader:0 at 10 s, then once 500 writes to partition 0 acked since the previous step (within 15 s); restart 10 s after it took effect\n",
        "  expect  lost >= 1  (line ",
        "cell 8/8  consumer-kill-processed_acks-all_idem-true_commit-auto-store-after-process\n",
        "unconsumed = 0, redelivered >= 1  (line ",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn seed_overrides_the_scenario_and_draws_random_brokers_again() {
    let a = check_cmd(&["scenarios/nightly.toml", "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert_eq!(a.status.code(), Some(0));
    assert!(stdout.contains("seed      1\n"), "{stdout}");
    assert!(stdout.contains("(drawn for random-broker)"), "{stdout}");
    let again = check_cmd(&["scenarios/nightly.toml", "--seed", "1"]);
    assert_eq!(a.stdout, again.stdout, "the same seed gives the same plan");
}

#[test]
fn shipped_scenarios_fit_their_time_budgets() {
    // On a 2-core machine: smoke under 3 minutes, seed-claims within 15 even if drains time out.
    let (_, smoke) = check::load(Path::new("scenarios/smoke.toml"), None).unwrap();
    assert!(smoke.cells.len() >= 2 && smoke.cells.len() <= 3);
    assert!(
        smoke.estimate().total < Duration::from_secs(180),
        "{:?}",
        smoke.estimate()
    );
    let (_, claims) = check::load(Path::new("scenarios/seed-claims.toml"), None).unwrap();
    assert!(
        claims.estimate().worst <= Duration::from_secs(15 * 60),
        "{:?}",
        claims.estimate()
    );
    // seed-sarama: within 15 minutes (issue 8), drains timing out or not.
    let (_, sarama) = check::load(Path::new("scenarios/seed-sarama.toml"), None).unwrap();
    assert!(sarama.estimate().worst <= Duration::from_secs(15 * 60), "{:?}", sarama.estimate());
}

#[test]
fn a_missing_file_is_invalid_input() {
    let out = check_cmd(&["scenarios/no-such-scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read scenario scenarios/no-such-scenario.toml: "),
        "{stderr}"
    );
}

/// Run `check` on `tests/scenarios/<fixture>.toml` and expect exit 2 with exactly this error.
fn rejects(fixture: &str, position: &str, message: &str) {
    let path = format!("tests/scenarios/{fixture}.toml");
    let out = check_cmd(&[&path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
    assert_eq!(stderr, format!("error: {path}:{position}: {message}\n"));
    assert!(
        out.stdout.is_empty(),
        "{path}: nothing is printed for an invalid scenario"
    );
}

macro_rules! rejected {
    ($($test:ident: $fixture:literal at $position:literal, $message:literal;)*) => {
        $(
            #[test]
            fn $test() {
                rejects($fixture, $position, $message);
            }
        )*
    };
}

rejected! {
    syntax_error: "syntax" at "4:11",
        "invalid TOML: extra `=`, expected nothing";
    unknown_key: "unknown-key" at "4:1",
        "unknown key `broker`, expected one of `kind`, `bootstrap`, `topic_prefix`, `hooks`, `nodes`, `security`, `brokers`, `controllers`, `kafka_version`, `broker_config`";
    wrong_type: "wrong-type" at "4:13",
        "invalid type: string \"two\", expected a whole number from 0 to 4294967295";
    bad_acks: "bad-acks" at "4:14",
        "acks must be one of 0, 1, all, -1; found \"2\"";
    replication_factor_above_brokers: "rf-above-brokers" at "6:22",
        "replication_factor 4 is above the broker count 3; lower it or raise [cluster] brokers";
    min_insync_above_replication_factor: "min-insync-above-rf" at "6:29",
        "min.insync.replicas 3 (matrix) is above the replication factor 2; no acks=all write could succeed: lower it or raise [topic] replication_factor";
    broker_min_insync_above_replication_factor: "min-insync-broker-above-rf" at "4:25",
        "min.insync.replicas 4 ([cluster.broker_config]) is above the replication factor 3; no acks=all write could succeed: lower it or raise [topic] replication_factor";
    unknown_target: "unknown-target" at "4:51",
        "unknown fault target \"zookeeper\"; use leader:P, followers:P, controller, broker:N, brokers:N,M,..., all-brokers, consumer:N, producer:N or random-broker";
    unknown_action: "unknown-action" at "3:34",
        "unknown fault action \"explode\"; use kill, stop, pause, isolate, power-loss or power-loss-control";
    consumer_out_of_range: "consumer-out-of-range" at "6:51",
        "fault target \"consumer:5\" is out of range: consumers are 0..=1";
    partition_out_of_range: "partition-out-of-range" at "5:51",
        "fault target \"leader:7\" is out of range: partitions are 0..=2";
    broker_out_of_range: "broker-out-of-range" at "6:51",
        "fault target \"broker:4\" is out of range: brokers are 1..=3";
    undefined_fault_schedule: "undefined-fault" at "3:25",
        "fault \"leader-kil\" is not a defined schedule; defined schedules are \"leader-kill\" (or \"none\")";
    unknown_matrix_key: "unknown-matrix-key" at "4:1",
        "unknown matrix key \"enable.idempotense\"; a matrix key is a librdkafka producer or consumer property, a topic or broker config, commit or fault; did you mean \"enable.idempotence\"?";
    unknown_count: "unknown-count" at "3:1",
        "unknown count \"lose\"; counts are sent, acked, failed, unknown, in_log, lost, duplicated, reordered, unexpected, recovered, unconsumed, redelivered, processed_twice, aborted_read, torn; did you mean \"lost\"?";
    when_key_not_in_matrix: "when-not-in-matrix" at "5:10",
        "when key \"commit\" is not a matrix key; matrix keys are \"acks\"";
    bad_duration: "bad-duration" at "3:12",
        "duration = \"forty seconds\" is not a duration (expected number at 0); write e.g. \"40s\", \"1m 30s\" or \"250ms\"";
    fault_after_the_run: "fault-after-run" at "5:18",
        "fault at 25s is not within the run: [workload] duration is 20s; move it earlier or lengthen the run";
    empty_matrix_list: "empty-matrix-list" at "3:8",
        "matrix key \"acks\" has no values; give at least one, or remove the key";
    unknown_producer_property: "unknown-producer-property" at "3:1",
        "unknown producer property \"lingr.ms\"; see librdkafka's CONFIGURATION.md; did you mean \"linger.ms\"?";
    idempotence_needs_acks_all: "idempotence-needs-acks-all" at "4:9",
        "acks = \"1\" cannot be combined with enable.idempotence = true: librdkafka requires acks=all for the idempotent producer; exclude the pair: exclude = [ { acks = \"1\", \"enable.idempotence\" = true } ]";
    isolation_of_a_producer: "isolate-producer" at "3:53",
        "isolate \"producer:0\": clients run on this machine and cannot be isolated; kill, stop or pause them instead";
    two_conditions_in_one_step: "two-conditions" at "4:122",
        "when takes one condition; processed_not_committed is a second one: split the step in two";
    ambiguous_key: "ambiguous-key" at "4:1",
        "\"compression.type\" is both a producer property and a topic config; write \"producer:compression.type\", \"topic:compression.type\" or \"broker:compression.type\"";
}

#[test]
fn every_fixture_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let source = include_str!("scenario_check.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let fixture = name.trim_end_matches(".toml");
        assert!(
            source.contains(&format!("\"{fixture}\" at")),
            "tests/scenarios/{name} has no test"
        );
    }
}
