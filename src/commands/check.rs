//! `check`: validate a scenario and print its plan, without Docker. `load` is also how `run` reads
//! a scenario, so both reject an invalid file identically, before anything starts.

use crate::cli::CheckArgs;
use crate::error::Result;
use crate::plan::{Cell, Plan};
use crate::model::workload::format_duration;
use crate::scenario::{FaultStep, Rule, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub fn run(args: CheckArgs) -> Result<i32> {
    let (scenario, plan) = load(&args.scenario, args.seed)?;
    print!("{}", render(&scenario, &plan));
    Ok(0)
}

/// Read, check and plan a scenario; `seed_override` replaces the scenario's seed (`--seed`). The
/// plan repeats cells as the scenario's `repeat` says; `run --repeat N` (N > 1) replans with
/// `Plan::new(&scenario, N)`.
pub fn load(path: &Path, seed_override: Option<u64>) -> Result<(Scenario, Plan)> {
    let mut scenario = Scenario::load(path)?;
    if let Some(seed) = seed_override {
        scenario.seed = seed;
    }
    let plan = Plan::new(&scenario, scenario.repeat);
    Ok((scenario, plan))
}

/// The plan as a reader wants to check it: what runs, with which settings, which faults when,
/// what is expected, and how long it takes.
pub fn render(scenario: &Scenario, plan: &Plan) -> String {
    let mut out = String::new();
    let o = &mut out;
    let c = &scenario.cluster;
    let t = &scenario.topic;
    let w = &scenario.workload;
    line(o, "scenario", &scenario.name);
    if !scenario.description.is_empty() {
        line(o, "", &scenario.description);
    }
    line(o, "file", &scenario.path.display().to_string());
    line(o, "seed", &plan.seed.to_string());
    match &c.external {
        Some(e) => {
            let ids: Vec<String> = e.nodes.keys().map(i32::to_string).collect();
            let hooks: Vec<&str> = e.hooks.keys().map(|a| a.as_str()).collect();
            line(o, "cluster", &format!("external at {}, brokers {}", e.bootstrap, ids.join(", ")));
            line(o, "", &format!("hooks: {}; topics it creates start with {}", hooks.join(", "), e.topic_prefix));
            if let Some(s) = &e.security {
                let sasl = s.sasl.as_ref().map(|a| format!(", {} as {} (password from ${})", a.mechanism.as_str(), a.username, a.password_env));
                let ca = s.ca_file.as_ref().map(|f| format!(", trusting {f}"));
                line(o, "", &format!("security: {}{}{}", s.protocol.as_str(), sasl.unwrap_or_default(), ca.unwrap_or_default()));
            }
        }
        None => {
            let roles = if c.controllers == 0 {
                "each also a KRaft controller".to_string()
            } else {
                format!("{} dedicated controllers", c.controllers)
            };
            line(o, "cluster", &format!("{} brokers ({roles}), Kafka {}", c.brokers, c.kafka_version));
            line(o, "", &format!("broker config: {}", pairs(&c.broker_config)));
        }
    }
    line(
        o,
        "topic",
        &format!(
            "{} partitions, replication factor {}",
            t.partitions, t.replication_factor
        ),
    );
    line(o, "", &format!("topic config: {}", pairs(&t.config)));
    let rate = if w.rate == 0 {
        "as fast as they can".to_string()
    } else {
        format!("{} msg/s in total", w.rate)
    };
    line(
        o,
        "workload",
        &format!(
            "{} producer(s), {rate}, {}-byte payloads, keys {}, for {}",
            w.producers,
            w.payload_bytes,
            w.key_routing,
            format_duration(w.duration)
        ),
    );
    if plan.cells.iter().any(|c| !c.faults.is_empty()) {
        line(
            o,
            "",
            &format!(
                "and on while the steps heal, until {} after the last heal (at most {} past {})",
                format_duration(crate::runner::HEAL_TAIL),
                format_duration(crate::runner::RUN_EXTENSION),
                format_duration(w.duration)
            ),
        );
    }
    if let Some(launch) = &w.launch {
        line(o, "", &format!("workers start through: {launch}"));
    }
    let processing = if w.processing.is_zero() {
        "no processing time".to_string()
    } else {
        format!("{} per record", format_duration(w.processing))
    };
    let buffer = if w.processing_buffer == 0 {
        "processed in the poll loop".to_string()
    } else {
        format!("buffer of {} records", w.processing_buffer)
    };
    let manual = if plan.cells.iter().any(|c| c.commit.is_manual()) {
        format!(
            ", explicit commits every {} record(s) or {}",
            w.commit_every,
            format_duration(w.commit_interval)
        )
    } else {
        String::new()
    };
    line(
        o,
        "",
        &format!("{} consumer(s), {processing}, {buffer}{manual}", w.consumers),
    );
    line(
        o,
        "",
        &format!(
            "after the run: heal every fault, settle {}, drain for up to {}",
            format_duration(w.settle),
            format_duration(w.drain_timeout)
        ),
    );
    for warning in drain_warnings(plan) {
        line(o, "", &warning);
    }
    line(o, "producer", &pairs(&scenario.producer));
    line(o, "consumer", &pairs(&scenario.consumer));
    render_matrix(o, scenario, plan);
    render_faults(o, scenario);
    let _ = writeln!(o);
    for (i, cell) in plan.cells.iter().enumerate() {
        render_cell(o, plan, cell, i);
    }
    render_estimate(o, plan);
    out
}

/// Where the producers' rate exceeds what the consumers can process and commit (per commit mode
/// used): a note when they drain the backlog within `drain_timeout`, a warning when they likely
/// will not, since consumer-side rules then go unjudged.
pub fn drain_warnings(plan: &Plan) -> Vec<String> {
    let w = &plan.workload;
    if w.consumers == 0 || w.rate == 0 {
        return Vec::new();
    }
    let modes: std::collections::BTreeSet<_> = plan.cells.iter().map(|c| c.commit).collect();
    let mut out = Vec::new();
    for mode in modes {
        let Some(capacity) = w.consumer_capacity_with(mode) else { continue };
        if capacity >= w.rate as f64 {
            continue;
        }
        let backlog = (w.rate as f64 - capacity) * w.duration.as_secs_f64();
        let drain = std::time::Duration::from_secs_f64(backlog / capacity);
        if drain > w.drain_timeout {
            out.push(format!(
                "warning: in {mode} cells the consumers process and commit about {} msg/s, less than the rate ({} msg/s): \
                 {} records behind after the run, about {} to drain, more than drain_timeout ({}); consumer-side rules \
                 would go unjudged. Lower the rate, raise drain_timeout, or commit less often (commit_every)",
                capacity as u64,
                w.rate,
                backlog as u64,
                format_duration(round_s(drain)),
                format_duration(w.drain_timeout)
            ));
        } else {
            out.push(format!(
                "note: in {mode} cells the consumers process and commit about {} msg/s, less than the rate; they drain about {} after the run",
                capacity as u64,
                format_duration(round_s(drain))
            ));
        }
    }
    out
}

fn render_matrix(o: &mut String, scenario: &Scenario, plan: &Plan) {
    let m = &scenario.matrix;
    if m.axes.is_empty() {
        line(o, "matrix", "(none: one cell with the base settings)");
    }
    for (i, axis) in m.axes.iter().enumerate() {
        let label = if i == 0 { "matrix" } else { "" };
        line(
            o,
            label,
            &format!("{} ({}): {}", axis.key, axis.layer, axis.values.join(", ")),
        );
    }
    for (i, exclude) in m.exclude.iter().enumerate() {
        let label = if i == 0 { "exclude" } else { "" };
        line(o, label, &exclude.to_string());
    }
    let distinct = plan.cells.len() / plan.repeat.max(1) as usize;
    let repeat = if plan.repeat > 1 {
        format!(", each run {} times", plan.repeat)
    } else {
        String::new()
    };
    line(
        o,
        "cells",
        &format!(
            "{} combinations, {} excluded, {distinct} cells{repeat}",
            m.combination_count(),
            m.combination_count() - distinct
        ),
    );
}

fn render_faults(o: &mut String, scenario: &Scenario) {
    for (i, fault) in scenario.faults.values().enumerate() {
        let label = if i == 0 { "faults" } else { "" };
        let steps: Vec<String> = fault.steps.iter().map(step_summary).collect();
        line(o, label, &format!("{}: {}", fault.name, steps.join("; ")));
    }
}

fn step_summary(step: &FaultStep) -> String {
    format!("{} {} {}", step.action, step.written_target(), step.firing())
}

fn render_cell(o: &mut String, plan: &Plan, cell: &Cell, i: usize) {
    let _ = writeln!(o, "cell {}/{}  {}", i + 1, plan.cells.len(), cell.id);
    let config: Vec<String> = plan
        .keys
        .iter()
        .map(|k| format!("{}={}", k.key, cell.config[&k.key]))
        .collect();
    if !config.is_empty() {
        sub(o, "config", &config.join(" "));
    }
    if cell.faults.is_empty() {
        sub(o, "faults", "none");
    }
    for (j, step) in cell.faults.iter().enumerate() {
        let drawn = match step.drawn_from {
            Some(from) => format!(" (drawn for {from})"),
            None => String::new(),
        };
        let text = format!("{}. {} {}{drawn} {}; {}", j + 1, step.action, step.target, step.firing(), step.healing());
        sub(o, if j == 0 { "faults" } else { "" }, &text);
    }
    if cell.expectations.is_empty() {
        sub(o, "expect", "(none)");
    }
    // One line per [[expect]]: its bounds, the line it starts on, and its claim.
    let mut groups: Vec<(usize, &Rule, Vec<String>)> = Vec::new();
    for rule in &cell.expectations {
        match groups.last_mut() {
            Some((e, _, rules)) if *e == rule.expectation => rules.push(rule.to_string()),
            _ => groups.push((rule.expectation, rule, vec![rule.to_string()])),
        }
    }
    for (j, (_, first, rules)) in groups.iter().enumerate() {
        let claim = first.claim.as_ref().map(|c| format!(": {c}")).unwrap_or_default();
        let text = format!("{}  (line {}{claim})", rules.join(", "), line_number(&first.source));
        sub(o, if j == 0 { "expect" } else { "" }, &text);
    }
    let _ = writeln!(o);
}

fn render_estimate(o: &mut String, plan: &Plan) {
    let e = plan.estimate();
    let starts = if e.cluster_starts == 1 {
        "1 cluster start".to_string()
    } else {
        format!("{} cluster starts", e.cluster_starts)
    };
    let _ = writeln!(
        o,
        "estimated wall time: {} cells x ({} run + ~{} drain + {} settle + ~{} topic setup) + {starts} (~{} each) = ~{}",
        e.cells,
        format_duration(e.run),
        format_duration(round_s(e.drain)),
        format_duration(e.settle),
        format_duration(e.setup),
        format_duration(crate::plan::CLUSTER_START),
        format_duration(round_s(e.total)),
    );
    if e.worst > e.total {
        let _ = writeln!(
            o,
            "at most ~{} if every drain runs into drain_timeout",
            format_duration(round_s(e.worst))
        );
    }
}

/// The line of a rule's `path:line:col`.
fn line_number(source: &str) -> &str {
    source.rsplit(':').nth(1).unwrap_or(source)
}

fn round_s(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs_f64().round() as u64)
}


fn pairs(map: &BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return "(defaults)".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn line(o: &mut String, label: &str, text: &str) {
    let _ = writeln!(o, "{label:<10}{text}");
}

fn sub(o: &mut String, label: &str, text: &str) {
    let _ = writeln!(o, "  {label:<8}{text}");
}
