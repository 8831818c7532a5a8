//! The plan of a run: every cell of a scenario, fully resolved, so that the runner only executes
//! and `plan.json` alone says what was run. Fault steps stay data with symbolic targets
//! (`leader:0`), resolved against the live cluster at run time; only `random-broker` is drawn here,
//! from the seed, so the same seed gives the same plan.

use crate::error::{Error, Result};
use crate::scenario::{
    ClientKind, Cluster, CommitMode, FaultStep, FaultTarget, Layer, Rule, Scenario, Selector, Topic, Workload, NO_FAULT,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub use crate::scenario::{evaluate, ExpectationResult};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    /// How many times each cell runs; each run is its own `Cell` with its own `repetition`.
    pub repeat: u32,
    pub cluster: Cluster,
    pub topic: Topic,
    pub workload: Workload,
    /// The matrix keys in file order, with the layer each goes to.
    pub keys: Vec<PlanKey>,
    /// In run order: the matrix order (first key slowest), all cells once, then again per repetition.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanKey {
    pub key: String,
    pub layer: Layer,
}

/// One run of one combination of matrix values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Readable, unique within the plan, and safe as a file name:
    /// `acks-all_idem-true_commit-manual-sync_leader-kill` (`_r2` appended per repetition when
    /// repeating).
    pub id: String,
    /// Position among the scenario's cells (0-based), unchanged by `--only` and repetitions.
    pub index: usize,
    /// 1..=repeat.
    pub repetition: u32,
    /// This cell's value of every matrix key.
    pub config: BTreeMap<String, String>,
    /// The client's own producer settings by its own names: for rdkafka, `[producer]` overridden by
    /// the matrix (less `acks` and `enable.idempotence`, which are `acks` and `idempotence`).
    pub producer: BTreeMap<String, String>,
    /// The client's own consumer settings: for rdkafka, `[consumer]` overridden by the matrix.
    pub consumer: BTreeMap<String, String>,
    /// Topic configs for topic creation: `[topic.config]` overridden by the matrix.
    pub topic: BTreeMap<String, String>,
    /// Broker settings: `[cluster.broker_config]` overridden by the matrix. Cells whose broker
    /// settings differ need a cluster started with their own.
    pub broker: BTreeMap<String, String>,
    /// The client library of the cell's producers and consumers.
    #[serde(default = "default_client")]
    pub client: ClientKind,
    /// The brokers' Kafka version (cells of another version get a cluster of their own); empty
    /// for an external cluster.
    #[serde(default)]
    pub kafka_version: String,
    /// `0`, `1` or `all` (the common `acks` key); None: the client's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<String>,
    /// The common `enable.idempotence` key; None: the client's own default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotence: Option<bool>,
    pub commit: CommitMode,
    /// What its consumers and final reader read (the matrix's `isolation`, else the
    /// workload's); None: each client's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<crate::model::Isolation>,
    /// The schedule's name, `none` for no faults.
    pub fault: String,
    /// The schedule's steps by time; `random-broker` already drawn (see `FaultStep::drawn_from`).
    pub faults: Vec<FaultStep>,
    /// The expectation rules whose `when` selects this cell, in file order.
    pub expectations: Vec<Rule>,
}

impl Cell {
    /// Whether `other` can run on the cluster this cell ran on: the same broker settings and
    /// Kafka version.
    pub fn same_cluster(&self, other: &Cell) -> bool {
        self.broker == other.broker
            && self.kafka_version == other.kafka_version
            && self.needs_forgetful_disk() == other.needs_forgetful_disk()
    }

    /// Whether a step cuts a broker's power (or is its control): the brokers' log directories
    /// must then sit on the filesystem that can forget.
    pub fn needs_forgetful_disk(&self) -> bool {
        self.faults.iter().any(|s| s.action.needs_forgetful_disk())
    }
}

fn default_client() -> ClientKind {
    ClientKind::DEFAULT
}

/// Fixed costs per cell and per cluster start, measured roughly on a 2-core machine.
pub const TOPIC_SETUP: Duration = Duration::from_secs(10);
pub const CLUSTER_START: Duration = Duration::from_secs(30);
/// Consumers with spare capacity still need a moment to read the tail of the log.
const DRAIN_TAIL: Duration = Duration::from_secs(2);

/// How long a plan should take, for `check` and progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub cells: usize,
    pub run: Duration,
    /// Expected drain per cell: the backlog the consumers build up, capped by `drain_timeout`.
    pub drain: Duration,
    pub settle: Duration,
    pub setup: Duration,
    /// Cluster starts: one, plus one whenever the broker settings change from a cell to the next.
    pub cluster_starts: usize,
    pub total: Duration,
    /// If every drain ran into `drain_timeout`.
    pub worst: Duration,
}

impl Plan {
    /// Expand a checked scenario into cells, `repeat` times each.
    pub fn new(scenario: &Scenario, repeat: u32) -> Plan {
        let repeat = repeat.max(1);
        let configs = scenario.matrix.cells();
        let base_ids: Vec<String> = unique(configs.iter().map(|c| cell_id(scenario, c)).collect());
        let mut cells = Vec::with_capacity(configs.len() * repeat as usize);
        for repetition in 1..=repeat {
            for (index, (config, base_id)) in configs.iter().zip(&base_ids).enumerate() {
                let id = if repeat > 1 {
                    format!("{base_id}_r{repetition}")
                } else {
                    base_id.clone()
                };
                cells.push(cell(scenario, index, repetition, id, config));
            }
        }
        Plan {
            scenario: scenario.name.clone(),
            description: scenario.description.clone(),
            seed: scenario.seed,
            repeat,
            cluster: scenario.cluster.clone(),
            topic: scenario.topic.clone(),
            workload: scenario.workload.clone(),
            keys: scenario
                .matrix
                .axes
                .iter()
                .map(|a| PlanKey {
                    key: a.key.clone(),
                    layer: a.layer,
                })
                .collect(),
            cells,
        }
    }

    /// The cells `--only FILTER` selects: `key=value[,key=value]` matches matrix values (as
    /// `when` does), anything else is a substring of the cell id. Selecting nothing is an error
    /// that lists the ids.
    pub fn filter(&self, only: &str) -> Result<Plan> {
        let only = only.trim();
        let cells: Vec<Cell> = if only.contains('=') {
            let selector = self.selector(only)?;
            self.cells
                .iter()
                .filter(|c| selector.matches(&c.config))
                .cloned()
                .collect()
        } else {
            self.cells.iter().filter(|c| c.id.contains(only)).cloned().collect()
        };
        if cells.is_empty() {
            return Err(Error::Invalid(format!(
                "--only {only:?} matches no cell; cells are: {}",
                self.cells.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Plan { cells, ..self.clone() })
    }

    fn selector(&self, only: &str) -> Result<Selector> {
        let mut pairs = BTreeMap::new();
        for pair in only.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(Error::Invalid(format!(
                    "--only {only:?}: \"{pair}\" is not key=value; write e.g. --only acks=all,commit=manual-sync"
                )));
            };
            let key = key.trim();
            if !self.keys.iter().any(|k| k.key == key) {
                let keys: Vec<&str> = self.keys.iter().map(|k| k.key.as_str()).collect();
                return Err(Error::Invalid(format!(
                    "--only {only:?}: \"{key}\" is not a matrix key; matrix keys are: {}",
                    if keys.is_empty() {
                        "(none)".to_string()
                    } else {
                        keys.join(", ")
                    }
                )));
            }
            pairs.insert(key.to_string(), value.trim().to_string());
        }
        Ok(Selector(pairs))
    }

    pub fn estimate(&self) -> Estimate {
        let w = &self.workload;
        // The slowest commit mode of the plan sets the drain.
        let drain = self.cells.iter().map(|c| expected_drain(w, c.commit)).max().unwrap_or(Duration::ZERO);
        let mut cluster_starts = 0;
        let mut previous: Option<&Cell> = None;
        for cell in &self.cells {
            // A cell after a power cut gets a new cluster too (run.rs).
            if previous.is_none_or(|p| !p.same_cluster(cell) || p.needs_forgetful_disk()) {
                cluster_starts += 1;
            }
            previous = Some(cell);
        }
        let n = self.cells.len() as u32;
        let fixed = CLUSTER_START * cluster_starts as u32;
        let per_cell = w.duration + w.settle + TOPIC_SETUP;
        Estimate {
            cells: self.cells.len(),
            run: w.duration,
            drain,
            settle: w.settle,
            setup: TOPIC_SETUP,
            cluster_starts,
            total: (per_cell + drain) * n + fixed,
            worst: (per_cell + w.drain_timeout) * n + fixed,
        }
    }
}

/// The consumers' backlog at the end of the run, over their capacity (processing and, in
/// `commit` mode, committing), capped by the timeout.
fn expected_drain(w: &Workload, commit: CommitMode) -> Duration {
    if w.consumers == 0 {
        return Duration::ZERO;
    }
    let Some(capacity) = w.consumer_capacity_with(commit) else {
        return DRAIN_TAIL.min(w.drain_timeout);
    };
    if w.rate == 0 {
        return w.drain_timeout;
    }
    let backlog = (w.rate as f64 - capacity).max(0.0) * w.duration.as_secs_f64();
    (Duration::from_secs_f64(backlog / capacity) + DRAIN_TAIL).min(w.drain_timeout)
}

fn cell(scenario: &Scenario, index: usize, repetition: u32, id: String, config: &BTreeMap<String, String>) -> Cell {
    let mut producer = scenario.producer.clone();
    let mut consumer = scenario.consumer.clone();
    let mut topic = scenario.topic.config.clone();
    let mut broker = scenario.cluster.broker_config.clone();
    for axis in &scenario.matrix.axes {
        let value = config[&axis.key].clone();
        if axis.layer.goes_to_producer() {
            producer.insert(axis.name.clone(), value.clone());
        }
        if axis.layer.goes_to_consumer() {
            consumer.insert(axis.name.clone(), value.clone());
        }
        match axis.layer {
            Layer::Topic => {
                topic.insert(axis.name.clone(), value);
            }
            Layer::Broker => {
                broker.insert(axis.name.clone(), value);
            }
            _ => {}
        }
    }
    let commit = scenario.commit_of(config);
    let isolation = scenario.isolation_of(config);
    let client = scenario.client_of(config);
    let kafka_version = scenario.kafka_version_of(config);
    // The common keys, in every client's terms; the rest of [producer] is librdkafka's.
    let acks = ["acks", "request.required.acks"]
        .iter()
        .find_map(|k| producer.remove(*k))
        .map(|v| crate::scenario::property::canonical("acks", &v));
    let idempotence = producer.remove("enable.idempotence").and_then(|v| crate::scenario::property::parse_bool(&v));
    producer.remove("request.required.acks");
    // Other clients get their own tables; the plain keys of [producer] are librdkafka's.
    if client != ClientKind::Rdkafka {
        let own = scenario.clients.get(&client).cloned().unwrap_or_default();
        producer = own.producer;
        consumer = own.consumer;
    }
    let fault = scenario.fault_name(config);
    let faults = scenario
        .fault_of(config)
        .map(|f| draw_targets(&f.name, &f.steps, scenario.seed, repetition, &scenario.cluster.broker_ids()))
        .unwrap_or_default();
    let expectations = scenario
        .expectations
        .iter()
        .filter(|e| e.when.matches(config))
        .flat_map(|e| e.rules.iter().cloned())
        .collect();
    Cell {
        id,
        index,
        repetition,
        config: config.clone(),
        producer,
        consumer,
        topic,
        broker,
        client,
        kafka_version,
        isolation,
        acks,
        idempotence,
        commit,
        fault,
        faults,
        expectations,
    }
}

/// Draw every `random-broker` of a schedule. The draw depends on the seed, the schedule, the step
/// and the repetition, not on the cell: cells that differ only in client settings face the same
/// broker failing, and `--only` does not change what a cell draws.
fn draw_targets(schedule: &str, steps: &[FaultStep], seed: u64, repetition: u32, brokers: &[u32]) -> Vec<FaultStep> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            if step.target != FaultTarget::RandomBroker {
                return step.clone();
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream_of(schedule, i, repetition));
            // Index into the ids: for 1..=N, the same draw as before external clusters.
            let broker = brokers[rng.gen_range(1..=brokers.len()) - 1];
            FaultStep {
                target: FaultTarget::Broker(broker),
                drawn_from: Some(FaultTarget::RandomBroker),
                ..step.clone()
            }
        })
        .collect()
}

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn stream_of(schedule: &str, step: usize, repetition: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = schedule
        .bytes()
        .chain([0])
        .chain((step as u64).to_le_bytes())
        .chain(repetition.to_le_bytes());
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Short names for the keys users vary most, so ids stay readable.
const SHORT_KEYS: &[(&str, &str)] = &[
    ("enable.idempotence", "idem"),
    ("kafka_version", "kafka"),
    ("request.required.acks", "acks"),
    ("max.in.flight.requests.per.connection", "inflight"),
    ("max.in.flight", "inflight"),
    ("min.insync.replicas", "minisr"),
    ("unclean.leader.election.enable", "unclean"),
    ("compression.type", "compression"),
    ("compression.codec", "compression"),
    ("isolation.level", "isolation"),
    ("linger.ms", "linger"),
    ("queue.buffering.max.ms", "linger"),
    ("auto.offset.reset", "reset"),
    ("replica.lag.time.max.ms", "lag"),
    ("enable.gapless.guarantee", "gapless"),
    ("partition.assignment.strategy", "assignor"),
    ("group.protocol", "protocol"),
    ("message.timeout.ms", "timeout"),
    ("delivery.timeout.ms", "timeout"),
];

/// `acks-all_idem-true_commit-manual-sync_leader-kill`: one part per matrix key in file order;
/// the fault part is the schedule's name alone (`no-fault` for none).
fn cell_id(scenario: &Scenario, config: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = scenario
        .matrix
        .axes
        .iter()
        .map(|axis| {
            let value = &config[&axis.key];
            if axis.key == "fault" {
                return if value == NO_FAULT {
                    "no-fault".to_string()
                } else {
                    file_safe(value)
                };
            }
            let (prefix, name) = match axis.key.split_once(':') {
                Some((layer, name)) => (format!("{layer}-"), name),
                None => (String::new(), axis.key.as_str()),
            };
            let short = SHORT_KEYS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, s)| *s)
                .unwrap_or(name);
            format!("{prefix}{}-{}", file_safe(short), file_safe(value))
        })
        .collect();
    if parts.is_empty() {
        "base".to_string()
    } else {
        parts.join("_")
    }
}

/// Letters, digits, '.' and '-' only: `_` separates parts, anything else could trouble a shell
/// or a file system.
fn file_safe(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        format!("v{safe}")
    } else {
        safe
    }
}

/// Make ids unique (values that differ only in unsafe characters) by numbering repeats.
fn unique(ids: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.into_iter()
        .map(|id| {
            let mut candidate = id.clone();
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{id}-{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SCENARIO: &str = r#"
name = "t"
seed = 7
[workload]
duration = "20s"
[matrix]
acks = ["0", "1", "all"]
"enable.idempotence" = [false, true]
fault = ["crash", "none"]
exclude = [ { acks = "0", "enable.idempotence" = true }, { acks = "1", "enable.idempotence" = true } ]
[faults.crash]
steps = [ { at = "2s", action = "pause", target = "followers:0", heal_after = "1s" },
          { at = "5s", action = "kill", target = "random-broker", heal_after = "5s" } ]
[[expect]]
when = { acks = "-1", "enable.idempotence" = true }
lost = 0
[[expect]]
when = { acks = "1", fault = "crash" }
lost = { min = 1 }
"#;

    fn scenario(text: &str) -> Scenario {
        Scenario::parse(Path::new("t.toml"), text).unwrap()
    }

    #[test]
    fn cells_are_the_product_minus_exclude_with_unique_ids() {
        let plan = Plan::new(&scenario(SCENARIO), 1);
        let ids: Vec<&str> = plan.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "acks-0_idem-false_crash",
                "acks-0_idem-false_no-fault",
                "acks-1_idem-false_crash",
                "acks-1_idem-false_no-fault",
                "acks-all_idem-false_crash",
                "acks-all_idem-false_no-fault",
                "acks-all_idem-true_crash",
                "acks-all_idem-true_no-fault",
            ]
        );
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
        let cell = &plan.cells[6];
        assert_eq!(cell.acks.as_deref(), Some("all"));
        assert_eq!(cell.idempotence, Some(true));
        assert!(!cell.producer.contains_key("acks"), "the common keys are the cell's own fields");
        assert_eq!(cell.client, ClientKind::Rdkafka);
        assert_eq!(cell.commit, CommitMode::Auto);
        assert_eq!(cell.fault, "crash");
        assert_eq!(cell.faults.len(), 2);
        assert_eq!(cell.faults[0].at_ms, 2_000, "steps in file order");
        assert_eq!(cell.expectations.len(), 1, "acks = -1 selects acks = all");
        assert_eq!(plan.cells[2].expectations[0].to_string(), "lost >= 1");
        assert!(plan.cells[3].expectations.is_empty());
        assert!(plan.cells[7].faults.is_empty());
    }

    #[test]
    fn random_broker_is_drawn_from_the_seed() {
        let s = scenario(SCENARIO);
        let drawn = |s: &Scenario| -> Vec<FaultTarget> {
            Plan::new(s, 3)
                .cells
                .iter()
                .filter(|c| c.fault == "crash")
                .map(|c| c.faults[1].target)
                .collect()
        };
        let first = drawn(&s);
        assert_eq!(first, drawn(&s), "same seed, same plan");
        assert!(first.iter().all(|t| matches!(t, FaultTarget::Broker(1..=3))));
        // Within a repetition every cell faces the same broker.
        let per_repetition: BTreeSet<Vec<FaultTarget>> = first.chunks(4).map(|c| c.to_vec()).collect();
        assert!(per_repetition.iter().all(|c| c.iter().all(|t| *t == c[0])));
        let other_seeds: BTreeSet<Vec<FaultTarget>> =
            (0..20).map(|seed| drawn(&Scenario { seed, ..s.clone() })).collect();
        assert!(other_seeds.len() > 1, "the seed changes the draw");
        let step = &Plan::new(&s, 1).cells[0].faults[1];
        assert_eq!(step.drawn_from, Some(FaultTarget::RandomBroker));
        assert_eq!(step.written_target().to_string(), "random-broker");
    }

    #[test]
    fn repetitions_get_their_own_ids() {
        let plan = Plan::new(&scenario(SCENARIO), 2);
        assert_eq!(plan.cells.len(), 16);
        assert_eq!(plan.cells[0].id, "acks-0_idem-false_crash_r1");
        assert_eq!(plan.cells[8].id, "acks-0_idem-false_crash_r2");
        assert_eq!(plan.cells[8].index, 0);
        assert_eq!(plan.cells[8].repetition, 2);
    }

    #[test]
    fn only_selects_by_id_or_by_values() {
        let plan = Plan::new(&scenario(SCENARIO), 1);
        assert_eq!(plan.filter("idem-true").unwrap().cells.len(), 2);
        let by_values = plan.filter("acks=-1, fault=none").unwrap();
        let ids: Vec<&str> = by_values.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["acks-all_idem-false_no-fault", "acks-all_idem-true_no-fault"]);
        let Err(Error::Invalid(e)) = plan.filter("acks-2") else {
            panic!()
        };
        assert!(
            e.starts_with("--only \"acks-2\" matches no cell; cells are: acks-0_idem-false_crash, "),
            "{e}"
        );
        let Err(Error::Invalid(e)) = plan.filter("linger.ms=5") else {
            panic!()
        };
        assert!(e.contains("\"linger.ms\" is not a matrix key"), "{e}");
    }

    #[test]
    fn ids_stay_file_safe_and_unique() {
        let s = scenario(
            "name = \"t\"\n[matrix]\n\"client.id\" = [\"a b\", \"a/b\", \".x\"]\n\"topic:compression.type\" = [\"lz4\"]\n",
        );
        let ids: Vec<String> = Plan::new(&s, 1).cells.into_iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "client.id-a-b_topic-compression-lz4",
                "client.id-a-b_topic-compression-lz4-2",
                "client.id-v.x_topic-compression-lz4"
            ]
        );
        assert_eq!(Plan::new(&scenario("name = \"t\"\n"), 1).cells[0].id, "base");
    }

    #[test]
    fn layers_get_their_settings() {
        let s = scenario(
            r#"
name = "t"
[cluster.broker_config]
"min.insync.replicas" = 2
[producer]
"linger.ms" = 5
acks = "1"
[matrix]
acks = ["all"]
"client.id" = ["x"]
"topic:min.insync.replicas" = [1]
"broker:replica.lag.time.max.ms" = [30000]
commit = ["manual-sync"]
"#,
        );
        let cell = &Plan::new(&s, 1).cells[0];
        assert_eq!(cell.acks.as_deref(), Some("all"), "the matrix overrides [producer]");
        assert_eq!(cell.producer["linger.ms"], "5");
        assert_eq!(cell.producer["client.id"], "x");
        assert_eq!(cell.consumer["client.id"], "x");

        assert_eq!(cell.topic["min.insync.replicas"], "1");
        assert_eq!(cell.broker["min.insync.replicas"], "2");
        assert_eq!(cell.broker["replica.lag.time.max.ms"], "30000");
        assert_eq!(cell.commit, CommitMode::ManualSync);
        assert_eq!(cell.fault, "none");
    }

    #[test]
    fn plans_round_trip_through_json() {
        let plan = Plan::new(&scenario(SCENARIO), 1);
        let json = serde_json::to_string_pretty(&plan).unwrap();
        assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), plan);
        assert!(json.contains("\"target\": \"followers:0\""));
    }

    #[test]
    fn estimates_count_backlog_and_cluster_starts() {
        let mut plan = Plan::new(&scenario(SCENARIO), 1);
        plan.workload.rate = 1000;
        plan.workload.consumers = 1;
        plan.workload.processing = Duration::from_millis(2); // 500/s: half the rate
        let e = plan.estimate();
        assert_eq!(e.cluster_starts, 1);
        // 20 s at 500/s over capacity = 10000 records = 20 s at 500/s, plus the tail.
        assert_eq!(e.drain, Duration::from_secs(22));
        assert_eq!(
            e.total,
            (Duration::from_secs(20 + 22 + 5) + TOPIC_SETUP) * 8 + CLUSTER_START
        );
    }

    #[test]
    fn each_client_gets_its_own_table_and_the_common_keys() {
        let text = "name = \"x\"\n[producer]\n\"linger.ms\" = 50\nacks = \"all\"\n[producer.sarama]\n\"Producer.Retry.Max\" = 3\n[producer.rdkafka]\n\"batch.size\" = 1000\n[consumer.java]\n\"max.poll.records\" = 100\n[matrix]\nclient = [\"rdkafka\", \"sarama\", \"java\"]\ncommit = [\"manual-sync\"]\n";
        let plan = Plan::new(&scenario(text), 1);
        let by_client = |c: ClientKind| plan.cells.iter().find(|cell| cell.client == c).unwrap();
        let rdkafka = by_client(ClientKind::Rdkafka);
        assert_eq!(rdkafka.producer.get("linger.ms").map(String::as_str), Some("50"));
        assert_eq!(rdkafka.producer.get("batch.size").map(String::as_str), Some("1000"));
        let sarama = by_client(ClientKind::Sarama);
        assert_eq!(sarama.producer, BTreeMap::from([("Producer.Retry.Max".to_string(), "3".to_string())]));
        assert_eq!(sarama.acks.as_deref(), Some("all"), "the common key reaches every client");
        let java = by_client(ClientKind::Java);
        assert!(java.producer.is_empty());
        assert_eq!(java.consumer.get("max.poll.records").map(String::as_str), Some("100"));
    }
}
