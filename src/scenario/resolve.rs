//! From a `ScenarioSpec` (as written) to a `Scenario` (checked, defaults applied). Every check that
//! can fail a run before it starts is here, and each failure points at the value to change.

use super::environment::{Cluster, Topic};
use super::expect::{Bound, Count, Expectation, Rule};
use super::fault::{Fault, FaultActionKind, FaultStep, FaultTarget, TargetBounds, NO_FAULT};
use super::matrix::{Matrix, Selector, MAX_COMBINATIONS};
use super::property::{check_property_name, check_value, Layer};
use super::source::{Checked, Diagnostic, Source};
use super::spec::{
    ClusterSpec, DurationSpec, ExpectSpec, FaultSpec, FaultStepSpec, PropertiesSpec, ScenarioSpec, TopicSpec,
    WorkloadSpec,
};
use super::workload::{format_duration, parse_duration, KeyRouting, Workload};
use super::Scenario;
use super::{axes, cell_checks};
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

/// Where an error about a value the file does not contain points: its table, else the top.
const TOP: Range<usize> = 0..0;

pub fn resolve(spec: ScenarioSpec, source: &Source) -> Checked<Scenario> {
    let name = check_name(&spec.name)?;
    let repeat = match &spec.repeat {
        Some(r) if *r.get_ref() == 0 => return Err(Diagnostic::new(r.span(), "repeat must be at least 1")),
        Some(r) => *r.get_ref(),
        None => 1,
    };
    let cluster_spec = spec.cluster.map(Spanned::into_inner).unwrap_or_default();
    let cluster = resolve_cluster(&cluster_spec)?;
    let topic_spec = spec.topic.map(Spanned::into_inner).unwrap_or_default();
    let topic = resolve_topic(&topic_spec, &cluster_spec, &cluster)?;
    let workload_span = spec.workload.as_ref().map(|w| w.span()).unwrap_or(TOP);
    let workload_spec = spec.workload.map(Spanned::into_inner).unwrap_or_default();
    let workload = resolve_workload(&workload_spec, &topic, workload_span)?;
    let producer = properties(Layer::Producer, &spec.producer)?;
    let consumer = properties(Layer::Consumer, &spec.consumer)?;

    let bounds = TargetBounds {
        brokers: cluster.brokers.into(),
        partitions: topic.partitions,
        replication_factor: topic.replication_factor.into(),
        consumers: workload.consumers,
        producers: workload.producers,
    };
    let mut faults = BTreeMap::new();
    for (name, fault) in &spec.faults {
        check_schedule_name(name)?;
        let steps = fault
            .get_ref()
            .steps
            .iter()
            .map(|step| resolve_step(step, &bounds, workload.duration))
            .collect::<Checked<Vec<_>>>()?;
        let mut steps = steps;
        steps.sort_by_key(|s| s.at_ms);
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
    cell_checks::check_idempotence(&matrix_spec.axes, &matrix, &spec.producer)?;

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

fn resolve_cluster(spec: &ClusterSpec) -> Checked<Cluster> {
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
        Some(v) => v.get_ref().clone(),
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
        drain_timeout: duration_of(&spec.drain_timeout, "drain_timeout", Workload::DEFAULT_DRAIN_TIMEOUT)?,
        settle: duration_of(&spec.settle, "settle", Workload::DEFAULT_SETTLE)?,
    })
}

fn duration_of(spec: &Option<DurationSpec>, field: &str, default: &str) -> Checked<Duration> {
    match spec {
        Some(text) => parse_duration(field, text.get_ref()).map_err(|e| Diagnostic::new(text.span(), e)),
        None => Ok(parse_duration(field, default).expect("defaults parse")),
    }
}

/// A table of settings by name, each checked against its layer.
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

fn resolve_step(step: &Spanned<FaultStepSpec>, bounds: &TargetBounds, run: Duration) -> Checked<FaultStep> {
    let spec = step.get_ref();
    let at = parse_duration("at", spec.at.get_ref()).map_err(|e| Diagnostic::new(spec.at.span(), e))?;
    let action: FaultActionKind = spec
        .action
        .get_ref()
        .parse()
        .map_err(|e| Diagnostic::new(spec.action.span(), e))?;
    let target: FaultTarget = spec
        .target
        .get_ref()
        .parse()
        .map_err(|e| Diagnostic::new(spec.target.span(), e))?;
    target
        .check(action, bounds)
        .map_err(|e| Diagnostic::new(spec.target.span(), e))?;
    if at >= run {
        return Err(Diagnostic::new(
            spec.at.span(),
            format!(
                "fault at {} is not within the run: [workload] duration is {}; move it earlier or lengthen the run",
                format_duration(at),
                format_duration(run)
            ),
        ));
    }
    let heal_after = match &spec.heal_after {
        Some(h) => {
            let d = parse_duration("heal_after", h.get_ref()).map_err(|e| Diagnostic::new(h.span(), e))?;
            if d.is_zero() {
                return Err(Diagnostic::new(
                    h.span(),
                    "heal_after must be longer than 0s; leave it out to heal at the end of the run",
                ));
            }
            Some(d.as_millis() as u64)
        }
        None => None,
    };
    Ok(FaultStep {
        at_ms: at.as_millis() as u64,
        action,
        target,
        heal_after_ms: heal_after,
        drawn_from: None,
    })
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
