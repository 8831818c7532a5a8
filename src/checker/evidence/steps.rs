//! Each planned step as run: fired or not, applied to and healed on each victim, and what ran
//! later or otherwise than the plan intended.

use super::*;

pub(super) fn steps(planned: &[FaultStep], fired: &BTreeMap<u32, StepEvent>, faults: &[FaultEvent]) -> Vec<StepEvidence> {
    planned
        .iter()
        .enumerate()
        .map(|(i, plan)| {
            let i = i as u32;
            let label = format!("step {} ({} {})", i + 1, plan.action, plan.written_target());
            let event = fired.get(&i);
            let mut victims: Vec<VictimEvidence> = Vec::new();
            for f in faults.iter().filter(|f| f.step == Some(i)) {
                let index = match victims.iter().position(|v| v.target == f.target) {
                    Some(index) => index,
                    None => {
                        victims.push(VictimEvidence { target: f.target.clone(), ..VictimEvidence::default() });
                        victims.len() - 1
                    }
                };
                let v = &mut victims[index];
                let detail = f.detail.clone().unwrap_or_default();
                match f.phase {
                    FaultPhase::Start => {
                        v.applied_ms = Some(f.time_ms);
                        v.observed_after_ms = f.took_ms;
                        v.discarded_bytes = f.discarded();
                    }
                    FaultPhase::End => {
                        v.healed_ms = Some(f.time_ms);
                        v.heal_took_ms = f.took_ms;
                    }
                    FaultPhase::Failed => v.problem = Some(format!("could not be applied to {}: {detail}", f.target)),
                    FaultPhase::HealFailed => {
                        v.problem = Some(format!("{} of {} failed: {detail}", plan.action.heal_verb(), f.target))
                    }
                }
            }
            for v in &mut victims {
                if v.problem.is_none() && v.applied_ms.is_some() && v.healed_ms.is_none() {
                    v.problem = Some(format!("{} was never healed", v.target));
                }
            }
            let problem = match event {
                None => Some(format!("{label} left no record: the run ended before it")),
                Some(e) if e.state == StepState::NotFired => Some(format!("{label} did not fire: {}", e.why)),
                Some(_) if victims.is_empty() => Some(format!("{label} fired but hit nothing")),
                Some(_) => victims.iter().find_map(|v| v.problem.as_ref()).map(|p| format!("{label} {p}")),
            };
            StepEvidence {
                step: i,
                action: plan.action,
                target: plan.written_target().to_string(),
                planned: plan.firing(),
                fired_ms: event.filter(|e| e.state == StepState::Fired).map(|e| e.time_ms),
                why: event.map(|e| e.why.clone()),
                victims,
                problem,
            }
        })
        .collect()
}

pub(super) fn deviations(cell: &CellEvent, evidence: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    let end = cell.duration_ms as f64;
    for (i, (plan, seen)) in cell.steps.iter().zip(&evidence.steps).enumerate() {
        let label = format!("step {} ({} {})", i + 1, seen.action, seen.target);
        if let Some(fired) = seen.fired_ms {
            let late = fired - plan.at_ms as f64;
            if !plan.is_triggered() && late > LATE_FIRE_MS {
                out.push(format!("{label} fired at {}, {} after its time", seconds(fired), seconds(late)));
            }
        }
        let applied = seen.victims.iter().filter_map(|v| v.applied_ms).fold(f64::INFINITY, f64::min);
        let due = match (plan.heal_after_ms, plan.heal_after_next) {
            (Some(h), _) => applied + h as f64,
            (None, true) => evidence
                .steps
                .get(i + 1)
                .and_then(|next| next.victims.iter().filter_map(|v| v.applied_ms).reduce(f64::min))
                .unwrap_or(end),
            (None, false) => end,
        };
        for v in &seen.victims {
            if let Some(took) = v.observed_after_ms.filter(|t| *t > SLOW_EFFECT_MS) {
                out.push(format!("{label}: {} {} took {} to be observed", seen.action, v.target, seconds(took)));
            }
            // Late is a heal that began late; one that takes long (a broker's JVM, its catching
            // up) is the fault lasting longer, which the fault window shows.
            if let Some(healed) = v.healed_ms {
                let began = healed - v.heal_took_ms.unwrap_or(0.0);
                if due.is_finite() && began - due > LATE_HEAL_MS {
                    let verb = plan.action.heal_verb();
                    out.push(format!(
                        "{label}: the {verb} of {} began at {}, {} after it was due (done at {})",
                        v.target,
                        seconds(began),
                        seconds(began - due),
                        seconds(healed)
                    ));
                }
            }
        }
    }
    let o = &evidence.outage;
    if o.max_brokers_down > o.planned_max_brokers_down {
        out.push(format!(
            "{} brokers were down at once; the schedule implies at most {}",
            o.max_brokers_down, o.planned_max_brokers_down
        ));
    }
    if !o.quorum_loss_planned {
        for (from, to) in &o.quorum_lost {
            let to = to.map_or("the end".to_string(), seconds);
            out.push(format!("the controller quorum was lost from {} to {to}, which the schedule does not imply", seconds(*from)));
        }
    }
    out
}
