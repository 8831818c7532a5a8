//! The scenario file as written: serde types that mirror the TOML, with `Spanned` wherever a later
//! check must point at a position. Nothing here is validated beyond TOML types; `resolve` turns a
//! `ScenarioSpec` into a `Scenario`. Defaults are documented here and applied in `resolve`.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// A librdkafka, topic or broker setting as written: any TOML scalar. Kafka takes every setting as
/// a string, so each becomes its string form (`5` -> "5", `true` -> "true", `0.5` -> "0.5").
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl PropertyValue {
    pub fn to_property_string(&self) -> String {
        match self {
            PropertyValue::Str(s) => s.clone(),
            PropertyValue::Int(i) => i.to_string(),
            PropertyValue::Float(f) => f.to_string(),
            PropertyValue::Bool(b) => b.to_string(),
        }
    }

    /// The value as TOML would write it, for messages: `"all"`, `1`, `true`.
    pub fn to_toml(&self) -> String {
        match self {
            PropertyValue::Str(s) => format!("{s:?}"),
            other => other.to_property_string(),
        }
    }
}

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = PropertyValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, integer, float or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Str(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropertyValue, E> {
                i64::try_from(v)
                    .map(PropertyValue::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PropertyValue, E> {
                Ok(PropertyValue::Bool(v))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// A table of settings by their own names: `"linger.ms" = 5`.
pub type PropertiesSpec = BTreeMap<Spanned<String>, Spanned<PropertyValue>>;

/// `[producer]` or `[consumer]`: librdkafka settings as plain keys, and a table per client
/// (`[producer.sarama]`) for that client's own settings.
pub type ClientSettingsSpec = BTreeMap<Spanned<String>, Spanned<SettingOrTable>>;

/// One entry of `[producer]`: a librdkafka setting, or a client's table.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingOrTable {
    Setting(PropertyValue),
    Table(PropertiesSpec),
}

impl<'de> Deserialize<'de> for SettingOrTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = SettingOrTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, integer, float, boolean or a client's table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SettingOrTable, E> {
                Ok(SettingOrTable::Setting(PropertyValue::Str(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<SettingOrTable, E> {
                Ok(SettingOrTable::Setting(PropertyValue::Str(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SettingOrTable, E> {
                Ok(SettingOrTable::Setting(PropertyValue::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SettingOrTable, E> {
                i64::try_from(v)
                    .map(|v| SettingOrTable::Setting(PropertyValue::Int(v)))
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SettingOrTable, E> {
                Ok(SettingOrTable::Setting(PropertyValue::Float(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SettingOrTable, E> {
                Ok(SettingOrTable::Setting(PropertyValue::Bool(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SettingOrTable, A::Error> {
                let mut table = PropertiesSpec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<PropertyValue>>()?;
                    table.insert(key, value);
                }
                Ok(SettingOrTable::Table(table))
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// Matrix values to match: `{ acks = "all", "enable.idempotence" = true }` (in `when`, `exclude`).
pub type SelectorSpec = BTreeMap<Spanned<String>, Spanned<PropertyValue>>;

/// A duration as humantime reads it: "40s", "1m 30s", "250ms".
pub type DurationSpec = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Names the result directory; letters, digits, '.', '_' and '-'.
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Seeds every random draw (`random-broker`); default 0. `--seed` overrides it.
    pub seed: Option<Spanned<u64>>,
    /// Run every cell this many times; default 1. `run --repeat N` (N > 1) overrides it.
    pub repeat: Option<Spanned<u32>>,
    pub cluster: Option<Spanned<ClusterSpec>>,
    pub topic: Option<Spanned<TopicSpec>>,
    pub workload: Option<Spanned<WorkloadSpec>>,
    /// Producer settings for every cell: librdkafka's by their names, plus one table per other
    /// client by that client's names (`[producer.sarama]`, `[producer.java]`).
    #[serde(default)]
    pub producer: ClientSettingsSpec,
    /// Consumer settings, the same way.
    #[serde(default)]
    pub consumer: ClientSettingsSpec,
    pub matrix: Option<Spanned<MatrixSpec>>,
    /// Named fault schedules; the matrix key `fault` picks one per cell.
    #[serde(default)]
    pub faults: BTreeMap<Spanned<String>, Spanned<FaultSpec>>,
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// "containers" (default): the harness starts Kafka in containers. "external": a cluster
    /// the user runs, reached at `bootstrap` and faulted through `hooks`.
    pub kind: Option<Spanned<String>>,
    /// External clusters: the bootstrap servers.
    pub bootstrap: Option<Spanned<String>>,
    /// External clusters: the prefix of every topic the harness creates (default "kc-").
    pub topic_prefix: Option<Spanned<String>>,
    /// External clusters: a shell command per ability (`kill`, `restart`, ...).
    #[serde(default)]
    pub hooks: BTreeMap<Spanned<String>, Spanned<String>>,
    /// External clusters: `[cluster.nodes.ID]` tables of the variables the hooks use.
    #[serde(default)]
    pub nodes: BTreeMap<Spanned<String>, Spanned<BTreeMap<String, Spanned<String>>>>,
    /// External clusters: how every client authenticates (SASL, TLS).
    pub security: Option<Spanned<SecuritySpec>>,
    /// Brokers, ids 1..=N; default 3, at most 9.
    pub brokers: Option<Spanned<u16>>,
    /// Dedicated KRaft controllers; default 0 (every broker is also a controller), at most 5.
    pub controllers: Option<Spanned<u16>>,
    /// Default: the harness's `DEFAULT_KAFKA_VERSION`.
    pub kafka_version: Option<Spanned<String>>,
    /// Broker settings for every broker, by Kafka's names.
    #[serde(default)]
    pub broker_config: PropertiesSpec,
}

/// `[cluster.security]`: Kafka's names for the protocol and mechanism; the password comes from
/// an environment variable, so it is never in a scenario file or a report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySpec {
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    pub protocol: Option<Spanned<String>>,
    /// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    pub sasl_mechanism: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    /// The environment variable that holds the password.
    pub password_env: Option<Spanned<String>>,
    /// CA certificates (PEM) to trust, relative to the scenario file.
    pub ca_file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Default 3.
    pub partitions: Option<Spanned<u32>>,
    /// Default: 3, or the broker count if smaller.
    pub replication_factor: Option<Spanned<u16>>,
    /// Topic configs set at topic creation, by Kafka's names.
    #[serde(default)]
    pub config: PropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Producer clients; default 1.
    pub producers: Option<Spanned<u32>>,
    /// Consumer clients in one group; default 1 (0: produce only).
    pub consumers: Option<Spanned<u32>>,
    /// How long the producers send; default "30s".
    pub duration: Option<DurationSpec>,
    /// Messages per second over all producers; default 1000; 0 = as fast as possible.
    pub rate: Option<Spanned<u64>>,
    /// Default 256.
    pub payload_bytes: Option<Spanned<u32>>,
    /// Simulated work per record in the consumer; default "0s".
    pub processing: Option<DurationSpec>,
    /// Records a consumer holds in an asynchronous processing buffer between poll and processing;
    /// default 0 (process synchronously in the poll loop).
    pub processing_buffer: Option<Spanned<u32>>,
    /// How the producers pick partitions: "round-robin" (default), "hash" (by message key) or
    /// "partition:N" (all to one partition).
    pub key_routing: Option<Spanned<String>>,
    /// Commit modes `manual-sync`, `manual-async` and `before-process` commit once per this many
    /// records; default 100.
    pub commit_every: Option<Spanned<u32>>,
    /// ... or once this long has passed since their last commit, whichever comes first; default "1s".
    pub commit_interval: Option<DurationSpec>,
    /// How long consumers may take to catch up after the run; default "60s".
    pub drain_timeout: Option<DurationSpec>,
    /// Quiet time after the last fault is healed, before draining; default "5s".
    pub settle: Option<DurationSpec>,
    /// Start each worker through this command template, with `{command}` the worker's command
    /// line, shell-quoted: `ssh loadgen-1 {command}`, `kubectl exec -i loadgen -- {command}`.
    pub launch: Option<Spanned<String>>,
    /// Transactional producers: `{ messages = 10, abort_every = 5, timeout = "10s" }`; absent: plain.
    pub transactions: Option<Spanned<TransactionsSpec>>,
    /// What consumers and the final reader read: "read_committed" or "read_uncommitted";
    /// default: each client's own (librdkafka and the final reader read committed).
    pub isolation: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionsSpec {
    /// Messages per transaction; default 10.
    pub messages: Option<Spanned<u32>>,
    /// The last of every this many transactions is aborted on purpose; default 5; 0: none.
    pub abort_every: Option<Spanned<u32>>,
    /// `transaction.timeout.ms`; default "10s".
    pub timeout: Option<DurationSpec>,
}

/// `[matrix]`: every key but `exclude` is a list of values; cells are the cartesian product.
#[derive(Debug, Default)]
pub struct MatrixSpec {
    /// In file order, which also orders cells and cell ids.
    pub axes: Vec<AxisSpec>,
    pub exclude: Option<Spanned<Vec<Spanned<SelectorSpec>>>>,
}

#[derive(Debug)]
pub struct AxisSpec {
    pub key: Spanned<String>,
    pub values: Spanned<Vec<Spanned<PropertyValue>>>,
}

struct AxisValues(Vec<Spanned<PropertyValue>>);

impl<'de> Deserialize<'de> for AxisValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = AxisValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of values, e.g. [\"1\", \"all\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AxisValues, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element()? {
                    values.push(v);
                }
                Ok(AxisValues(values))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

impl<'de> Deserialize<'de> for MatrixSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MatrixVisitor;
        impl<'de> Visitor<'de> for MatrixVisitor {
            type Value = MatrixSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of lists")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MatrixSpec, A::Error> {
                let mut matrix = MatrixSpec::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.get_ref() == "exclude" {
                        matrix.exclude = Some(map.next_value()?);
                    } else {
                        let values: Spanned<AxisValues> = map.next_value()?;
                        let span = values.span();
                        let values = Spanned::new(span, values.into_inner().0);
                        matrix.axes.push(AxisSpec { key, values });
                    }
                }
                // The parser may hand keys over sorted; the file order is what users expect.
                matrix.axes.sort_by_key(|a| a.key.span().start);
                Ok(matrix)
            }
        }
        deserializer.deserialize_map(MatrixVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub steps: Vec<Spanned<FaultStepSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStepSpec {
    /// Not before this long after the producers started; default: the previous step's `at` (0s
    /// for the first). Steps run in file order.
    pub at: Option<DurationSpec>,
    /// kill, stop, pause or isolate.
    pub action: Spanned<String>,
    /// leader:P, followers:P, controller, broker:N, consumer:N, producer:N, random-broker.
    pub target: Spanned<String>,
    /// A state the harness must observe before the step fires (see `TriggerSpec`).
    pub when: Option<Spanned<TriggerSpec>>,
    /// Wait until the previous step's heal is done before firing.
    pub after_heal: Option<Spanned<bool>>,
    /// How long the step may wait for `when` or `after_heal`, from its `at` or from when the
    /// previous step took effect, whichever is later; default "60s".
    pub within: Option<DurationSpec>,
    /// Undo the fault this long after it took effect; absent: at the end of the run.
    pub heal_after: Option<DurationSpec>,
    /// Undo the fault as soon as the next step has taken effect.
    pub heal_after_next: Option<Spanned<bool>>,
}

/// `when = { acked = 1000 }`: exactly one condition, and what it watches where the target does
/// not say (`partition` for `acked`, `consumer` for the consumer conditions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// Writes to the partition acknowledged since the previous step took effect.
    pub acked: Option<Spanned<u64>>,
    /// Records the consumer holds whose offsets are committed but that it has not processed.
    pub committed_not_processed: Option<Spanned<u64>>,
    /// Records the consumer has processed whose offsets are not committed.
    pub processed_not_committed: Option<Spanned<u64>>,
    /// Messages sent in the producer's open transaction, one it will commit.
    pub txn_open: Option<Spanned<u64>>,
    pub partition: Option<Spanned<u32>>,
    pub consumer: Option<Spanned<u32>>,
    pub producer: Option<Spanned<u32>>,
}

/// One `[[expect]]`: `when` selects cells, `claim` says in words what it shows, every other key is
/// a count with a bound.
#[derive(Debug, Default)]
pub struct ExpectSpec {
    pub when: Option<Spanned<SelectorSpec>>,
    pub claim: Option<String>,
    /// In file order.
    pub counts: Vec<(Spanned<String>, Spanned<BoundSpec>)>,
}

impl<'de> Deserialize<'de> for ExpectSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectVisitor;
        impl<'de> Visitor<'de> for ExpectVisitor {
            type Value = ExpectSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table like { when = { acks = \"all\" }, lost = 0 }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExpectSpec, A::Error> {
                let mut expect = ExpectSpec::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    match key.get_ref().as_str() {
                        "when" => expect.when = Some(map.next_value()?),
                        "claim" => expect.claim = Some(map.next_value()?),
                        _ => expect.counts.push((key, map.next_value()?)),
                    }
                }
                expect.counts.sort_by_key(|(k, _)| k.span().start);
                Ok(expect)
            }
        }
        deserializer.deserialize_map(ExpectVisitor)
    }
}

/// `lost = 0` (exactly), `lost = { min = 1 }`, `duplicated = { max = 10 }`, or both bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundSpec {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl<'de> Deserialize<'de> for BoundSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundVisitor;
        impl<'de> Visitor<'de> for BoundVisitor {
            type Value = BoundSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count (lost = 0) or bounds (lost = { min = 1 }, { max = 10 })")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BoundSpec, E> {
                let v = u64::try_from(v).map_err(|_| E::custom("a count is never negative"))?;
                Ok(BoundSpec {
                    min: Some(v),
                    max: Some(v),
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BoundSpec, E> {
                Ok(BoundSpec {
                    min: Some(v),
                    max: Some(v),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BoundSpec, A::Error> {
                let mut bound = BoundSpec { min: None, max: None };
                while let Some(key) = map.next_key::<String>()? {
                    let value: i64 = map.next_value()?;
                    let value = u64::try_from(value).map_err(|_| de::Error::custom("a count is never negative"))?;
                    match key.as_str() {
                        "min" => bound.min = Some(value),
                        "max" => bound.max = Some(value),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown bound `{other}`; use min and/or max, e.g. {{ min = 1 }}"
                            )))
                        }
                    }
                }
                Ok(bound)
            }
        }
        deserializer.deserialize_any(BoundVisitor)
    }
}
