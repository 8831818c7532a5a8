//! The matrix: one axis per key, cells are the cartesian product of the axes' values minus the
//! combinations `exclude` names.

use super::property::{canonical, Layer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// More cells than this is a mistake, not a plan (each cell is a run of tens of seconds).
pub const MAX_COMBINATIONS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    /// As written in `[matrix]`, e.g. `acks`, `topic:compression.type`.
    pub key: String,
    pub layer: Layer,
    /// The property name in its layer (the key without a layer prefix).
    pub name: String,
    /// String forms, as written.
    pub values: Vec<String>,
}

/// Matrix key/value pairs that all have to match, compared in canonical form (`acks = "-1"`
/// matches `acks = "all"`, see `property::canonical`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Selector(pub BTreeMap<String, String>);

impl Selector {
    pub fn matches(&self, config: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(key, value)| {
            config
                .get(key)
                .is_some_and(|actual| canonical(key, actual) == canonical(key, value))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Selector {
    /// `acks=all, enable.idempotence=true`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&pairs.join(", "))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// In file order: the first axis varies slowest, and ids list keys in this order.
    pub axes: Vec<Axis>,
    pub exclude: Vec<Selector>,
}

impl Matrix {
    pub fn axis(&self, key: &str) -> Option<&Axis> {
        self.axes.iter().find(|a| a.key == key)
    }

    /// The number of combinations before `exclude`.
    pub fn combination_count(&self) -> usize {
        self.axes.iter().fold(1usize, |n, a| n.saturating_mul(a.values.len()))
    }

    /// Every combination as one value index per axis, first axis slowest, before `exclude`.
    pub fn index_combinations(&self) -> Vec<Vec<usize>> {
        let mut combinations = vec![Vec::new()];
        for axis in &self.axes {
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    (0..axis.values.len()).map(move |i| {
                        let mut c = prefix.clone();
                        c.push(i);
                        c
                    })
                })
                .collect();
        }
        combinations
    }

    /// The config (matrix key -> value) of one combination.
    pub fn config(&self, indices: &[usize]) -> BTreeMap<String, String> {
        self.axes
            .iter()
            .zip(indices)
            .map(|(a, &i)| (a.key.clone(), a.values[i].clone()))
            .collect()
    }

    pub fn is_excluded(&self, config: &BTreeMap<String, String>) -> bool {
        self.exclude.iter().any(|s| s.matches(config))
    }

    /// The configs of every cell: the cartesian product minus `exclude`, in matrix order.
    pub fn cells(&self) -> Vec<BTreeMap<String, String>> {
        self.index_combinations()
            .iter()
            .map(|c| self.config(c))
            .filter(|config| !self.is_excluded(config))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(key: &str, values: &[&str]) -> Axis {
        Axis {
            key: key.into(),
            layer: Layer::Producer,
            name: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn selector(pairs: &[(&str, &str)]) -> Selector {
        Selector(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn cells_are_the_product_minus_exclude() {
        let matrix = Matrix {
            axes: vec![
                axis("acks", &["0", "1", "all"]),
                axis("enable.idempotence", &["false", "true"]),
            ],
            exclude: vec![
                selector(&[("acks", "0"), ("enable.idempotence", "true")]),
                selector(&[("acks", "1"), ("enable.idempotence", "true")]),
            ],
        };
        assert_eq!(matrix.combination_count(), 6);
        let cells: Vec<String> = matrix
            .cells()
            .iter()
            .map(|c| format!("{}/{}", c["acks"], c["enable.idempotence"]))
            .collect();
        assert_eq!(cells, ["0/false", "1/false", "all/false", "all/true"]);
    }

    #[test]
    fn selectors_compare_canonical_values() {
        let config: BTreeMap<String, String> = [
            ("acks".to_string(), "-1".to_string()),
            ("commit".to_string(), "auto".to_string()),
        ]
        .into_iter()
        .collect();
        assert!(selector(&[("acks", "all")]).matches(&config));
        assert!(selector(&[]).matches(&config));
        assert!(!selector(&[("acks", "all"), ("commit", "manual-sync")]).matches(&config));
        assert!(!selector(&[("fault", "none")]).matches(&config));
    }

    #[test]
    fn an_empty_matrix_has_one_cell() {
        assert_eq!(Matrix::default().cells(), vec![BTreeMap::new()]);
    }
}
