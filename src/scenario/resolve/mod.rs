//! From a `ScenarioSpec` (as written) to a `Scenario` (checked, defaults applied). Every check that
//! can fail a run before it starts is here, and each failure points at the value to change.

use crate::model::environment::{Cluster, Topic};
use super::expect::{Bound, Count, Expectation, Rule};
use crate::model::fault::{Fault, FaultActionKind, FaultStep, FaultTarget, TargetBounds, Trigger, DEFAULT_WITHIN_MS, NO_FAULT};
use super::matrix::{Matrix, Selector, MAX_COMBINATIONS};
use crate::model::client::ClientKind;
use super::client_settings::{self, ClientSettings, SettingError};
use super::known_keys::ClientRole;
use super::property::{check_property_name, check_value, Layer};
use super::source::{Checked, Diagnostic, Source};
use super::spec::{
    ClientSettingsSpec, ClusterSpec, DurationSpec, ExpectSpec, FaultSpec, FaultStepSpec, PropertiesSpec, ScenarioSpec, SettingOrTable, TopicSpec,
    TriggerSpec, TransactionsSpec, WorkloadSpec,
};
use crate::model::workload::{format_duration, parse_duration, KeyRouting, Transactions, Workload};
use super::Scenario;
use super::{axes, cell_checks, external};
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

mod steps;
use steps::resolve_steps;

/// Where an error about a value the file does not contain points: its table, else the top.
const TOP: Range<usize> = 0..0;

pub fn resolve(spec: ScenarioSpec, source: &Source) -> Checked<Scenario> {
    let name = check_name(&spec.name)?;
    let repeat = match &spec.repeat {
        Some(r) if *r.get_ref() == 0 => return Err(Diagnostic::new(r.span(), "repeat must be at least 1")),
        Some(r) => *r.get_ref(),
        None => 1,
    };
    let cluster_span = spec.cluster.as_ref().map(|c| c.span()).unwrap_or(TOP);
    let cluster_spec = spec.cluster.map(Spanned::into_inner).unwrap_or_default();
    let cluster = resolve_cluster(&cluster_spec, cluster_span, source.path.parent().unwrap_or(Path::new(".")))?;
    let topic_spec = spec.topic.map(Spanned::into_inner).unwrap_or_default();
    let topic = resolve_topic(&topic_spec, &cluster_spec, &cluster)?;
    let workload_span = spec.workload.as_ref().map(|w| w.span()).unwrap_or(TOP);
    let workload_spec = spec.workload.map(Spanned::into_inner).unwrap_or_default();
    let workload = resolve_workload(&workload_spec, &topic, workload_span)?;
    let (producer_spec, producer_clients) = split_clients(&spec.producer, ClientRole::Producer)?;
    let (consumer_spec, consumer_clients) = split_clients(&spec.consumer, ClientRole::Consumer)?;
    let producer = properties(Layer::Producer, &producer_spec)?;
    let consumer = properties(Layer::Consumer, &consumer_spec)?;
    let mut clients: BTreeMap<ClientKind, ClientSettings> = BTreeMap::new();
    for (client, settings) in producer_clients {
        clients.entry(client).or_default().producer = settings;
    }
    for (client, settings) in consumer_clients {
        clients.entry(client).or_default().consumer = settings;
    }

    let bounds = TargetBounds {
        broker_ids: cluster.broker_ids(),
        partitions: topic.partitions,
        replication_factor: topic.replication_factor.into(),
        consumers: workload.consumers,
        producers: workload.producers,
    };
    let mut faults = BTreeMap::new();
    for (name, fault) in &spec.faults {
        check_schedule_name(name)?;
        let steps = resolve_steps(&fault.get_ref().steps, &bounds, &cluster, workload.launch.as_deref(), workload.duration)?;
        faults.insert(
            name.get_ref().clone(),
            Fault {
                name: name.get_ref().clone(),
                steps,
            },
        );
    }

    let matrix_span = spec.matrix.as_ref().map(|m| m.span()).unwrap_or(TOP);
    let matrix_spec = spec.matrix.map(Spanned::into_inner).unwrap_or_default();
    let axes = matrix_spec
        .axes
        .iter()
        .map(|axis| axes::resolve_axis(axis, &faults, &workload))
        .collect::<Checked<Vec<_>>>()?;
    axes::check_distinct_properties(&matrix_spec.axes, &axes)?;
    if cluster.external.is_some() {
        let fixed = |a: &super::matrix::Axis| a.layer == Layer::Broker || a.key == "kafka_version";
        if let Some((axis, _)) = matrix_spec.axes.iter().zip(&axes).find(|(_, a)| fixed(a)) {
            return Err(Diagnostic::new(
                axis.key.span(),
                "broker settings and versions cannot vary on an external cluster: the harness does not start it; remove this axis",
            ));
        }
    }
    let mut matrix = Matrix {
        axes,
        exclude: Vec::new(),
    };
    if matrix.combination_count() > MAX_COMBINATIONS {
        return Err(Diagnostic::new(
            matrix_span,
            format!(
                "the matrix has {} combinations, more than {MAX_COMBINATIONS}; drop values or add exclude entries",
                matrix.combination_count()
            ),
        ));
    }
    if let Some(exclude) = &matrix_spec.exclude {
        for entry in exclude.get_ref() {
            matrix
                .exclude
                .push(axes::selector(entry.get_ref(), &matrix, "exclude")?);
        }
        if matrix.cells().is_empty() {
            return Err(Diagnostic::new(
                exclude.span(),
                "exclude removes every cell of the matrix; remove an entry",
            ));
        }
    }
    let default_fault = default_fault(&matrix, &faults, &spec.faults)?;

    cell_checks::check_min_insync(&cluster_spec, &topic_spec, &matrix_spec.axes, &matrix, &topic)?;
    cell_checks::check_idempotence(&matrix_spec.axes, &matrix, &producer_spec)?;
    cell_checks::check_clients(&matrix_spec.axes, &matrix, workload.consumers)?;

    let expectations = spec
        .expect
        .iter()
        .enumerate()
        .map(|(i, e)| resolve_expectation(i, e, &matrix, source))
        .collect::<Checked<Vec<_>>>()?;

    Ok(Scenario {
        path: source.path.to_path_buf(),
        name,
        description: spec.description,
        seed: spec.seed.map(Spanned::into_inner).unwrap_or(0),
        repeat,
        cluster,
        topic,
        workload,
        producer,
        consumer,
        clients,
        matrix,
        faults,
        default_fault,
        expectations,
    })
}

fn check_name(name: &Spanned<String>) -> Checked<String> {
    let text = name.get_ref();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(Diagnostic::new(
            name.span(),
            format!("name must be non-empty and use only letters, digits, '.', '_' and '-' (it names the result directory); found {text:?}"),
        ));
    }
    Ok(text.clone())
}

fn check_schedule_name(name: &Spanned<String>) -> Checked<()> {
    let text = name.get_ref();
    if text == NO_FAULT {
        return Err(Diagnostic::new(
            name.span(),
            "\"none\" means no faults and cannot name a schedule; rename it",
        ));
    }
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(Diagnostic::new(
            name.span(),
            format!("fault schedule names use only letters, digits, '.', '_' and '-' (they appear in cell ids); found {text:?}"),
        ));
    }
    Ok(())
}

fn resolve_cluster(spec: &ClusterSpec, table: Range<usize>, base: &Path) -> Checked<Cluster> {
    match spec.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
        None | Some(("containers", _)) => {}
        Some(("external", _)) => {
            let external = external::resolve(spec, table, base)?;
            return Ok(Cluster {
                brokers: external.nodes.len() as u16,
                controllers: 0,
                kafka_version: String::new(),
                broker_config: BTreeMap::new(),
                external: Some(external),
            });
        }
        Some((other, span)) => {
            return Err(Diagnostic::new(span, format!("unknown cluster kind {other:?}; use \"containers\" or \"external\"")))
        }
    }
    let external_only = [
        ("bootstrap", spec.bootstrap.as_ref().map(|b| b.span())),
        ("topic_prefix", spec.topic_prefix.as_ref().map(|p| p.span())),
        ("hooks", spec.hooks.keys().next().map(|k| k.span())),
        ("nodes", spec.nodes.keys().next().map(|k| k.span())),
        ("security", spec.security.as_ref().map(|s| s.span())),
    ];
    if let Some((name, Some(span))) = external_only.into_iter().find(|(_, span)| span.is_some()) {
        return Err(Diagnostic::new(span, format!("{name} is for kind = \"external\" clusters; add that, or remove {name}")));
    }
    let brokers = match &spec.brokers {
        Some(b) if !(1..=Cluster::MAX_BROKERS).contains(b.get_ref()) => {
            return Err(Diagnostic::new(
                b.span(),
                format!(
                    "brokers must be between 1 and {}; found {}",
                    Cluster::MAX_BROKERS,
                    b.get_ref()
                ),
            ))
        }
        Some(b) => *b.get_ref(),
        None => Cluster::DEFAULT_BROKERS,
    };
    let controllers = match &spec.controllers {
        Some(c) if *c.get_ref() > Cluster::MAX_CONTROLLERS => {
            return Err(Diagnostic::new(
                c.span(),
                format!(
                    "controllers must be between 0 and {}; found {}",
                    Cluster::MAX_CONTROLLERS,
                    c.get_ref()
                ),
            ))
        }
        Some(c) => *c.get_ref(),
        None => 0,
    };
    let kafka_version = match &spec.kafka_version {
        Some(v) if v.get_ref().trim().is_empty() => {
            return Err(Diagnostic::new(
                v.span(),
                "kafka_version is empty; write e.g. \"4.1.1\"",
            ))
        }
        Some(v) => {
            axes::check_kafka_version(v.get_ref()).map_err(|e| Diagnostic::new(v.span(), e))?;
            v.get_ref().clone()
        }
        None => crate::cluster::DEFAULT_KAFKA_VERSION.to_string(),
    };
    let broker_config = properties(Layer::Broker, &spec.broker_config)?;
    // Internal topics are created with these; above the broker count, the cluster never serves
    // consumer groups or transactions.
    for key in [
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ] {
        if let Some((k, v)) = spec.broker_config.get_key_value(key) {
            let value: u64 = v.get_ref().to_property_string().parse().unwrap_or(0);
            if value > u64::from(brokers) {
                return Err(Diagnostic::new(
                    v.span(),
                    format!(
                        "{} {value} is above the broker count {brokers}; lower it or add brokers",
                        k.get_ref()
                    ),
                ));
            }
        }
    }
    Ok(Cluster {
        brokers,
        controllers,
        kafka_version,
        broker_config,
        external: None,
    })
}

fn resolve_topic(spec: &TopicSpec, cluster_spec: &ClusterSpec, cluster: &Cluster) -> Checked<Topic> {
    let partitions = match &spec.partitions {
        Some(p) if *p.get_ref() == 0 => return Err(Diagnostic::new(p.span(), "partitions must be at least 1")),
        Some(p) => *p.get_ref(),
        None => Topic::DEFAULT_PARTITIONS,
    };
    let replication_factor = match &spec.replication_factor {
        Some(rf) if *rf.get_ref() == 0 => {
            return Err(Diagnostic::new(rf.span(), "replication_factor must be at least 1"))
        }
        Some(rf) if *rf.get_ref() > cluster.brokers => {
            let default = if cluster_spec.brokers.is_none() {
                " (the default)"
            } else {
                ""
            };
            return Err(Diagnostic::new(
                rf.span(),
                format!(
                    "replication_factor {} is above the broker count {}{default}; lower it or raise [cluster] brokers",
                    rf.get_ref(),
                    cluster.brokers
                ),
            ));
        }
        Some(rf) => *rf.get_ref(),
        None => Topic::DEFAULT_REPLICATION_FACTOR.min(cluster.brokers),
    };
    let config = properties(Layer::Topic, &spec.config)?;
    Ok(Topic {
        partitions,
        replication_factor,
        config,
    })
}

fn resolve_transactions(spec: Option<&Spanned<TransactionsSpec>>) -> Checked<Option<Transactions>> {
    let Some(spec) = spec else { return Ok(None) };
    let t = spec.get_ref();
    let messages = t.messages.as_ref().map(|m| *m.get_ref()).unwrap_or(Transactions::DEFAULT_MESSAGES);
    if messages == 0 {
        let at = t.messages.as_ref().map(|m| m.span()).unwrap_or(spec.span());
        return Err(Diagnostic::new(at, "transactions.messages must be at least 1"));
    }
    let timeout = duration_of(&t.timeout, "transactions.timeout", Transactions::DEFAULT_TIMEOUT)?;
    if timeout < Duration::from_secs(1) {
        let at = t.timeout.as_ref().map(|m| m.span()).unwrap_or(spec.span());
        return Err(Diagnostic::new(at, "transactions.timeout must be at least 1s (the broker's minimum)"));
    }
    Ok(Some(Transactions {
        messages,
        abort_every: t.abort_every.as_ref().map(|a| *a.get_ref()).unwrap_or(Transactions::DEFAULT_ABORT_EVERY),
        timeout,
    }))
}

fn resolve_workload(spec: &WorkloadSpec, topic: &Topic, span: Range<usize>) -> Checked<Workload> {
    let count = |v: &Option<Spanned<u32>>, default: u32| v.as_ref().map(|v| *v.get_ref()).unwrap_or(default);
    let producers = count(&spec.producers, Workload::DEFAULT_PRODUCERS);
    if producers == 0 {
        let at = spec.producers.as_ref().map(|p| p.span()).unwrap_or(span.clone());
        return Err(Diagnostic::new(at, "producers must be at least 1"));
    }
    let duration = duration_of(&spec.duration, "duration", Workload::DEFAULT_DURATION)?;
    if duration.is_zero() {
        let at = spec.duration.as_ref().map(|d| d.span()).unwrap_or(span.clone());
        return Err(Diagnostic::new(at, "duration must be longer than 0s"));
    }
    let key_routing = match &spec.key_routing {
        Some(k) => {
            let routing: KeyRouting = k.get_ref().parse().map_err(|e| Diagnostic::new(k.span(), e))?;
            if let KeyRouting::Partition(p) = routing {
                if p >= topic.partitions {
                    return Err(Diagnostic::new(
                        k.span(),
                        format!(
                            "key_routing partition {p} is out of range: partitions are 0..={}",
                            topic.partitions - 1
                        ),
                    ));
                }
            }
            routing
        }
        None => KeyRouting::RoundRobin,
    };
    let commit_every = count(&spec.commit_every, Workload::DEFAULT_COMMIT_EVERY);
    if commit_every == 0 {
        let at = spec.commit_every.as_ref().map(|c| c.span()).unwrap_or(span);
        return Err(Diagnostic::new(at, "commit_every must be at least 1"));
    }
    Ok(Workload {
        producers,
        consumers: count(&spec.consumers, Workload::DEFAULT_CONSUMERS),
        duration,
        rate: spec
            .rate
            .as_ref()
            .map(|r| *r.get_ref())
            .unwrap_or(Workload::DEFAULT_RATE),
        payload_bytes: count(&spec.payload_bytes, Workload::DEFAULT_PAYLOAD_BYTES),
        processing: duration_of(&spec.processing, "processing", Workload::DEFAULT_PROCESSING)?,
        processing_buffer: count(&spec.processing_buffer, Workload::DEFAULT_PROCESSING_BUFFER),
        key_routing,
        commit_every,
        commit_interval: {
            let interval = duration_of(&spec.commit_interval, "commit_interval", Workload::DEFAULT_COMMIT_INTERVAL)?;
            if interval.is_zero() {
                let at = spec.commit_interval.as_ref().map(|c| c.span()).unwrap_or(span.clone());
                return Err(Diagnostic::new(at, "commit_interval must be longer than 0s"));
            }
            interval
        },
        drain_timeout: duration_of(&spec.drain_timeout, "drain_timeout", Workload::DEFAULT_DRAIN_TIMEOUT)?,
        settle: duration_of(&spec.settle, "settle", Workload::DEFAULT_SETTLE)?,
        launch: match &spec.launch {
            Some(l) if external::placeholders(l.get_ref()) != ["command"] => {
                return Err(Diagnostic::new(
                    l.span(),
                    "launch must contain {command} once and no other {variable}, e.g. \"ssh loadgen-1 {command}\"",
                ))
            }
            Some(l) => Some(l.get_ref().clone()),
            None => None,
        },
        transactions: resolve_transactions(spec.transactions.as_ref())?,
        isolation: match &spec.isolation {
            Some(i) => Some(i.get_ref().parse().map_err(|e| Diagnostic::new(i.span(), e))?),
            None => None,
        },
    })
}

fn duration_of(spec: &Option<DurationSpec>, field: &str, default: &str) -> Checked<Duration> {
    match spec {
        Some(text) => parse_duration(field, text.get_ref()).map_err(|e| Diagnostic::new(text.span(), e)),
        None => Ok(parse_duration(field, default).expect("defaults parse")),
    }
}

/// A table of settings by name, each checked against its layer.
/// `[producer]` apart: librdkafka's settings (plain keys and `[producer.rdkafka]`), with their
/// positions for the checks that follow, and each other client's table, checked here.
#[allow(clippy::type_complexity)]
fn split_clients(
    table: &ClientSettingsSpec,
    role: ClientRole,
) -> Checked<(PropertiesSpec, BTreeMap<ClientKind, BTreeMap<String, String>>)> {
    let section = match role {
        ClientRole::Consumer => "consumer",
        _ => "producer",
    };
    let mut librdkafka = PropertiesSpec::new();
    let mut clients = BTreeMap::new();
    for (key, entry) in table {
        let settings = match entry.get_ref() {
            SettingOrTable::Setting(value) => {
                librdkafka.insert(key.clone(), Spanned::new(entry.span(), value.clone()));
                continue;
            }
            SettingOrTable::Table(settings) => settings,
        };
        let client: ClientKind = key.get_ref().parse().map_err(|_| {
            Diagnostic::new(
                key.span(),
                format!(
                    "[{section}.{}] is not a client's table; clients are {} (a librdkafka setting is a plain key of [{section}])",
                    key.get_ref(),
                    ClientKind::names()
                ),
            )
        })?;
        if client == ClientKind::Rdkafka {
            librdkafka.extend(settings.iter().map(|(k, v)| (k.clone(), v.clone())));
            continue;
        }
        let mut resolved = BTreeMap::new();
        for (name, value) in settings {
            let text = value.get_ref().to_property_string();
            client_settings::check(client, role, name.get_ref(), &text).map_err(|e| match e {
                SettingError::Name(m) => Diagnostic::new(name.span(), m),
                SettingError::Value(m) => Diagnostic::new(value.span(), m),
            })?;
            resolved.insert(name.get_ref().clone(), text);
        }
        clients.insert(client, resolved);
    }
    Ok((librdkafka, clients))
}

fn properties(layer: Layer, table: &PropertiesSpec) -> Checked<BTreeMap<String, String>> {
    let mut resolved = BTreeMap::new();
    for (key, value) in table {
        check_property_name(layer, key.get_ref()).map_err(|e| Diagnostic::new(key.span(), e))?;
        let text = value.get_ref().to_property_string();
        check_value(layer, key.get_ref(), &text).map_err(|e| Diagnostic::new(value.span(), e))?;
        resolved.insert(key.get_ref().clone(), text);
    }
    Ok(resolved)
}

/// The schedule of cells when the matrix has no `fault` key: the only one defined, or none.
fn default_fault(
    matrix: &Matrix,
    faults: &BTreeMap<String, Fault>,
    written: &BTreeMap<Spanned<String>, Spanned<FaultSpec>>,
) -> Checked<Option<String>> {
    if matrix.axis("fault").is_some() || faults.len() <= 1 {
        return Ok(if matrix.axis("fault").is_some() {
            None
        } else {
            faults.keys().next().cloned()
        });
    }
    let names: Vec<String> = faults.keys().map(|k| format!("\"{k}\"")).collect();
    let second = written.keys().map(|k| k.span()).max_by_key(|s| s.start).unwrap_or(TOP);
    Err(Diagnostic::new(
        second,
        format!(
            "{} fault schedules are defined but the matrix has no fault key to pick one; add fault = [{}] to [matrix]",
            faults.len(),
            names.join(", ")
        ),
    ))
}

fn resolve_expectation(
    index: usize,
    spec: &Spanned<ExpectSpec>,
    matrix: &Matrix,
    source: &Source,
) -> Checked<Expectation> {
    let expect = spec.get_ref();
    let when = match &expect.when {
        Some(w) => axes::selector(w.get_ref(), matrix, "when")?,
        None => Selector::default(),
    };
    if let Some(w) = &expect.when {
        if !matrix.cells().iter().any(|c| when.matches(c)) {
            return Err(Diagnostic::new(
                w.span(),
                format!("when {{ {when} }} selects no cell (exclude removes them all); change it or the exclude list"),
            ));
        }
    }
    if expect.counts.is_empty() {
        return Err(Diagnostic::new(
            spec.span(),
            "this expectation has no count to check; add one, e.g. lost = 0",
        ));
    }
    let mut rules = Vec::new();
    for (key, bound) in &expect.counts {
        let count: Count = key.get_ref().parse().map_err(|e| Diagnostic::new(key.span(), e))?;
        let b = bound.get_ref();
        if let (Some(min), Some(max)) = (b.min, b.max) {
            if min > max {
                return Err(Diagnostic::new(
                    bound.span(),
                    format!("{count}: min {min} is above max {max}"),
                ));
            }
        }
        if b.min.is_none() && b.max.is_none() {
            return Err(Diagnostic::new(
                bound.span(),
                format!("{count} has no bound; write e.g. {{ min = 1 }} or {{ max = 0 }}"),
            ));
        }
        rules.push(Rule {
            count,
            bound: Bound {
                min: b.min.unwrap_or(0),
                max: b.max,
            },
            when: when.to_string(),
            claim: expect.claim.clone(),
            source: source.location(&key.span()),
            expectation: index,
        });
    }
    Ok(Expectation {
        when,
        claim: expect.claim.clone(),
        rules,
    })
}
