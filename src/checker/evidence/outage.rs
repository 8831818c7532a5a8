//! How much of the cluster was down at once, as run and as planned.

use super::*;

/// A victim window that makes a broker or controller unavailable: `[from, to)`, to = None if it
/// never healed.
pub(super) struct Down {
    node: String,
    from: f64,
    to: Option<f64>,
}

pub(super) fn outage(cell: &CellEvent, steps: &[StepEvidence]) -> Outage {
    let downs: Vec<Down> = steps
        .iter()
        .flat_map(|s| s.victims.iter())
        .filter(|v| NodeKind::parse(&v.target).is_some())
        .filter_map(|v| v.applied_ms.map(|from| Down { node: v.target.clone(), from, to: v.healed_ms }))
        .collect();
    let kind = |node: &str| NodeKind::parse(node).map(|(kind, _)| kind);
    let is_voter = |node: &str| kind(node) == Some(if cell.controllers == 0 { NodeKind::Broker } else { NodeKind::Controller });
    let max_brokers_down = most_at_once(downs.iter().filter(|d| kind(&d.node) == Some(NodeKind::Broker)));
    let voters = if cell.controllers == 0 { cell.brokers } else { cell.controllers } as u32;
    let may_lose = voters - (voters / 2 + 1);
    let quorum_lost = above(downs.iter().filter(|d| is_voter(&d.node)), may_lose);
    let (planned_brokers, planned_voters) = planned_down(cell);
    Outage {
        max_brokers_down,
        planned_max_brokers_down: planned_brokers,
        quorum_lost,
        quorum_loss_planned: planned_voters > may_lose,
    }
}

/// The most windows open at one moment.
pub(super) fn most_at_once<'a>(downs: impl Iterator<Item = &'a Down>) -> u32 {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for d in downs {
        edges.push((d.from, 1));
        edges.push((d.to.unwrap_or(f64::INFINITY), -1));
    }
    // Ends before starts at the same moment: a heal and the next fault do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, change) in edges {
        open += change;
        most = most.max(open);
    }
    most as u32
}

/// The spans during which more than `limit` windows are open.
pub(super) fn above<'a>(downs: impl Iterator<Item = &'a Down>, limit: u32) -> Vec<(f64, Option<f64>)> {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for d in downs {
        edges.push((d.from, 1));
        edges.push((d.to.unwrap_or(f64::INFINITY), -1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut spans = Vec::new();
    let mut open = 0i32;
    let mut since = None;
    for (at, change) in edges {
        open += change;
        match (open as i64 > limit as i64, since) {
            (true, None) => since = Some(at),
            (false, Some(from)) => {
                spans.push((from, at.is_finite().then_some(at)));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(from) = since {
        spans.push((from, None));
    }
    spans
}

/// Brokers and voters the schedule takes down at once, if every step fired at its time and
/// healed when due.
pub(super) fn planned_down(cell: &CellEvent) -> (u32, u32) {
    let end = cell.duration_ms as f64;
    let mut brokers = Vec::new();
    let mut voters = Vec::new();
    for (i, step) in cell.steps.iter().enumerate() {
        let from = step.at_ms as f64;
        let to = match (step.heal_after_ms, step.heal_after_next) {
            (Some(h), _) => from + h as f64,
            // Healed just after the next step took effect: the two overlap.
            (None, true) => cell.steps.get(i + 1).map_or(end, |next| (next.at_ms as f64).max(from) + 1.0),
            (None, false) => end,
        };
        let kind = step.target.kind();
        let count = match step.target {
            FaultTarget::Followers(_) => u32::from(cell.replication_factor.saturating_sub(1)),
            FaultTarget::Brokers(mask) => mask.count_ones(),
            FaultTarget::AllBrokers => u32::from(cell.brokers),
            FaultTarget::Consumer(_) | FaultTarget::Producer(_) => 0,
            FaultTarget::Leader(_) | FaultTarget::Controller | FaultTarget::Broker(_) | FaultTarget::RandomBroker => 1,
        };
        let on_brokers = kind != FaultTargetKind::Controller || cell.controllers == 0;
        let on_voters = cell.controllers == 0 || kind == FaultTargetKind::Controller;
        for k in 0..count {
            let down = Down { node: format!("{i}-{k}"), from, to: Some(to) };
            if on_voters {
                voters.push(Down { node: down.node.clone(), from, to: Some(to) });
            }
            if on_brokers {
                brokers.push(down);
            }
        }
    }
    (most_at_once(brokers.iter()), most_at_once(voters.iter()))
}
