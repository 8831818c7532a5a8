//! Fault windows from the fault events, and where in them a moment falls. Only faults that were
//! applied make a window: a step that failed to apply broke nothing, and no loss is put on it.

use super::analysis::{FaultContext, FaultWindow, Relation};
use crate::history::{FaultEvent, FaultPhase};
use crate::history_reader::LinePosition;
use std::collections::{HashMap, VecDeque};

/// Pairs each start with the next end of the same action on the same target, in time order. A
/// heal that failed leaves its window open (to the end of the run); a fault that failed to apply
/// makes none.
pub(crate) fn windows(mut events: Vec<(FaultEvent, LinePosition)>) -> Vec<FaultWindow> {
    events.sort_by(|a, b| a.0.time_ms.total_cmp(&b.0.time_ms).then(a.1.cmp(&b.1)));
    let mut windows: Vec<FaultWindow> = Vec::new();
    let mut open: HashMap<(crate::model::FaultActionKind, String), VecDeque<usize>> = HashMap::new();
    for (event, _) in events {
        let key = (event.action, event.target.clone());
        match event.phase {
            FaultPhase::Start => {
                open.entry(key).or_default().push_back(windows.len());
                windows.push(FaultWindow {
                    action: event.action,
                    target: event.target,
                    spec: event.spec,
                    step: event.step,
                    start_ms: Some(event.time_ms),
                    end_ms: None,
                });
            }
            FaultPhase::End => match open.get_mut(&key).and_then(VecDeque::pop_front) {
                Some(index) => windows[index].end_ms = Some(event.time_ms),
                None => windows.push(FaultWindow {
                    action: event.action,
                    target: event.target,
                    spec: event.spec,
                    step: event.step,
                    start_ms: None,
                    end_ms: Some(event.time_ms),
                }),
            },
            // The window of a failed heal stays open; a failed fault never opened one.
            FaultPhase::HealFailed => {
                open.get_mut(&key).and_then(VecDeque::pop_front);
            }
            FaultPhase::Failed => {}
        }
    }
    windows
}

/// Which window a moment falls in: the latest-started window holding it; else the window that
/// ended last before it; else none.
pub(crate) fn locate(windows: &[FaultWindow], time_ms: f64) -> (Relation, Option<usize>) {
    let during = windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.start_ms.is_none_or(|s| s <= time_ms) && w.end_ms.is_none_or(|e| time_ms <= e))
        .max_by(|a, b| a.1.start_ms.unwrap_or(f64::MIN).total_cmp(&b.1.start_ms.unwrap_or(f64::MIN)));
    if let Some((index, _)) = during {
        return (Relation::During, Some(index));
    }
    let after = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.end_ms.filter(|&e| e <= time_ms).map(|e| (i, e)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match after {
        Some((index, _)) => (Relation::After, Some(index)),
        None => (Relation::BeforeAnyFault, None),
    }
}

pub(crate) fn context(windows: &[FaultWindow], relation: Relation, fault: Option<usize>) -> FaultContext {
    let window = fault.map(|i| &windows[i]);
    let reason = match (relation, window) {
        (Relation::During, Some(w)) => match (w.start_ms, w.end_ms) {
            (Some(s), Some(e)) => format!("during {} {} ({} to {})", w.action, w.target, seconds(s), seconds(e)),
            (Some(s), None) => format!("during {} {} (from {}, never ended)", w.action, w.target, seconds(s)),
            (None, Some(e)) => format!("during {} {} (start not recorded, ended {})", w.action, w.target, seconds(e)),
            (None, None) => format!("during {} {}", w.action, w.target),
        },
        (Relation::After, Some(w)) => {
            format!("after {} {} ended at {}", w.action, w.target, seconds(w.end_ms.unwrap_or_default()))
        }
        _ => "before any fault".to_string(),
    };
    FaultContext {
        relation,
        fault,
        action: window.map(|w| w.action.clone()),
        target: window.map(|w| w.target.clone()),
        start_ms: window.and_then(|w| w.start_ms),
        end_ms: window.and_then(|w| w.end_ms),
        reason,
    }
}

pub(crate) fn seconds(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}
