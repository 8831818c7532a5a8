//! Checks that need a whole cell, where settings from different tables and matrix keys meet: a
//! cell that cannot work is rejected before anything starts, at the value to change.

use crate::model::client::ClientKind;
use crate::model::commit::CommitMode;
use crate::model::environment::Topic;
use super::matrix::Matrix;
use super::property::{self, canonical, Layer};
use super::source::{Checked, Diagnostic};
use super::spec::{AxisSpec, ClusterSpec, PropertiesSpec, TopicSpec};
use std::collections::BTreeMap;
use std::ops::Range;

/// With min.insync.replicas above the replication factor, no acks=all write can ever succeed.
/// The topic's effective value is the matrix's, else the topic config's, else the brokers'.
pub(super) fn check_min_insync(
    cluster: &ClusterSpec,
    topic_spec: &TopicSpec,
    specs: &[AxisSpec],
    matrix: &Matrix,
    topic: &Topic,
) -> Checked<()> {
    let in_broker_config = cluster.broker_config.get("min.insync.replicas");
    let in_topic_config = topic_spec.config.get("min.insync.replicas");
    let rf = u64::from(topic.replication_factor);
    let too_high = |span: Range<usize>, value: &str, from: &str| {
        Diagnostic::new(
            span,
            format!(
                "min.insync.replicas {value} ({from}) is above the replication factor {rf}; no acks=all \
                 write could succeed: lower it or raise [topic] replication_factor"
            ),
        )
    };
    let above = |v: &str| v.parse::<u64>().is_ok_and(|v| v > rf);
    let in_matrix = matrix
        .axes
        .iter()
        .zip(specs)
        .filter(|(a, _)| a.name == "min.insync.replicas" && matches!(a.layer, Layer::Topic | Layer::Broker))
        .collect::<Vec<_>>();
    for (axis, spec) in &in_matrix {
        for (value, written) in axis.values.iter().zip(spec.values.get_ref()) {
            if above(value) {
                return Err(too_high(written.span(), value, "matrix"));
            }
        }
    }
    let topic_level = in_matrix.iter().any(|(a, _)| a.layer == Layer::Topic);
    if let Some(v) = in_topic_config {
        let value = v.get_ref().to_property_string();
        if !topic_level && above(&value) {
            return Err(too_high(v.span(), &value, "[topic.config]"));
        }
    }
    if let Some(v) = in_broker_config {
        let value = v.get_ref().to_property_string();
        if !topic_level && in_topic_config.is_none() && above(&value) {
            return Err(too_high(v.span(), &value, "[cluster.broker_config]"));
        }
    }
    Ok(())
}

/// librdkafka refuses to create an idempotent producer with acks other than all, more than 5
/// requests in flight, or no retries; check every cell's producer settings as merged.
pub(super) fn check_idempotence(specs: &[AxisSpec], matrix: &Matrix, producer: &PropertiesSpec) -> Checked<()> {
    for indices in matrix.index_combinations() {
        let config = matrix.config(&indices);
        if matrix.is_excluded(&config) {
            continue;
        }
        // The producer's effective settings in this cell, each with where it was written.
        let mut effective: BTreeMap<String, (String, Range<usize>, Option<String>)> = producer
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), (v.get_ref().to_property_string(), v.span(), None)))
            .collect();
        for ((axis, spec), &i) in matrix.axes.iter().zip(specs).zip(&indices) {
            if axis.layer.goes_to_producer() {
                let span = spec.values.get_ref()[i].span();
                effective.insert(
                    axis.name.clone(),
                    (axis.values[i].clone(), span, Some(axis.key.clone())),
                );
            }
        }
        let Some((idempotence, idem_span, idem_key)) = effective.get("enable.idempotence") else {
            continue;
        };
        if property::parse_bool(idempotence) != Some(true) {
            continue;
        }
        let conflict = |name: &str, ok: &dyn Fn(&str) -> bool, why: &str| -> Checked<()> {
            let Some((value, span, key)) = effective.get(name) else {
                return Ok(());
            };
            if ok(value) {
                return Ok(());
            }
            let hint = match (key, idem_key) {
                (Some(key), Some(idem_key)) => format!(
                    "; exclude the pair: exclude = [ {{ {} = \"{value}\", {} = {idempotence} }} ]",
                    toml_key(key),
                    toml_key(idem_key)
                ),
                _ => String::new(),
            };
            let at = if key.is_some() || idem_key.is_none() {
                span.clone()
            } else {
                idem_span.clone()
            };
            Err(Diagnostic::new(
                at,
                format!("{name} = \"{value}\" cannot be combined with enable.idempotence = true: {why}{hint}"),
            ))
        };
        for acks in ["acks", "request.required.acks"] {
            conflict(
                acks,
                &|v| canonical("acks", v) == "all",
                "librdkafka requires acks=all for the idempotent producer",
            )?;
        }
        for inflight in ["max.in.flight", "max.in.flight.requests.per.connection"] {
            conflict(
                inflight,
                &|v| v.parse::<u64>().is_ok_and(|n| n <= 5),
                "librdkafka allows at most 5 requests in flight for the idempotent producer",
            )?;
        }
        for retries in ["retries", "message.send.max.retries"] {
            conflict(
                retries,
                &|v| v.parse::<u64>().is_ok_and(|n| n >= 1),
                "librdkafka requires retries >= 1 for the idempotent producer",
            )?;
        }
    }
    Ok(())
}

/// A key as it must be written inside an inline table.
fn toml_key(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        format!("\"{key}\"")
    }
}

/// Each cell's client must be able to run it: its commit mode must be one the client can express,
/// and a librdkafka setting varied by the matrix means nothing to another client, so a cell that
/// would silently ignore it is rejected (exclude it, or move the setting to the client's table).
pub(super) fn check_clients(specs: &[AxisSpec], matrix: &Matrix, consumers: u32) -> Checked<()> {
    let position = |key: &str| matrix.axes.iter().position(|a| a.key == key);
    let (client_axis, commit_axis) = (position("client"), position("commit"));
    let Some(client_axis) = client_axis else {
        return Ok(());
    };
    for indices in matrix.index_combinations() {
        let config = matrix.config(&indices);
        if matrix.is_excluded(&config) {
            continue;
        }
        let value_span = |axis: usize| specs[axis].values.get_ref()[indices[axis]].span();
        let client: ClientKind = match config["client"].parse() {
            Ok(c) => c,
            Err(_) => continue, // axes.rs has already rejected it
        };
        let commit = config.get("commit").and_then(|c| c.parse::<CommitMode>().ok()).unwrap_or(CommitMode::DEFAULT);
        // Without consumers the commit mode is never used.
        let checked = if consumers == 0 { Ok(()) } else { client.check_commit(commit) };
        if let Err(why) = checked {
            let at = commit_axis.map_or_else(|| value_span(client_axis), value_span);
            let hint = match commit_axis {
                Some(_) => format!(
                    "; exclude the pair: exclude = [ {{ client = \"{client}\", commit = \"{commit}\" }} ]"
                ),
                None => "; add a `commit` matrix key with a mode it has".to_string(),
            };
            return Err(Diagnostic::new(at, format!("{why}{hint}")));
        }
        if client == ClientKind::Rdkafka {
            continue;
        }
        for (axis, spec) in matrix.axes.iter().zip(specs) {
            let librdkafka_only = matches!(axis.layer, Layer::Producer | Layer::Consumer | Layer::Client)
                && !COMMON_CLIENT_KEYS.contains(&axis.name.as_str());
            if librdkafka_only {
                return Err(Diagnostic::new(
                    spec.key.span(),
                    format!(
                        "matrix key {} is a librdkafka setting, but cells with client = \"{client}\" would not use it; \
                         exclude them (exclude = [ {{ client = \"{client}\" , {} = ... }} ]) or set the client's own \
                         setting in [{}.{client}]",
                        axis.key,
                        toml_key(&axis.key),
                        if axis.layer == Layer::Consumer { "consumer" } else { "producer" }
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Keys every client understands, each in its own terms (see `plan::cell`).
const COMMON_CLIENT_KEYS: &[&str] = &["acks", "request.required.acks", "enable.idempotence"];
