//! Each client's own settings, by its own names: `[producer.sarama]`, `[consumer.java]`. The
//! names a client has come from its worker's own files (`workers/sarama/settings.txt`, written
//! from the Go worker's table; `workers/java/settings/*.txt`, from kafka-clients' `configNames()`),
//! each kept true by a test in that worker, so `check` and the worker never disagree.
//! librdkafka's settings are checked by `property` (plain keys of `[producer]`, or `[producer.rdkafka]`).

use crate::model::client::ClientKind;
use std::collections::BTreeMap;

/// A client's own settings from its tables, by its own names, as strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientSettings {
    pub producer: BTreeMap<String, String>,
    pub consumer: BTreeMap<String, String>,
}
use super::known_keys::ClientRole;
use super::property::did_you_mean;

const SARAMA_SETTINGS: &str = include_str!("../../workers/sarama/settings.txt");
const JAVA_PRODUCER_SETTINGS: &str = include_str!("../../workers/java/settings/producer.txt");
const JAVA_CONSUMER_SETTINGS: &str = include_str!("../../workers/java/settings/consumer.txt");

/// Settings the harness sets from the scenario's common keys or its own needs; a client table
/// must not set them, because the cell's name and checks would no longer say what ran.
fn reserved(client: ClientKind, name: &str) -> Option<&'static str> {
    let use_instead = match (client, name) {
        (ClientKind::Sarama, "Producer.RequiredAcks") => "the common key `acks` (\"0\", \"1\", \"all\")",
        (ClientKind::Sarama, "Producer.Idempotent") => "the common key `enable.idempotence`",
        (ClientKind::Sarama, "Consumer.Offsets.AutoCommit.Enable") => "the commit mode (`commit`)",
        (ClientKind::Sarama, "Producer.Transaction.ID" | "Producer.Transaction.Timeout")
        | (ClientKind::Java | ClientKind::Rdkafka, "transactional.id" | "transaction.timeout.ms") => {
            "[workload] transactions (the harness names each producer's transactional.id)"
        }
        (ClientKind::Java, "acks") => "the common key `acks` in [producer] or the matrix",
        (ClientKind::Java, "enable.idempotence") => "the common key `enable.idempotence` in [producer] or the matrix",
        (ClientKind::Java, "enable.auto.commit") => "the commit mode (`commit`)",
        (ClientKind::Java, "group.id") => "nothing: the harness names the group per cell",
        (ClientKind::Java, "bootstrap.servers") => "nothing: the harness connects to the cell's cluster",
        (ClientKind::Java, "key.serializer" | "value.serializer" | "key.deserializer" | "value.deserializer") => {
            "nothing: messages are strings in the harness's format"
        }
        _ => return None,
    };
    Some(use_instead)
}

/// What is wrong with a client setting: its name (point at the key) or its value.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingError {
    Name(String),
    Value(String),
}

impl SettingError {
    pub fn message(&self) -> &str {
        match self {
            SettingError::Name(m) | SettingError::Value(m) => m,
        }
    }
}

/// Why `name = value` is not a setting of `client`'s `role`, if it is not.
pub fn check(client: ClientKind, role: ClientRole, name: &str, value: &str) -> Result<(), SettingError> {
    let table = format!("[{}.{client}]", role_table(role));
    if let Some(instead) = reserved(client, name) {
        return Err(SettingError::Name(format!(
            "{name} is set by the harness for every {client} cell; use {instead}"
        )));
    }
    match client {
        ClientKind::Rdkafka => unreachable!("librdkafka settings are checked by scenario::property"),
        ClientKind::Sarama => check_sarama(role, name, value, &table),
        ClientKind::Java => {
            let names = match role {
                ClientRole::Consumer => JAVA_CONSUMER_SETTINGS,
                _ => JAVA_PRODUCER_SETTINGS,
            };
            if names.lines().any(|n| n.trim() == name) {
                return Ok(());
            }
            let other = match role {
                ClientRole::Consumer => JAVA_PRODUCER_SETTINGS,
                _ => JAVA_CONSUMER_SETTINGS,
            };
            let hint = if other.lines().any(|n| n.trim() == name) {
                format!("; it is a {} setting: move it to [{}.java]", other_role(role), other_role(role))
            } else {
                did_you_mean(name, names.lines().map(str::trim))
            };
            Err(SettingError::Name(format!(
                "{name:?} is not a kafka-clients {} setting in {table}{hint}",
                role_table(role)
            )))
        }
    }
}

fn role_table(role: ClientRole) -> &'static str {
    match role {
        ClientRole::Consumer => "consumer",
        _ => "producer",
    }
}

fn other_role(role: ClientRole) -> &'static str {
    match role {
        ClientRole::Consumer => "producer",
        _ => "consumer",
    }
}

/// sarama has one `Config` for both roles: `Producer.*` fields belong to the producer,
/// `Consumer.*` to the consumer, the rest (`Net.*`, `Metadata.*`, `Version`) to both.
fn check_sarama(role: ClientRole, name: &str, value: &str, table: &str) -> Result<(), SettingError> {
    let Some(kind) = SARAMA_SETTINGS.lines().find_map(|line| {
        let (n, kind) = line.trim().split_once(' ')?;
        (n == name).then_some(kind.trim())
    }) else {
        let names = SARAMA_SETTINGS.lines().filter_map(|l| l.split_whitespace().next());
        let hint = did_you_mean(name, names);
        return Err(SettingError::Name(format!(
            "{name:?} is not a sarama setting the worker knows in {table} (names are sarama.Config's field paths, e.g. \"Producer.Retry.Max\"; the list is workers/sarama/settings.txt){hint}"
        )));
    };
    let wrong_role = match role {
        ClientRole::Consumer => name.starts_with("Producer."),
        _ => name.starts_with("Consumer."),
    };
    if wrong_role {
        return Err(SettingError::Name(format!(
            "{name} is a {0} setting: move it to [{0}.sarama]",
            other_role(role)
        )));
    }
    check_sarama_value(kind, value).map_err(|why| SettingError::Value(format!("{name} = {value:?}: {why}")))
}

/// The kinds of workers/sarama/settings.txt: int, duration, bool, string, one-of:a|b|c.
fn check_sarama_value(kind: &str, value: &str) -> Result<(), String> {
    match kind {
        "int" => value.parse::<i64>().map(|_| ()).map_err(|_| "not an integer".to_string()),
        "bool" => match value {
            "true" | "false" => Ok(()),
            _ => Err("not true or false".to_string()),
        },
        "duration" => {
            if is_go_duration(value) {
                Ok(())
            } else {
                Err("not a duration in Go's syntax, with a unit: \"250ms\", \"1s\", \"1m30s\"".to_string())
            }
        }
        "string" => Ok(()),
        _ => match kind.strip_prefix("one-of:") {
            Some(choices) if choices.split('|').any(|c| c == value) => Ok(()),
            Some(choices) => Err(format!("not one of {}", choices.replace('|', ", "))),
            None => Err(format!("workers/sarama/settings.txt has an unknown kind {kind:?}")),
        },
    }
}

/// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a
/// unit (ns, us, µs, ms, s, m, h); "0" alone is allowed.
fn is_go_duration(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarama_names_kinds_and_roles_are_checked() {
        assert!(check(ClientKind::Sarama, ClientRole::Producer, "Producer.Retry.Max", "3").is_ok());
        assert!(check(ClientKind::Sarama, ClientRole::Producer, "Producer.Retry.Backoff", "100ms").is_ok());
        let e = check(ClientKind::Sarama, ClientRole::Producer, "Producer.Retry.Max", "three").unwrap_err().message().to_string();
        assert!(e.contains("not an integer"), "{e}");
        let e = check(ClientKind::Sarama, ClientRole::Producer, "Producer.Retry.Backoff", "100").unwrap_err().message().to_string();
        assert!(e.contains("duration"), "{e}");
        let e = check(ClientKind::Sarama, ClientRole::Producer, "Producer.Retry.Maxx", "3").unwrap_err().message().to_string();
        assert!(e.contains("did you mean \"Producer.Retry.Max\""), "{e}");
        let e = check(ClientKind::Sarama, ClientRole::Producer, "Consumer.Offsets.AutoCommit.Interval", "1s").unwrap_err().message().to_string();
        assert!(e.contains("[consumer.sarama]"), "{e}");
        let e = check(ClientKind::Sarama, ClientRole::Producer, "Producer.Partitioner", "crc").unwrap_err().message().to_string();
        assert!(e.contains("not one of"), "{e}");
        assert!(check(ClientKind::Sarama, ClientRole::Producer, "Producer.Partitioner", "hash").is_ok());
        assert!(check(ClientKind::Sarama, ClientRole::Consumer, "Net.DialTimeout", "5s").is_ok());
    }

    #[test]
    fn java_names_come_from_kafka_clients_and_common_keys_are_reserved() {
        assert!(check(ClientKind::Java, ClientRole::Producer, "delivery.timeout.ms", "30000").is_ok());
        assert!(check(ClientKind::Java, ClientRole::Consumer, "max.poll.records", "100").is_ok());
        let e = check(ClientKind::Java, ClientRole::Producer, "max.poll.records", "100").unwrap_err().message().to_string();
        assert!(e.contains("[consumer.java]"), "{e}");
        let e = check(ClientKind::Java, ClientRole::Producer, "linger.msec", "5").unwrap_err().message().to_string();
        assert!(e.contains("not a kafka-clients producer setting"), "{e}");
        let e = check(ClientKind::Java, ClientRole::Producer, "acks", "all").unwrap_err().message().to_string();
        assert!(e.contains("common key `acks`"), "{e}");
        let e = check(ClientKind::Java, ClientRole::Consumer, "enable.auto.commit", "true").unwrap_err().message().to_string();
        assert!(e.contains("commit mode"), "{e}");
    }

    #[test]
    fn go_durations() {
        for ok in ["0", "1s", "100ms", "1m30s", "1.5h", "-2us", "3µs"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "s", "1x", "1..5s", "ms"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
