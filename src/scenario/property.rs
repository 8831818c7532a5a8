//! Which layer a setting belongs to, and whether its value is one that layer accepts.
//!
//! A matrix key is a librdkafka property (producer, consumer or both), a topic config, a broker
//! config, or a harness setting (`client`, `commit`, `fault`). A name that is both a client property and a
//! topic or broker config (`compression.type`, `message.max.bytes`) is ambiguous and must carry
//! its layer: `producer:compression.type`, `topic:compression.type`. A name that is both a topic
//! and a broker config (`min.insync.replicas`) goes to the topic: the same effect for the topic
//! under test, without restarting the cluster. Any key may carry a layer prefix to force it.

use super::known_keys::{self, ClientProperty, ClientRole, ValueKind};
pub use crate::model::suggest::{did_you_mean, or_list};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Producer,
    Consumer,
    /// A librdkafka property valid for both (`*` in CONFIGURATION.md): set on both clients.
    Client,
    /// Set at topic creation.
    Topic,
    /// Set on every broker; cells that differ here need a cluster started with those settings.
    Broker,
    /// Read by the harness itself: `commit`, `fault`.
    Harness,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Producer => "producer",
            Layer::Consumer => "consumer",
            Layer::Client => "producer+consumer",
            Layer::Topic => "topic",
            Layer::Broker => "broker",
            Layer::Harness => "harness",
        }
    }

    pub fn goes_to_producer(self) -> bool {
        matches!(self, Layer::Producer | Layer::Client)
    }

    pub fn goes_to_consumer(self) -> bool {
        matches!(self, Layer::Consumer | Layer::Client)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A matrix key resolved: where it goes and its name there (without a layer prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTarget {
    pub layer: Layer,
    pub name: String,
}

/// The harness starts the brokers and clients with these; a scenario must not change them.
const HARNESS_CLIENT_KEYS: &[&str] = &["bootstrap.servers", "metadata.broker.list"];
/// The commit mode decides these (see `CommitMode::consumer_properties`).
const COMMIT_MODE_KEYS: &[&str] = &["enable.auto.commit", "enable.auto.offset.store"];
const HARNESS_BROKER_KEYS: &[&str] = &[
    "advertised.listeners",
    "broker.id",
    "controller.listener.names",
    "controller.quorum.bootstrap.servers",
    "controller.quorum.voters",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
    "listeners",
    "log.dir",
    "log.dirs",
    "metadata.log.dir",
    "node.id",
    "process.roles",
];

pub const HARNESS_KEYS: &[&str] = &["client", "commit", "fault", "kafka_version", "isolation"];

/// Resolve a key of `[matrix]`.
pub fn resolve_matrix_key(key: &str) -> Result<KeyTarget, String> {
    if HARNESS_KEYS.contains(&key) {
        return Ok(KeyTarget {
            layer: Layer::Harness,
            name: key.to_string(),
        });
    }
    if let Some((prefix, name)) = key.split_once(':') {
        let layer = match prefix {
            "producer" => Layer::Producer,
            "consumer" => Layer::Consumer,
            "topic" => Layer::Topic,
            "broker" => Layer::Broker,
            _ => {
                return Err(format!(
                    "unknown layer \"{prefix}\" in matrix key \"{key}\"; use producer:, consumer:, \
                     topic: or broker:"
                ))
            }
        };
        check_property_name(layer, name)?;
        return Ok(KeyTarget {
            layer,
            name: name.to_string(),
        });
    }
    let client = known_keys::client_property(key);
    let topic = known_keys::is_topic_config(key);
    let broker = known_keys::is_broker_config(key);
    if let Some(property) = client {
        if topic || broker {
            let client_layer = client_layer(property);
            let mut choices: Vec<String> = Vec::new();
            if client_layer.goes_to_producer() {
                choices.push(format!("\"producer:{key}\""));
            }
            if client_layer.goes_to_consumer() {
                choices.push(format!("\"consumer:{key}\""));
            }
            if topic {
                choices.push(format!("\"topic:{key}\""));
            }
            if broker {
                choices.push(format!("\"broker:{key}\""));
            }
            let server = if topic { "a topic config" } else { "a broker config" };
            return Err(format!(
                "\"{key}\" is both a {} property and {server}; write {}",
                client_layer.as_str().replace('+', " and "),
                or_list(&choices)
            ));
        }
        let layer = client_layer(property);
        check_property_name(layer, key)?;
        return Ok(KeyTarget {
            layer,
            name: key.to_string(),
        });
    }
    if topic {
        check_property_name(Layer::Topic, key)?;
        return Ok(KeyTarget {
            layer: Layer::Topic,
            name: key.to_string(),
        });
    }
    if broker {
        check_property_name(Layer::Broker, key)?;
        return Ok(KeyTarget {
            layer: Layer::Broker,
            name: key.to_string(),
        });
    }
    Err(format!(
        "unknown matrix key \"{key}\"; a matrix key is a librdkafka producer or consumer property, \
         a topic or broker config, commit or fault{}",
        did_you_mean(key, all_matrix_names())
    ))
}

fn client_layer(property: &ClientProperty) -> Layer {
    match property.role {
        ClientRole::Producer => Layer::Producer,
        ClientRole::Consumer => Layer::Consumer,
        ClientRole::Both => Layer::Client,
    }
}

/// Check a name of a `[producer]`, `[consumer]`, `[topic.config]` or `[cluster.broker_config]`
/// table (or a prefixed matrix key) against its layer's list.
pub fn check_property_name(layer: Layer, name: &str) -> Result<(), String> {
    match layer {
        Layer::Producer | Layer::Consumer | Layer::Client => {
            let role_ok = |p: &ClientProperty| match layer {
                Layer::Producer => p.role != ClientRole::Consumer,
                Layer::Consumer => p.role != ClientRole::Producer,
                _ => true,
            };
            match known_keys::client_property(name) {
                Some(p) if !role_ok(p) => {
                    let other = if layer == Layer::Producer {
                        "consumer"
                    } else {
                        "producer"
                    };
                    Err(format!(
                        "\"{name}\" is a {other} property, not a {layer} property; move it to [{other}]"
                    ))
                }
                Some(p) if p.kind == ValueKind::Api => Err(format!(
                    "\"{name}\" can only be set through librdkafka's API, not from a scenario"
                )),
                Some(_) if HARNESS_CLIENT_KEYS.contains(&name) => {
                    Err(format!("\"{name}\" is set by the harness; remove it"))
                }
                Some(_) if COMMIT_MODE_KEYS.contains(&name) => Err(format!(
                    "\"{name}\" is set by the commit mode; use commit = \"auto\", \
                     \"auto-store-after-process\", \"manual-sync\", \"manual-async\" or \"before-process\""
                )),
                Some(_) => Ok(()),
                None => {
                    let names = known_keys::CLIENT_PROPERTIES
                        .iter()
                        .filter(|p| role_ok(p) && p.kind != ValueKind::Api)
                        .map(|p| p.name);
                    Err(format!(
                        "unknown {layer} property \"{name}\"; see librdkafka's CONFIGURATION.md{}",
                        did_you_mean(name, names)
                    ))
                }
            }
        }
        Layer::Topic => {
            if known_keys::is_topic_config(name) {
                Ok(())
            } else {
                let hint = if known_keys::is_broker_config(name) {
                    " (it is a broker config: put it in [cluster.broker_config])".to_string()
                } else {
                    did_you_mean(name, known_keys::TOPIC_CONFIGS.iter().copied())
                };
                Err(format!("unknown topic config \"{name}\"{hint}"))
            }
        }
        Layer::Broker => {
            if HARNESS_BROKER_KEYS.contains(&name) {
                Err(format!(
                    "\"{name}\" is set by the harness to build the cluster; remove it"
                ))
            } else if known_keys::is_broker_config(name) {
                Ok(())
            } else {
                let hint = if known_keys::is_topic_config(name) {
                    " (it is a topic config: put it in [topic.config])".to_string()
                } else {
                    did_you_mean(name, known_keys::BROKER_CONFIGS.iter().copied())
                };
                Err(format!("unknown broker config \"{name}\"{hint}"))
            }
        }
        Layer::Harness => Ok(()),
    }
}

/// Check a value against what its layer accepts. Only what is cheap and certain is checked:
/// librdkafka's booleans, integer ranges and enums, `acks`, and the topic/broker settings the
/// scenario checks rely on.
pub fn check_value(layer: Layer, name: &str, value: &str) -> Result<(), String> {
    match layer {
        Layer::Producer | Layer::Consumer | Layer::Client => check_client_value(name, value),
        Layer::Topic | Layer::Broker => match name {
            "min.insync.replicas"
            | "default.replication.factor"
            | "offsets.topic.replication.factor"
            | "transaction.state.log.replication.factor"
            | "replica.lag.time.max.ms" => match value.parse::<i64>() {
                Ok(v) if v >= 1 => Ok(()),
                _ => Err(format!("{name} must be a positive integer; found \"{value}\"")),
            },
            "unclean.leader.election.enable" => parse_bool(value)
                .map(|_| ())
                .ok_or_else(|| format!("{name} must be true or false; found \"{value}\"")),
            // Compaction removes records the final read must find, and hides duplicates.
            "cleanup.policy" | "log.cleanup.policy" if value.split(',').any(|p| p.trim() == "compact") => Err(format!(
                "{name} = \"{value}\" compacts the harness's topic: compaction removes acknowledged records the final read must find and hides duplicates; use \"delete\""
            )),
            _ => Ok(()),
        },
        Layer::Harness => Ok(()),
    }
}

fn check_client_value(name: &str, value: &str) -> Result<(), String> {
    if is_acks(name) {
        return if ["0", "1", "all", "-1"].contains(&value) {
            Ok(())
        } else {
            Err(format!("{name} must be one of 0, 1, all, -1; found \"{value}\""))
        };
    }
    let Some(property) = known_keys::client_property(name) else {
        return Ok(());
    };
    match property.kind {
        ValueKind::Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| format!("{name} must be true or false; found \"{value}\"")),
        ValueKind::Int { min, max } => match value.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(()),
            Ok(_) => Err(format!("{name} must be between {min} and {max}; found {value}")),
            Err(_) => Err(format!("{name} must be an integer; found \"{value}\"")),
        },
        ValueKind::Float { min, max } => match value.parse::<f64>() {
            Ok(v) if v >= min && v <= max => Ok(()),
            Ok(_) => Err(format!("{name} must be between {min} and {max}; found {value}")),
            Err(_) => Err(format!("{name} must be a number; found \"{value}\"")),
        },
        ValueKind::Enum(choices) => {
            if choices.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{name} must be one of {}; found \"{value}\"",
                    choices.join(", ")
                ))
            }
        }
        ValueKind::Text | ValueKind::Api => Ok(()),
    }
}

pub fn is_acks(name: &str) -> bool {
    name == "acks" || name == "request.required.acks"
}

/// librdkafka's booleans: true/t/1 and false/f/0, any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" => Some(true),
        "false" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// The form values are compared in (`when`, `exclude`, `--only`, duplicates): `acks = "-1"` is
/// `acks = "all"`, and a librdkafka boolean is `true` or `false` however it was written. Cells keep
/// the value as written; only comparisons use this.
pub fn canonical(name: &str, value: &str) -> String {
    let bare = name.split_once(':').map(|(_, n)| n).unwrap_or(name);
    if is_acks(bare) && value == "-1" {
        return "all".to_string();
    }
    let is_bool = known_keys::client_property(bare).is_some_and(|p| p.kind == ValueKind::Bool)
        || bare == "unclean.leader.election.enable";
    if is_bool {
        if let Some(b) = parse_bool(value) {
            return b.to_string();
        }
    }
    value.to_string()
}

fn all_matrix_names() -> impl Iterator<Item = &'static str> {
    known_keys::CLIENT_PROPERTIES
        .iter()
        .filter(|p| p.kind != ValueKind::Api)
        .map(|p| p.name)
        .chain(known_keys::TOPIC_CONFIGS.iter().copied())
        .chain(known_keys::BROKER_CONFIGS.iter().copied())
        .chain(HARNESS_KEYS.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_keys_go_to_their_layer() {
        let layer = |k: &str| resolve_matrix_key(k).map(|t| t.layer);
        assert_eq!(layer("acks"), Ok(Layer::Producer));
        assert_eq!(layer("enable.idempotence"), Ok(Layer::Producer));
        assert_eq!(layer("isolation.level"), Ok(Layer::Consumer));
        assert_eq!(layer("client.id"), Ok(Layer::Client));
        assert_eq!(layer("min.insync.replicas"), Ok(Layer::Topic));
        assert_eq!(layer("replica.lag.time.max.ms"), Ok(Layer::Broker));
        assert_eq!(layer("commit"), Ok(Layer::Harness));
        assert_eq!(layer("broker:min.insync.replicas"), Ok(Layer::Broker));
        assert_eq!(layer("topic:compression.type"), Ok(Layer::Topic));
        assert_eq!(
            resolve_matrix_key("producer:compression.type").unwrap().name,
            "compression.type"
        );
    }

    #[test]
    fn ambiguous_and_unknown_keys_are_explained() {
        let e = resolve_matrix_key("compression.type").unwrap_err();
        assert!(e.contains("\"producer:compression.type\""), "{e}");
        assert!(e.contains("\"topic:compression.type\""), "{e}");
        let e = resolve_matrix_key("enable.idempotense").unwrap_err();
        assert!(e.ends_with("did you mean \"enable.idempotence\"?"), "{e}");
        assert!(resolve_matrix_key("producer:session.timeout.ms").is_err());
        assert!(resolve_matrix_key("bootstrap.servers").is_err());
        assert!(resolve_matrix_key("enable.auto.commit").is_err());
        assert!(resolve_matrix_key("broker:node.id").is_err());
    }

    #[test]
    fn values_are_checked_against_librdkafka() {
        assert!(check_value(Layer::Producer, "acks", "all").is_ok());
        assert!(check_value(Layer::Producer, "acks", "-1").is_ok());
        assert_eq!(
            check_value(Layer::Producer, "acks", "2").unwrap_err(),
            "acks must be one of 0, 1, all, -1; found \"2\""
        );
        assert!(check_value(Layer::Producer, "enable.idempotence", "yes").is_err());
        assert!(check_value(Layer::Producer, "linger.ms", "-5").is_err());
        assert!(check_value(Layer::Consumer, "isolation.level", "read_committed").is_ok());
        assert!(check_value(Layer::Consumer, "auto.offset.reset", "newest").is_err());
        assert!(check_value(Layer::Topic, "min.insync.replicas", "0").is_err());
        assert!(check_value(Layer::Topic, "cleanup.policy", "compact,delete").unwrap_err().contains("compaction"));
        assert!(check_value(Layer::Broker, "log.cleanup.policy", "compact").is_err());
        assert!(check_value(Layer::Topic, "cleanup.policy", "delete").is_ok());
    }

    #[test]
    fn canonical_forms_equate_spellings() {
        assert_eq!(canonical("acks", "-1"), "all");
        assert_eq!(canonical("producer:acks", "-1"), "all");
        assert_eq!(canonical("enable.idempotence", "TRUE"), "true");
        assert_eq!(canonical("linger.ms", "5"), "5");
    }
}
