//! Scenario files: what to run (cluster, topic, workload, client settings), which settings to vary
//! (the matrix), which faults to inject, and what to expect. A scenario is parsed (`spec`) and
//! checked (`resolve`) completely before any container starts; every problem is reported as
//! `path:line:col: message` with a hint.
//!
//! Naming: types as written end in `Spec` (`FaultSpec`); checked types have no suffix (`Fault`).
//!
//! Rules a scenario follows (defaults are documented on the `spec` types):
//! - Matrix keys are librdkafka properties, topic or broker configs, `commit` or `fault`; each goes
//!   to its layer (`property::Layer`). A name that is both a client property and a topic/broker
//!   config must say which: `producer:compression.type`, `topic:compression.type`.
//! - Setting values are TOML scalars and become their string form (`5` -> "5", `true` -> "true").
//! - `when`, `exclude` and `--only` compare values in canonical form: `acks = "-1"` equals
//!   `acks = "all"`, and librdkafka booleans compare as booleans (`"t"` equals `true`).
//! - Faults: with a `fault` matrix key each cell runs the schedule it names (`"none"`: no faults);
//!   without one, the only schedule defined applies to every cell, and defining several is an error.
//! - Expectations: `lost = 0` is exact, `{ min = 1 }`, `{ max = 10 }` or both are bounds; counts
//!   are the checker's (`expect::Count`).

mod axes;
mod cell_checks;
pub mod client_settings;
pub mod expect;
pub mod external;
pub mod known_keys;
pub mod matrix;
pub mod property;
mod resolve;
pub mod source;
pub mod spec;

// The words a scenario is written in are the model's; named here too for the layers above.
pub use crate::model::{
    Ability, ClientKind, Cluster, CommitMode, Count, Fault, FaultActionKind, FaultStep, FaultTarget, FaultTargetKind, KeyRouting,
    Topic, Trigger, Workload, NO_FAULT,
};
pub use expect::{evaluate, Bound, Expectation, ExpectationResult, Rule};
pub use matrix::{Axis, Matrix, Selector};
pub use property::Layer;

use crate::error::{Error, Result};
use source::{Diagnostic, Source};
use spec::ScenarioSpec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A checked scenario with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file, as the user named it.
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub repeat: u32,
    pub cluster: Cluster,
    pub topic: Topic,
    pub workload: Workload,
    /// Base producer properties; a cell's matrix values override them.
    pub producer: BTreeMap<String, String>,
    /// Base consumer properties; a cell's matrix values and commit mode override them.
    pub consumer: BTreeMap<String, String>,
    /// The other clients' own settings (`[producer.sarama]`, `[consumer.java]`); `producer` and
    /// `consumer` above are librdkafka's.
    pub clients: BTreeMap<ClientKind, client_settings::ClientSettings>,
    pub matrix: Matrix,
    /// Every schedule defined, by name.
    pub faults: BTreeMap<String, Fault>,
    /// The schedule of every cell when the matrix has no `fault` key: the only schedule defined,
    /// or none. (With several schedules, the matrix must pick one.)
    pub default_fault: Option<String>,
    pub expectations: Vec<Expectation>,
}

impl Scenario {
    /// Read and check a scenario file. Any problem is an `Error::Invalid` (exit code 2).
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Invalid(format!("cannot read scenario {}: {e}; check the path", path.display())))?;
        Scenario::parse(path, &text)
    }

    /// Check a scenario's text; `path` names it in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
        let source = Source::new(path, text);
        // Syntax first, so a TOML mistake reads as one, not as a missing key.
        toml::from_str::<toml::Table>(text).map_err(|e| {
            source.error(Diagnostic {
                message: format!("invalid TOML: {}", e.message().trim()),
                ..syntax(&e)
            })
        })?;
        let spec: ScenarioSpec = toml::from_str(text).map_err(|e| source.error(syntax(&e)))?;
        resolve::resolve(spec, &source).map_err(|d| source.error(d))
    }

    /// The schedule name of a cell (`none` for no faults).
    pub fn fault_name(&self, config: &BTreeMap<String, String>) -> String {
        config
            .get("fault")
            .cloned()
            .or_else(|| self.default_fault.clone())
            .unwrap_or_else(|| NO_FAULT.to_string())
    }

    /// The fault schedule of a cell, None for no faults.
    pub fn fault_of(&self, config: &BTreeMap<String, String>) -> Option<&Fault> {
        self.faults.get(&self.fault_name(config))
    }

    pub fn client_of(&self, config: &BTreeMap<String, String>) -> ClientKind {
        config
            .get("client")
            .and_then(|c| c.parse().ok())
            .unwrap_or(ClientKind::DEFAULT)
    }

    /// The cell's Kafka version: the matrix's `kafka_version`, else `[cluster] kafka_version`.
    pub fn kafka_version_of(&self, config: &BTreeMap<String, String>) -> String {
        config.get("kafka_version").cloned().unwrap_or_else(|| self.cluster.kafka_version.clone())
    }

    /// The cell's isolation level: the matrix's `isolation`, else `[workload] isolation`.
    pub fn isolation_of(&self, config: &BTreeMap<String, String>) -> Option<crate::model::Isolation> {
        config.get("isolation").and_then(|i| i.parse().ok()).or(self.workload.isolation)
    }

    pub fn commit_of(&self, config: &BTreeMap<String, String>) -> CommitMode {
        config
            .get("commit")
            .and_then(|c| c.parse().ok())
            .unwrap_or(CommitMode::DEFAULT)
    }
}

/// A parser error (syntax, unknown key, wrong type), in the scenario error format.
fn syntax(e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().replace('\n', "; ");
    let mut message = lower_first(&message);
    // serde speaks of fields and Rust types; a scenario has keys and numbers.
    for (rust, user) in [
        ("unknown field", "unknown key"),
        ("missing field", "missing key"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number, 0 or more"),
    ] {
        message = message.replacen(rust, user, 1);
    }
    Diagnostic::new(e.span().unwrap_or(0..0), message)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
