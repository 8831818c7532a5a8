//! The matrix as written, checked: each key resolved to its layer, each value checked against
//! what that layer accepts, and `exclude`/`when` entries checked against the matrix.

use crate::model::client::ClientKind;
use crate::model::commit::CommitMode;
use crate::model::fault::{Fault, NO_FAULT};
use super::matrix::{Axis, Matrix, Selector};
use super::property::{self, canonical, check_value, or_list, Layer};
use super::source::{Checked, Diagnostic};
use super::spec::{AxisSpec, SelectorSpec};
use crate::model::workload::Workload;
use std::collections::{BTreeMap, BTreeSet};

/// One matrix key and its list: the key's layer, and every value checked against it.
pub(super) fn resolve_axis(spec: &AxisSpec, faults: &BTreeMap<String, Fault>, workload: &Workload) -> Checked<Axis> {
    let key = spec.key.get_ref();
    let target = property::resolve_matrix_key(key).map_err(|e| Diagnostic::new(spec.key.span(), e))?;
    let values = spec.values.get_ref();
    if values.is_empty() {
        return Err(Diagnostic::new(
            spec.values.span(),
            format!("matrix key \"{key}\" has no values; give at least one, or remove the key"),
        ));
    }
    if key == "commit" && workload.consumers == 0 {
        return Err(Diagnostic::new(
            spec.key.span(),
            "commit needs consumers; set [workload] consumers to 1 or more",
        ));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut resolved = Vec::new();
    for value in values {
        let text = value.get_ref().to_property_string();
        let checked = match key.as_str() {
            "commit" => text.parse::<CommitMode>().map(|_| ()),
            "isolation" => text.parse::<crate::model::Isolation>().map(|_| ()),
            "client" => text.parse::<ClientKind>().map(|_| ()),
            "fault" => check_fault_value(&text, faults),
            "kafka_version" => check_kafka_version(&text),
            _ => check_value(target.layer, &target.name, &text),
        };
        checked.map_err(|e| Diagnostic::new(value.span(), e))?;
        if !seen.insert(canonical(key, &text)) {
            return Err(Diagnostic::new(
                value.span(),
                format!(
                    "{key} lists {} twice (equal values count once: -1 is all, t is true); remove one",
                    value.get_ref().to_toml()
                ),
            ));
        }
        resolved.push(text);
    }
    Ok(Axis {
        key: key.clone(),
        layer: target.layer,
        name: target.name,
        values: resolved,
    })
}

/// A Kafka release the image recipe builds: 3.x (from 3.9, the first with unclean election in
/// KRaft) or 4.x, as major.minor.patch.
pub(super) fn check_kafka_version(value: &str) -> Result<(), String> {
    let parts: Vec<Option<u32>> = value.split('.').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [Some(3), Some(minor), Some(_)] if *minor >= 9 => Ok(()),
        [Some(4), Some(_), Some(_)] => Ok(()),
        _ => Err(format!("kafka_version \"{value}\" is not one the harness runs; use 3.9.x or 4.x.y, e.g. \"3.9.1\"")),
    }
}

fn check_fault_value(value: &str, faults: &BTreeMap<String, Fault>) -> Result<(), String> {
    if value == NO_FAULT || faults.contains_key(value) {
        return Ok(());
    }
    let defined: Vec<String> = faults.keys().map(|k| format!("\"{k}\"")).collect();
    let known = if defined.is_empty() {
        "no schedules are defined; add [faults.NAME] with steps".to_string()
    } else {
        format!("defined schedules are {} (or \"none\")", defined.join(", "))
    };
    Err(format!("fault \"{value}\" is not a defined schedule; {known}"))
}

/// Two keys that set the same property (`acks` and `producer:acks`) would fight over it.
pub(super) fn check_distinct_properties(specs: &[AxisSpec], axes: &[Axis]) -> Checked<()> {
    let mut seen: BTreeMap<(bool, bool, bool, bool, &str), &str> = BTreeMap::new();
    for (spec, axis) in specs.iter().zip(axes) {
        let place = (
            axis.layer.goes_to_producer(),
            axis.layer.goes_to_consumer(),
            axis.layer == Layer::Topic,
            axis.layer == Layer::Broker,
        );
        for (other_place, other_key) in seen.iter().filter(|((.., n), _)| *n == axis.name.as_str()) {
            let overlaps = (place.0 && other_place.0)
                || (place.1 && other_place.1)
                || (place.2 && other_place.2)
                || (place.3 && other_place.3);
            if overlaps {
                return Err(Diagnostic::new(
                    spec.key.span(),
                    format!(
                        "matrix keys \"{other_key}\" and \"{}\" set the same property; keep one",
                        axis.key
                    ),
                ));
            }
        }
        seen.insert(
            (place.0, place.1, place.2, place.3, axis.name.as_str()),
            axis.key.as_str(),
        );
    }
    Ok(())
}

/// A `when` or `exclude` entry: keys must be matrix keys, values must be values of that key.
pub(super) fn selector(spec: &SelectorSpec, matrix: &Matrix, what: &str) -> Checked<Selector> {
    let mut pairs = BTreeMap::new();
    for (key, value) in spec {
        let Some(axis) = matrix.axis(key.get_ref()) else {
            let keys: Vec<String> = matrix.axes.iter().map(|a| format!("\"{}\"", a.key)).collect();
            let keys = if keys.is_empty() {
                "the matrix has none".to_string()
            } else {
                format!("matrix keys are {}", keys.join(", "))
            };
            return Err(Diagnostic::new(
                key.span(),
                format!("{what} key \"{}\" is not a matrix key; {keys}", key.get_ref()),
            ));
        };
        let text = value.get_ref().to_property_string();
        let wanted = canonical(&axis.key, &text);
        if !axis.values.iter().any(|v| canonical(&axis.key, v) == wanted) {
            let values: Vec<String> = axis.values.iter().map(|v| format!("\"{v}\"")).collect();
            return Err(Diagnostic::new(
                value.span(),
                format!(
                    "{what} {} = {} matches no value of the matrix; {} takes {}",
                    axis.key,
                    value.get_ref().to_toml(),
                    axis.key,
                    or_list(&values)
                ),
            ));
        }
        pairs.insert(axis.key.clone(), text);
    }
    Ok(Selector(pairs))
}
