//! Words shared by the text reports: fault labels, where lost messages were acked, numbers and
//! durations. Only formatting: every figure comes from the summary and the analyses.

use crate::checker::{Analysis, FaultWindow, LostInWindow, Relation};
use crate::summary::Verdict;

/// `kill leader:0 (broker-2)`: the action, the target as written, and what it resolved to.
pub fn fault_label(window: &FaultWindow) -> String {
    match window.spec.as_deref() {
        Some(spec) if spec != window.target => format!("{} {spec} ({})", window.action, window.target),
        _ => format!("{} {}", window.action, window.target),
    }
}

/// `12.0–27.3 s`, with `?` for a start or an end the history does not have.
pub fn window_span(window: &FaultWindow) -> String {
    let at = |ms: Option<f64>| ms.map_or("?".to_string(), |ms| format!("{:.1}", ms / 1000.0));
    format!("{}–{} s", at(window.start_ms), at(window.end_ms))
}

/// The lost messages of one fault window, in parts a renderer can mark up.
#[derive(Debug, Clone, PartialEq)]
pub struct LostExplained {
    pub count: u64,
    /// `during`, `after` or `before any fault`.
    pub relation: &'static str,
    /// The fault's label, None before any fault.
    pub fault: Option<String>,
    /// `12.0–27.3 s` during a window; `ended at 27.3 s` after one.
    pub window: Option<String>,
    /// When the first and the last of them were acked: `12.4–19.8 s`.
    pub acked: String,
}

impl LostExplained {
    /// `412 lost, acked during `kill leader:0 (broker-2)` 12.0–27.3 s (first 12.4 s, last 19.8 s)`,
    /// with `code` marking up the fault label.
    pub fn sentence(&self, code: impl Fn(&str) -> String) -> String {
        let mut s = format!("{} lost, acked {}", thousands(self.count), self.relation);
        if let Some(fault) = &self.fault {
            s.push(' ');
            s.push_str(&code(fault));
        }
        if let Some(window) = &self.window {
            s.push(' ');
            s.push_str(window);
        }
        s.push_str(&format!(" (acked {})", self.acked));
        s
    }
}

/// Every lost message of a cell, by the fault window it was acked in.
pub fn lost_explained(analysis: &Analysis) -> Vec<LostExplained> {
    analysis.lost.by_fault.iter().map(|w| explain(w, &analysis.faults)).collect()
}

fn explain(lost: &LostInWindow, faults: &[FaultWindow]) -> LostExplained {
    let window = lost.context.fault.and_then(|i| faults.get(i));
    let (relation, span) = match (lost.context.relation, window) {
        (Relation::During, Some(w)) => ("during", Some(window_span(w))),
        (Relation::After, Some(w)) => {
            ("after", Some(w.end_ms.map_or("ended".to_string(), |e| format!("ended at {:.1} s", e / 1000.0))))
        }
        _ => ("before any fault", None),
    };
    LostExplained {
        count: lost.count,
        relation,
        fault: window.map(fault_label),
        window: span,
        acked: ms_span(lost.first_acked_ms, lost.last_acked_ms),
    }
}

fn ms_span(first: f64, last: f64) -> String {
    if (first - last).abs() < 50.0 {
        format!("at {:.1} s", first / 1000.0)
    } else {
        format!("{:.1}–{:.1} s", first / 1000.0, last / 1000.0)
    }
}

/// One step of a cell's fault schedule: what the plan said and what ran.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// `2. kill leader:0`.
    pub step: String,
    /// `at 10 s, then once ...; restart 15 s after it took effect`.
    pub planned: String,
    /// `12.4 s: 500 writes ... (506 after 2.4 s)`, or `did not fire: ...`.
    pub fired: String,
    /// Per victim: `broker-2 killed at 12.5 s (observed after 430 ms), restarted by 31.5 s (took 14.3 s)`.
    pub victims: Vec<String>,
    /// Why this step is no evidence of what the plan asked for.
    pub problem: Option<String>,
}

/// The fault schedule of a cell as planned and as run, from its analysis.
pub fn executed_schedule(analysis: &Analysis) -> Vec<StepRow> {
    let planned = analysis.evidence.cell.as_ref().map(|c| c.steps.as_slice()).unwrap_or_default();
    analysis
        .evidence
        .steps
        .iter()
        .map(|s| {
            let plan = planned.get(s.step as usize);
            let fired = match (s.fired_ms, &s.why) {
                (Some(ms), Some(why)) => format!("{:.1} s: {why}", ms / 1000.0),
                (Some(ms), None) => format!("{:.1} s", ms / 1000.0),
                (None, Some(why)) => format!("did not fire: {why}"),
                (None, None) => "no record".into(),
            };
            let victims = s
                .victims
                .iter()
                .map(|v| {
                    let mut text = v.target.clone();
                    if let Some(at) = v.applied_ms {
                        text.push_str(&format!(" {} at {:.1} s", s.action.row().past, at / 1000.0));
                        if let Some(took) = v.observed_after_ms {
                            text.push_str(&format!(" (observed after {})", millis(took)));
                        }
                        if let Some(bytes) = v.discarded_bytes {
                            text.push_str(&format!(", {bytes} unsynced bytes lost"));
                        }
                    }
                    if let Some(at) = v.healed_ms {
                        let verb = s.action.row().healed;
                        text.push_str(&format!(", {verb} by {:.1} s", at / 1000.0));
                        if let Some(took) = v.heal_took_ms {
                            text.push_str(&format!(" (took {})", millis(took)));
                        }
                    }
                    if let Some(problem) = &v.problem {
                        text.push_str(&format!(": {problem}"));
                    }
                    text
                })
                .collect();
            StepRow {
                step: format!("{}. {} {}", s.step + 1, s.action, s.target),
                planned: plan.map_or_else(|| s.planned.clone(), |p| format!("{}; {}", p.firing(), p.healing())),
                fired,
                victims,
                problem: s.problem.clone(),
            }
        })
        .collect()
}

/// One line on how much of the cluster was down at once, as run and as planned; None when no
/// broker or controller was faulted.
pub fn outage_line(analysis: &Analysis) -> Option<String> {
    let o = &analysis.evidence.outage;
    if o.max_brokers_down == 0 && o.quorum_lost.is_empty() {
        return None;
    }
    let mut line = format!(
        "at most {} broker(s) down at once (the schedule implies {})",
        o.max_brokers_down, o.planned_max_brokers_down
    );
    for (from, to) in &o.quorum_lost {
        let to = to.map_or("the end".to_string(), |t| format!("{:.1} s", t / 1000.0));
        let planned = if o.quorum_loss_planned { "as the schedule implies" } else { "NOT implied by the schedule" };
        line.push_str(&format!("; controller quorum lost {:.1} s to {to} ({planned})", from / 1000.0));
    }
    Some(line)
}

/// `97.3%`: the share of messages with a definite outcome.
pub fn definite(counts: &crate::checker::Counts) -> String {
    format!("{:.1}%", counts.definite_share() * 100.0)
}

pub fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
    }
}

/// `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `9 min 12 s`, `42.0 s`, `1 h 3 min`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{} h {} min", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64)
    }
}

/// `850 ms`, `1.2 s`, `0.4 ms`.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// The config of a cell as `acks=all, commit=manual-sync`, leaving out `skip`.
pub fn config_text<'a>(config: impl IntoIterator<Item = (&'a String, &'a String)>, skip: &str) -> String {
    let parts: Vec<String> = config.into_iter().filter(|(k, _)| *k != skip).map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(duration(42.04), "42.0 s");
        assert_eq!(duration(552.0), "9 min 12 s");
        assert_eq!(millis(850.4), "850 ms");
        assert_eq!(millis(1234.0), "1.2 s");
    }

    #[test]
    fn fault_labels_show_the_spec_and_what_it_resolved_to() {
        let w = FaultWindow {
            action: crate::model::FaultActionKind::Kill,
            target: "broker-2".into(),
            spec: Some("leader:0".into()),
            step: Some(1),
            start_ms: Some(12_000.0),
            end_ms: Some(27_300.0),
        };
        assert_eq!(fault_label(&w), "kill leader:0 (broker-2)");
        assert_eq!(window_span(&w), "12.0–27.3 s");
        let plain = FaultWindow { spec: None, end_ms: None, ..w };
        assert_eq!(fault_label(&plain), "kill broker-2");
        assert_eq!(window_span(&plain), "12.0–? s");
    }
}
