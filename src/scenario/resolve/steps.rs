//! A schedule's steps as written to checked steps: each target, trigger and heal, and whether the
//! chosen cluster and the clients can take the action.

use super::*;

/// A schedule's steps, in file order: each runs after the one before it, so a later step may not
/// be set to an earlier time, and the first has no previous step to wait for.
pub(super) fn resolve_steps(
    specs: &[Spanned<FaultStepSpec>],
    bounds: &TargetBounds,
    cluster: &Cluster,
    launch: Option<&str>,
    run: Duration,
) -> Checked<Vec<FaultStep>> {
    let mut steps: Vec<FaultStep> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let previous_at = steps.last().map_or(0, |s| s.at_ms);
        let step = resolve_step(spec, bounds, run, previous_at)?;
        check_cluster_can(&step, spec.get_ref(), cluster)?;
        check_local_clients(&step, spec.get_ref(), launch)?;
        let written = spec.get_ref();
        if let Some(previous) = steps.last() {
            if step.at_ms < previous.at_ms {
                let at = written.at.as_ref().map(|a| a.span()).unwrap_or(spec.span());
                return Err(Diagnostic::new(
                    at,
                    format!(
                        "step {} is set at {}, before step {} ({}); steps run in file order: put them in time order",
                        i + 1,
                        format_duration(Duration::from_millis(step.at_ms)),
                        i,
                        format_duration(Duration::from_millis(previous.at_ms))
                    ),
                ));
            }
        } else if let Some(after_heal) = written.after_heal.as_ref().filter(|a| *a.get_ref()) {
            return Err(Diagnostic::new(
                after_heal.span(),
                "the first step has no previous step whose heal it could wait for; remove after_heal",
            ));
        }
        if i + 1 == specs.len() {
            if let Some(next) = written.heal_after_next.as_ref().filter(|h| *h.get_ref()) {
                return Err(Diagnostic::new(
                    next.span(),
                    "the last step has no next step to heal with; use heal_after, or leave both out to heal at the end",
                ));
            }
        }
        steps.push(step);
    }
    Ok(steps)
}

/// Workers started elsewhere (`launch`) are out of the harness's reach: a signal to the local
/// launcher (ssh, kubectl) is not a kill, stop or pause of the worker, and a consumer cannot be
/// frozen to check a condition on it.
pub(super) fn check_local_clients(step: &FaultStep, spec: &FaultStepSpec, launch: Option<&str>) -> Checked<()> {
    let Some(launch) = launch else { return Ok(()) };
    let why = format!("workers are started through launch = {launch:?}, so the harness cannot signal them");
    if step.target.kind().is_client() {
        return Err(Diagnostic::new(spec.target.span(), format!("{} {}: {why}; fault brokers, or remove launch", step.action, step.target)));
    }
    if let (Some(when), Some(written)) = (step.when, spec.when.as_ref()) {
        if when.consumer().is_some() {
            return Err(Diagnostic::new(written.span(), format!("a condition on a consumer freezes it to check it exactly: {why}; remove launch")));
        }
    }
    Ok(())
}

/// A node fault needs the cluster to be able to apply it and to heal it (an external cluster: a
/// hook for each), and the target `controller` needs a way to find the active controller.
pub(super) fn check_cluster_can(step: &FaultStep, spec: &FaultStepSpec, cluster: &Cluster) -> Checked<()> {
    if step.target.kind().is_client() {
        return Ok(());
    }
    let (apply, heal) = step.action.abilities();
    if let Some(missing) = [apply, heal].into_iter().find(|a| !cluster.can(*a)) {
        return Err(Diagnostic::new(
            spec.action.span(),
            format!(
                "{} needs a `{missing}` hook, and [cluster.hooks] has none; add {missing} = \"...\" (a shell command with the node's {{variables}}) or use another action",
                step.action
            ),
        ));
    }
    Ok(())
}

/// One step; `previous_at` is where a step without `at` starts (right after the previous one).
pub(super) fn resolve_step(
    step: &Spanned<FaultStepSpec>,
    bounds: &TargetBounds,
    run: Duration,
    previous_at: u64,
) -> Checked<FaultStep> {
    let spec = step.get_ref();
    let at = match &spec.at {
        Some(at) => parse_duration("at", at.get_ref()).map_err(|e| Diagnostic::new(at.span(), e))?,
        None => Duration::from_millis(previous_at),
    };
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
        let span = spec.at.as_ref().map(|a| a.span()).unwrap_or(step.span());
        return Err(Diagnostic::new(
            span,
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
    let heal_after_next = spec.heal_after_next.as_ref().is_some_and(|h| *h.get_ref());
    if let (Some(h), true) = (&spec.heal_after, heal_after_next) {
        return Err(Diagnostic::new(
            h.span(),
            "heal_after and heal_after_next = true say different things; keep one",
        ));
    }
    let when = match &spec.when {
        Some(when) => Some(resolve_trigger(when, target, bounds)?),
        None => None,
    };
    let after_heal = spec.after_heal.as_ref().is_some_and(|a| *a.get_ref());
    let within = match &spec.within {
        Some(w) if when.is_none() && !after_heal => {
            return Err(Diagnostic::new(
                w.span(),
                "within bounds the wait for `when` or `after_heal`, and this step has neither; remove it",
            ))
        }
        Some(w) => {
            let d = parse_duration("within", w.get_ref()).map_err(|e| Diagnostic::new(w.span(), e))?;
            if d.is_zero() {
                return Err(Diagnostic::new(w.span(), "within must be longer than 0s"));
            }
            d.as_millis() as u64
        }
        None => DEFAULT_WITHIN_MS,
    };
    Ok(FaultStep {
        at_ms: at.as_millis() as u64,
        action,
        target,
        when,
        after_heal,
        within_ms: within,
        heal_after_ms: heal_after,
        heal_after_next,
        drawn_from: None,
    })
}

/// `when = { ... }`: exactly one condition, with what it watches taken from the target where
/// the table does not say.
pub(super) fn resolve_trigger(spec: &Spanned<TriggerSpec>, target: FaultTarget, bounds: &TargetBounds) -> Checked<Trigger> {
    let t = spec.get_ref();
    let conditions: Vec<(&str, &Spanned<u64>)> = [
        ("acked", &t.acked),
        ("committed_not_processed", &t.committed_not_processed),
        ("processed_not_committed", &t.processed_not_committed),
        ("txn_open", &t.txn_open),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
    .collect();
    let (name, count) = match conditions.as_slice() {
        [one] => *one,
        [] => {
            return Err(Diagnostic::new(
                spec.span(),
                "when needs one condition: acked = N, committed_not_processed = N, processed_not_committed = N or txn_open = N",
            ))
        }
        [_, second, ..] => {
            return Err(Diagnostic::new(
                second.1.span(),
                format!("when takes one condition; {} is a second one: split the step in two", second.0),
            ))
        }
    };
    if *count.get_ref() == 0 {
        return Err(Diagnostic::new(count.span(), format!("{name} must be at least 1: 0 holds from the start")));
    }
    let count_value = *count.get_ref();
    if name == "txn_open" {
        if let Some(at) = t.partition.as_ref().map(|p| p.span()).or(t.consumer.as_ref().map(|c| c.span())) {
            return Err(Diagnostic::new(at, "txn_open is about a producer; give producer = N"));
        }
        let producer = match (&t.producer, target.producer()) {
            (Some(p), _) if *p.get_ref() >= bounds.producers => {
                return Err(Diagnostic::new(
                    p.span(),
                    format!("producer {} is out of range: producers are 0..={}", p.get_ref(), bounds.producers.saturating_sub(1)),
                ))
            }
            (Some(p), _) => *p.get_ref(),
            (None, Some(p)) => p,
            (None, None) => {
                return Err(Diagnostic::new(
                    spec.span(),
                    format!("txn_open needs a producer: add producer = N (the target \"{target}\" names none)"),
                ))
            }
        };
        return Ok(Trigger::TxnOpen { count: count_value, producer });
    }
    if let Some(p) = &t.producer {
        return Err(Diagnostic::new(p.span(), format!("{name} does not watch a producer; remove producer")));
    }
    if name == "acked" {
        if let Some(c) = &t.consumer {
            return Err(Diagnostic::new(c.span(), "acked counts writes to a partition; give partition = P, not consumer"));
        }
        let partition = match (&t.partition, target.partition()) {
            (Some(p), _) if *p.get_ref() >= bounds.partitions => {
                return Err(Diagnostic::new(
                    p.span(),
                    format!("partition {} is out of range: partitions are 0..={}", p.get_ref(), bounds.partitions - 1),
                ))
            }
            (Some(p), _) => *p.get_ref(),
            (None, Some(p)) => p,
            (None, None) => {
                return Err(Diagnostic::new(
                    spec.span(),
                    format!("acked needs a partition: add partition = P (the target \"{target}\" names none)"),
                ))
            }
        };
        return Ok(Trigger::Acked { count: count_value, partition });
    }
    if let Some(p) = &t.partition {
        return Err(Diagnostic::new(p.span(), format!("{name} is about a consumer; give consumer = N, not partition")));
    }
    let consumer = match (&t.consumer, target.consumer()) {
        (Some(c), _) if *c.get_ref() >= bounds.consumers => {
            let range = if bounds.consumers == 0 {
                "there are no consumers".to_string()
            } else {
                format!("consumers are 0..={}", bounds.consumers - 1)
            };
            return Err(Diagnostic::new(c.span(), format!("consumer {} is out of range: {range}", c.get_ref())));
        }
        (Some(c), _) => *c.get_ref(),
        (None, Some(c)) => c,
        (None, None) if bounds.consumers == 0 => {
            return Err(Diagnostic::new(spec.span(), format!("{name} needs a consumer, and [workload] has none")))
        }
        (None, None) => {
            return Err(Diagnostic::new(
                spec.span(),
                format!("{name} needs a consumer: add consumer = N (the target \"{target}\" names none)"),
            ))
        }
    };
    Ok(match name {
        "committed_not_processed" => Trigger::CommittedNotProcessed { count: count_value, consumer },
        _ => Trigger::ProcessedNotCommitted { count: count_value, consumer },
    })
}
