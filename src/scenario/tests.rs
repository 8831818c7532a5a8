//! Parsing and checking scenarios: what is accepted, what defaults apply, and where errors point.

use super::*;

fn parse(text: &str) -> Result<Scenario> {
    Scenario::parse(Path::new("s.toml"), text)
}

fn error(text: &str) -> String {
    match parse(text) {
        Err(Error::Invalid(message)) => message,
        other => panic!("expected an invalid scenario, got {other:?}"),
    }
}

#[test]
fn a_minimal_scenario_gets_the_defaults() {
    let s = parse("name = \"m\"\n").unwrap();
    assert_eq!(s.cluster.brokers, 3);
    assert_eq!(s.topic.replication_factor, 3);
    assert_eq!(s.workload.duration, std::time::Duration::from_secs(30));
    assert_eq!(s.workload.key_routing, KeyRouting::RoundRobin);
    assert_eq!(s.matrix.cells().len(), 1);
    assert_eq!(s.default_fault, None);
}

const CLAIMS: &str = r#"
name = "claims"
seed = 42
[cluster]
brokers = 3
[cluster.broker_config]
"min.insync.replicas" = 2
[workload]
producers = 2
consumers = 2
duration = "40s"
processing = "2ms"
processing_buffer = 100
key_routing = "partition:2"
[producer]
"linger.ms" = 5
"batch.num.messages" = 1000
[consumer]
"session.timeout.ms" = 10000
[matrix]
fault = ["leader-kill", "none"]
acks = ["0", "1", "all"]
"enable.idempotence" = [false, true]
commit = ["auto", "manual-sync"]
exclude = [ { acks = "0", "enable.idempotence" = true }, { acks = 1, "enable.idempotence" = "true" } ]
[faults.leader-kill]
steps = [
  { at = "10s", action = "pause", target = "followers:0", heal_after = "5s" },
  { at = "12s", action = "kill", target = "leader:0", heal_after = "15s" },
]
[[expect]]
when = { acks = "all", "enable.idempotence" = true }
claim = "safe"
lost = 0
duplicated = { max = 0 }
[[expect]]
when = { commit = "manual-sync" }
unconsumed = 0
redelivered = { min = 1, max = 1000 }
"#;

#[test]
fn a_full_scenario_resolves() {
    let s = parse(CLAIMS).unwrap();
    assert_eq!(s.seed, 42);
    assert_eq!(s.workload.processing, std::time::Duration::from_millis(2));
    assert_eq!(s.workload.key_routing, KeyRouting::Partition(2));
    assert_eq!(s.producer["batch.num.messages"], "1000");
    assert_eq!(s.cluster.broker_config["min.insync.replicas"], "2");
    let keys: Vec<&str> = s.matrix.axes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        ["fault", "acks", "enable.idempotence", "commit"],
        "file order, not sorted"
    );
    assert_eq!(s.matrix.axes[2].values, ["false", "true"]);
    assert_eq!(s.matrix.cells().len(), 16);
    let steps = &s.faults["leader-kill"].steps;
    assert_eq!((steps[0].at_ms, steps[0].target), (10_000, FaultTarget::Followers(0)));
    assert_eq!(steps[1].planned_heal_ms(), Some(27_000));
    assert_eq!(s.expectations.len(), 2);
    let rules: Vec<String> = s.expectations[1].rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(rules, ["unconsumed = 0", "1 <= redelivered <= 1000"]);
    assert_eq!(s.expectations[0].rules[1].source, "s.toml:35:1");
    assert_eq!(s.expectations[0].claim.as_deref(), Some("safe"));
}

#[test]
fn one_schedule_applies_to_every_cell_and_none_means_none() {
    let one =
        parse("name = \"x\"\n[faults.crash]\nsteps = [ { at = \"1s\", action = \"kill\", target = \"broker:1\" } ]\n")
            .unwrap();
    assert_eq!(one.default_fault.as_deref(), Some("crash"));
    assert_eq!(one.fault_of(&Default::default()).unwrap().name, "crash");
    let picked = parse(CLAIMS).unwrap();
    let config: std::collections::BTreeMap<String, String> =
        [("fault".to_string(), "none".to_string())].into_iter().collect();
    assert!(picked.fault_of(&config).is_none());
    assert_eq!(picked.fault_name(&config), "none");
    let none = parse("name = \"x\"\n").unwrap();
    assert!(none.fault_of(&Default::default()).is_none());
}

#[test]
fn two_schedules_need_a_fault_key() {
    let e = error("name = \"x\"\n[faults.a]\nsteps = []\n[faults.b]\nsteps = []\n");
    assert_eq!(
        e,
        "s.toml:4:9: 2 fault schedules are defined but the matrix has no fault key to pick one; add fault = [\"a\", \"b\"] to [matrix]"
    );
}

#[test]
fn values_become_their_string_forms() {
    let s = parse(
        "name = \"x\"\n[producer]\n\"linger.ms\" = 0.5\n\"enable.idempotence\" = true\n\"batch.size\" = 1000\n\"compression.type\" = \"lz4\"\n",
    )
    .unwrap();
    assert_eq!(s.producer["linger.ms"], "0.5");
    assert_eq!(s.producer["enable.idempotence"], "true");
    assert_eq!(s.producer["batch.size"], "1000");
    assert_eq!(s.producer["compression.type"], "lz4");
}

#[test]
fn the_default_replication_factor_fits_the_cluster() {
    let s = parse("name = \"x\"\n[cluster]\nbrokers = 1\n").unwrap();
    assert_eq!(s.topic.replication_factor, 1);
}

#[test]
fn a_topic_override_below_the_replication_factor_wins_over_the_brokers() {
    let text = "name = \"x\"\n[cluster.broker_config]\n\"min.insync.replicas\" = 3\n[topic]\nreplication_factor = 2\n[topic.config]\n\"min.insync.replicas\" = 1\n";
    assert!(parse(text).is_ok());
    let e =
        error("name = \"x\"\n[cluster.broker_config]\n\"min.insync.replicas\" = 3\n[topic]\nreplication_factor = 2\n");
    assert!(
        e.starts_with("s.toml:3:25: min.insync.replicas 3 ([cluster.broker_config]) is above the replication factor 2"),
        "{e}"
    );
}

#[test]
fn idempotence_conflicts_point_at_the_value_to_change() {
    let e = error("name = \"x\"\n[producer]\nacks = \"1\"\n[matrix]\n\"enable.idempotence\" = [false, true]\n");
    assert!(
        e.starts_with("s.toml:5:32: acks = \"1\" cannot be combined with enable.idempotence = true"),
        "{e}"
    );
    let e = error(
        "name = \"x\"\n[matrix]\nacks = [\"all\"]\n\"max.in.flight\" = [5, 10]\n\"enable.idempotence\" = [true]\n",
    );
    assert!(
        e.starts_with("s.toml:4:23: max.in.flight = \"10\" cannot be combined"),
        "{e}"
    );
    assert!(parse("name = \"x\"\n[matrix]\nacks = [\"-1\"]\n\"enable.idempotence\" = [true]\n").is_ok());
}

#[test]
fn selectors_compare_canonical_values() {
    let s = parse("name = \"x\"\n[matrix]\nacks = [\"1\", \"-1\"]\n[[expect]]\nwhen = { acks = \"all\" }\nlost = 0\n")
        .unwrap();
    assert_eq!(s.expectations[0].when.to_string(), "acks=all");
    let cells = s.matrix.cells();
    assert!(!s.expectations[0].when.matches(&cells[0]));
    assert!(s.expectations[0].when.matches(&cells[1]));
}

#[test]
fn invalid_scenarios_say_where_and_what_to_do() {
    let cases = [
        ("name = \"a b\"\n", "s.toml:1:8: name must be non-empty and use only letters"),
        ("name = \"x\"\nrepeat = 0\n", "s.toml:2:10: repeat must be at least 1"),
        ("name = \"x\"\n[cluster]\nbrokers = 10\n", "s.toml:3:11: brokers must be between 1 and 9; found 10"),
        ("name = \"x\"\n[topic]\npartitions = 2\n[workload]\nkey_routing = \"partition:2\"\n", "s.toml:5:15: key_routing partition 2 is out of range: partitions are 0..=1"),
        ("name = \"x\"\n[workload]\nkey_routing = \"sticky\"\n", "s.toml:3:15: key_routing must be"),
        ("name = \"x\"\n[workload]\nconsumers = 0\n[matrix]\ncommit = [\"auto\"]\n", "s.toml:5:1: commit needs consumers"),
        ("name = \"x\"\n[matrix]\ncommit = [\"sync\"]\n", "s.toml:3:11: commit must be one of auto, auto-store-after-process"),
        ("name = \"x\"\n[matrix]\nacks = [\"all\", -1]\n", "s.toml:3:16: acks lists -1 twice"),
        ("name = \"x\"\n[matrix]\nacks = [\"1\"]\n\"producer:acks\" = [\"all\"]\n", "s.toml:4:1: matrix keys \"acks\" and \"producer:acks\" set the same property"),
        ("name = \"x\"\n[matrix]\nacks = [\"0\"]\nexclude = [ { acks = 0 } ]\n", "s.toml:4:11: exclude removes every cell"),
        ("name = \"x\"\n[matrix]\nacks = [\"0\"]\nexclude = [ { acks = 1 } ]\n", "s.toml:4:22: exclude acks = 1 matches no value of the matrix; acks takes \"0\""),
        ("name = \"x\"\n[matrix]\nacks = [\"0\", \"all\"]\n\"enable.idempotence\" = [false, true]\nexclude = [ { acks = \"0\", \"enable.idempotence\" = true } ]\n[[expect]]\nwhen = { acks = \"0\", \"enable.idempotence\" = true }\nlost = 0\n", "s.toml:7:8: when { acks=0, enable.idempotence=true } selects no cell"),
        ("name = \"x\"\n[[expect]]\nlost = { min = 2, max = 1 }\n", "s.toml:3:8: lost: min 2 is above max 1"),
        ("name = \"x\"\n[[expect]]\nlost = { least = 1 }\n", "s.toml:3:8: unknown bound `least`"),
        ("name = \"x\"\n[[expect]]\nlost = -1\n", "s.toml:3:8: a count is never negative"),
        ("name = \"x\"\n[[expect]]\nclaim = \"c\"\n", "s.toml:2:1: this expectation has no count to check"),
        ("name = \"x\"\n[faults.none]\nsteps = []\n", "s.toml:2:9: \"none\" means no faults"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { at = \"1s\", action = \"isolate\", target = \"producer:0\" } ]\n", "s.toml:3:53: isolate \"producer:0\": clients run on this machine and cannot be isolated"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { at = \"1s\", action = \"kill\", target = \"leader\" } ]\n", "s.toml:3:50: fault target \"leader\" needs an index, e.g. leader:0"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { at = \"1s\", action = \"kill\", target = \"broker:1\", heal_after = \"0s\" } ]\n", "s.toml:3:75: heal_after must be longer than 0s"),
        ("name = \"x\"\n[topic]\nreplication_factor = 1\n[faults.a]\nsteps = [ { at = \"1s\", action = \"pause\", target = \"followers:0\" } ]\n", "s.toml:5:51: fault target \"followers:0\" has no followers"),
        ("name = \"x\"\n[consumer]\n\"enable.auto.commit\" = false\n", "s.toml:3:1: \"enable.auto.commit\" is set by the commit mode"),
        ("name = \"x\"\n[producer]\n\"bootstrap.servers\" = \"a:9092\"\n", "s.toml:3:1: \"bootstrap.servers\" is set by the harness"),
        ("name = \"x\"\n[producer]\n\"dr_cb\" = \"x\"\n", "s.toml:3:1: \"dr_cb\" can only be set through librdkafka's API"),
        ("name = \"x\"\n[topic.config]\n\"replica.lag.time.max.ms\" = 1\n", "s.toml:3:1: unknown topic config \"replica.lag.time.max.ms\" (it is a broker config: put it in [cluster.broker_config])"),
        ("name = \"x\"\n[cluster.broker_config]\n\"offsets.topic.replication.factor\" = 5\n", "s.toml:3:38: offsets.topic.replication.factor 5 is above the broker count 3"),
        ("name = \"x\"\n[matrix]\n\"isolation.level\" = [\"read_everything\"]\n", "s.toml:3:22: isolation.level must be one of read_uncommitted, read_committed"),
        ("name = \"x\"\n[matrix]\n\"linger.ms\" = [\"soon\"]\n", "s.toml:3:16: linger.ms must be a number"),
        ("name = \"x\"\n[matrix]\n\"cluster:linger.ms\" = [1]\n", "s.toml:3:1: unknown layer \"cluster\""),
        ("name = \"x\"\n[matrix]\nacks = [[\"1\"]]\n", "s.toml:3:9: invalid type: sequence, expected a string, integer, float or boolean"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { at = \"5s\", action = \"kill\", target = \"broker:1\" },\n  { at = \"2s\", action = \"kill\", target = \"broker:2\" } ]\n", "s.toml:4:10: step 2 is set at 2s, before step 1 (5s); steps run in file order"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"broker:1\", after_heal = true } ]\n", "s.toml:3:64: the first step has no previous step whose heal it could wait for"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"broker:1\", heal_after_next = true } ]\n", "s.toml:3:69: the last step has no next step to heal with"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"broker:1\", within = \"5s\" } ]\n", "s.toml:3:60: within bounds the wait for `when` or `after_heal`"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"broker:1\", when = { acked = 10 } } ]\n", "s.toml:3:58: acked needs a partition: add partition = P"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"leader:0\", when = { acked = 10, committed_not_processed = 5 } } ]\n", "s.toml:3:98: when takes one condition; committed_not_processed is a second one"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"leader:0\", when = { acked = 0 } } ]\n", "s.toml:3:68: acked must be at least 1"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"leader:0\", when = { processed_not_committed = 5, consumer = 3 } } ]\n", "s.toml:3:100: consumer 3 is out of range: consumers are 0..=0"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"leader:0\", when = { acked = 5, consumer = 0 } } ]\n", "s.toml:3:82: acked counts writes to a partition; give partition = P"),
        ("name = \"x\"\n[faults.a]\nsteps = [ { action = \"kill\", target = \"leader:0\", when = { sent = 5 } } ]\n", "s.toml:3:60: unknown key `sent`"),
        ("[cluster]\nbrokers = 3\n", "s.toml:1:1: missing key `name`"),
        ("name = \"x\"\n[cluster\n", "s.toml:2:9: invalid TOML: unclosed table"),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(
            e.starts_with(expected),
            "for {text:?}\n  got: {e}\n want: {expected}..."
        );
    }
}

#[test]
fn triggers_take_what_they_watch_from_the_target_and_steps_keep_file_order() {
    let s = parse(
        r#"
name = "x"
[workload]
consumers = 2
[faults.a]
steps = [
  { at = "10s", action = "pause", target = "followers:1", heal_after_next = true },
  { action = "kill", target = "leader:1", when = { acked = 500 }, within = "15s", heal_after = "5s" },
  { action = "kill", target = "consumer:1", when = { committed_not_processed = 200 }, after_heal = true },
  { at = "20s", action = "stop", target = "broker:2", when = { processed_not_committed = 7, consumer = 0 } },
]
"#,
    )
    .unwrap();
    let steps = &s.faults["a"].steps;
    assert_eq!(steps[1].at_ms, 10_000, "no `at`: right after the step before");
    assert_eq!(steps[1].when, Some(Trigger::Acked { count: 500, partition: 1 }));
    assert_eq!(steps[1].within_ms, 15_000);
    assert_eq!(steps[2].when, Some(Trigger::CommittedNotProcessed { count: 200, consumer: 1 }));
    assert!(steps[2].after_heal && steps[2].within_ms == 60_000);
    assert_eq!(steps[3].when, Some(Trigger::ProcessedNotCommitted { count: 7, consumer: 0 }));
    assert!(steps[0].heal_after_next && steps[0].heal_after_ms.is_none());
}

#[test]
fn a_missing_file_is_invalid_input() {
    let Err(Error::Invalid(e)) = Scenario::load(Path::new("no/such/file.toml")) else {
        panic!()
    };
    assert!(e.starts_with("cannot read scenario no/such/file.toml: "), "{e}");
}

#[test]
fn client_tables_are_checked_by_each_clients_own_names() {
    let cases = [
        ("name = \"x\"\n[producer.sarama]\n\"Producer.Retry.Maxx\" = 3\n", "s.toml:3:1: \"Producer.Retry.Maxx\" is not a sarama setting"),
        ("name = \"x\"\n[producer.sarama]\n\"Producer.Retry.Backoff\" = 100\n", "s.toml:3:28: Producer.Retry.Backoff = \"100\": not a duration"),
        ("name = \"x\"\n[producer.java]\nacks = \"all\"\n", "s.toml:3:1: acks is set by the harness for every java cell; use the common key `acks`"),
        ("name = \"x\"\n[consumer.java]\n\"linger.ms\" = 5\n", "s.toml:3:1: \"linger.ms\" is not a kafka-clients consumer setting in [consumer.java]; it is a producer setting"),
        ("name = \"x\"\n[producer.kafka]\n\"a\" = 1\n", "s.toml:2:11: [producer.kafka] is not a client's table; clients are rdkafka, sarama, java"),
        ("name = \"x\"\n[matrix]\nclient = [\"rdkafka\", \"sarama\"]\ncommit = [\"auto\"]\n", "s.toml:4:11: client sarama cannot commit auto"),
        ("name = \"x\"\n[matrix]\nclient = [\"java\"]\n\"linger.ms\" = [5, 50]\n", "s.toml:4:1: matrix key linger.ms is a librdkafka setting, but cells with client = \"java\" would not use it"),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(got.starts_with(want), "for {text:?}\n got: {got}\nwant: {want}");
    }
}

const EXTERNAL: &str = r#"name = "x"
[cluster]
kind = "external"
bootstrap = "kafka-1:9092"
[cluster.hooks]
kill = "ssh {host} sudo systemctl kill -s KILL kafka"
restart = "ssh {host} sudo systemctl start kafka"
[cluster.nodes.1]
host = "kafka-1"
[cluster.nodes.2]
host = "kafka-2"
[cluster.nodes.3]
host = "kafka-3"
"#;

#[test]
fn an_external_cluster_names_its_brokers_and_offers_what_it_has_hooks_for() {
    let s = parse(&format!("{EXTERNAL}[faults.k]\nsteps = [ {{ action = \"kill\", target = \"leader:0\" }} ]\n")).unwrap();
    let external = s.cluster.external.as_ref().expect("external");
    assert_eq!(external.bootstrap, "kafka-1:9092");
    assert_eq!(external.topic_prefix, "kc-");
    assert_eq!(s.cluster.broker_ids(), vec![1, 2, 3]);
    assert!(s.cluster.can(Ability::Kill) && s.cluster.can(Ability::Restart));
    assert!(!s.cluster.can(Ability::Pause));
    assert_eq!(s.topic.replication_factor, 3);
}

#[test]
fn a_step_whose_hook_is_missing_is_rejected_where_its_action_is() {
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{EXTERNAL}[faults.p]\nsteps = [ {{ action = \"pause\", target = \"followers:0\" }} ]\n"),
            "s.toml:15:22: pause needs a `pause` hook, and [cluster.hooks] has none",
        ),
        (
            format!("{EXTERNAL}[faults.b]\nsteps = [ {{ action = \"kill\", target = \"broker:4\" }} ]\n"),
            "s.toml:15:39: fault target \"broker:4\" is out of range: brokers are 1..=3",
        ),
        (
            EXTERNAL.replace("kafka-3\"\n", "kafka-3\"\n[cluster.broker_config]\n\"min.insync.replicas\" = 2\n"),
            "s.toml:15:1: broker_config cannot be set for an external cluster",
        ),
        (
            EXTERNAL.replace("[cluster.nodes.3]\nhost = \"kafka-3\"", "[cluster.nodes.3]\nhostname = \"kafka-3\""),
            "s.toml:6:8: {host} is not defined for every node",
        ),
        (EXTERNAL.replace("kill = ", "freeze = "), "s.toml:6:1: unknown hook \"freeze\""),
        (EXTERNAL.replace("bootstrap = \"kafka-1:9092\"\n", ""), "s.toml:2:1: an external cluster needs bootstrap"),
        (EXTERNAL.replace("kind = \"external\"", "kind = \"k8s\""), "s.toml:3:8: unknown cluster kind \"k8s\""),
        (
            "name = \"x\"\n[cluster]\nbootstrap = \"a:9092\"\n".to_string(),
            "s.toml:3:13: bootstrap is for kind = \"external\" clusters",
        ),
        (
            format!("{EXTERNAL}[matrix]\nkafka_version = [\"3.9.1\", \"4.4.0\"]\n"),
            "s.toml:15:1: broker settings and versions cannot vary on an external cluster",
        ),
        ("name = \"x\"\n[matrix]\nkafka_version = [\"3.8.0\"]\n".to_string(), "s.toml:3:18: kafka_version \"3.8.0\" is not one the harness runs"),
        (
            format!("{EXTERNAL}[matrix]\n\"broker:log.flush.interval.messages\" = [1]\n"),
            "s.toml:15:1: broker settings and versions cannot vary on an external cluster",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .map(|(text, expected)| (error(text), expected))
        .filter(|(e, expected)| !e.starts_with(*expected))
        .map(|(e, expected)| format!("  got: {e}\n want: {expected}..."))
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn security_is_read_with_the_password_left_to_the_environment() {
    let scram = "[cluster.security]\nprotocol = \"SASL_PLAINTEXT\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nusername = \"chaos\"\npassword_env = \"KC_PW\"\n";
    let s = parse(&format!("{EXTERNAL}{scram}")).unwrap();
    let security = s.cluster.external.as_ref().unwrap().security.clone().expect("security");
    assert_eq!(security.protocol, crate::model::security::SecurityProtocol::SaslPlaintext);
    let sasl = security.sasl.as_ref().unwrap();
    assert_eq!((sasl.username.as_str(), sasl.password_env.as_str()), ("chaos", "KC_PW"));
    // The plan (written to every report) holds the variable's name, never a password.
    assert!(serde_json::to_string(&s.cluster).unwrap().contains("\"password_env\":\"KC_PW\""));
    let cases = [
        (format!("{EXTERNAL}{}", scram.replace("SASL_PLAINTEXT", "SASL")), "s.toml:15:12: unknown security protocol \"SASL\""),
        (format!("{EXTERNAL}{}", scram.replace("SCRAM-SHA-512", "GSSAPI")), "s.toml:16:18: unknown SASL mechanism \"GSSAPI\""),
        (format!("{EXTERNAL}{}", scram.replace("password_env = \"KC_PW\"\n", "")), "s.toml:14:1: protocol SASL_PLAINTEXT needs password_env"),
        (format!("{EXTERNAL}{}", scram.replace("SASL_PLAINTEXT", "SSL")), "s.toml:16:18: sasl_mechanism is for SASL"),
        (format!("{EXTERNAL}{scram}ca_file = \"ca.pem\"\n"), "s.toml:19:11: ca_file is for TLS"),
        (format!("{EXTERNAL}{}ca_file = \"no-such.pem\"\n", scram.replace("SASL_PLAINTEXT", "SASL_SSL")), "s.toml:19:11: no file at"),
        (format!("{EXTERNAL}{}", scram.replace("KC_PW", "KC PW")), "s.toml:18:16: password_env is the name of an environment variable"),
        ("name = \"x\"\n[cluster.security]\nprotocol = \"SSL\"\n".to_string(), "s.toml:2:1: security is for kind = \"external\" clusters"),
    ];
    for (text, expected) in cases {
        let e = error(&text);
        assert!(e.starts_with(expected), "for {text:?}\n  got: {e}\n want: {expected}...");
    }
}

#[test]
fn workers_launched_elsewhere_cannot_take_client_faults() {
    let launched = "name = \"x\"\n[workload]\nlaunch = \"ssh loadgen-1 {command}\"\n";
    let s = parse(&format!("{launched}[faults.k]\nsteps = [ {{ action = \"kill\", target = \"leader:0\" }} ]\n")).unwrap();
    assert_eq!(s.workload.launch.as_deref(), Some("ssh loadgen-1 {command}"));
    let cases = [
        (format!("{launched}[faults.k]\nsteps = [ {{ action = \"kill\", target = \"consumer:0\" }} ]\n"), "s.toml:5:39: kill consumer:0: workers are started through launch"),
        (
            format!("{launched}[faults.k]\nsteps = [ {{ action = \"kill\", target = \"leader:0\", when = {{ committed_not_processed = 5, consumer = 0 }} }} ]\n"),
            "s.toml:5:58: a condition on a consumer freezes it",
        ),
        ("name = \"x\"\n[workload]\nlaunch = \"ssh {host} {command}\"\n".to_string(), "s.toml:3:10: launch must contain {command} once"),
        ("name = \"x\"\n[workload]\nlaunch = \"ssh loadgen-1\"\n".to_string(), "s.toml:3:10: launch must contain {command} once"),
    ];
    for (text, expected) in cases {
        let e = error(&text);
        assert!(e.starts_with(expected), "for {text:?}\n  got: {e}\n want: {expected}...");
    }
}
