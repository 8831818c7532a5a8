//! A container cluster written as an external one: its `[cluster]` table with docker commands as
//! the hooks (`cluster up --print-external FILE`). This is how the external mode is tested here,
//! and a worked example of the hooks for users writing their own.

use super::{Cluster, ContainerCluster};
use crate::model::Ability;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Table {
    cluster: ExternalTable,
}

#[derive(Serialize)]
struct ExternalTable {
    kind: &'static str,
    bootstrap: String,
    topic_prefix: &'static str,
    hooks: BTreeMap<&'static str, String>,
    nodes: BTreeMap<String, BTreeMap<&'static str, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security: Option<SecurityTable>,
}

/// `[cluster.security]`, the password left to the environment.
#[derive(Serialize)]
struct SecurityTable {
    protocol: &'static str,
    sasl_mechanism: Option<&'static str>,
    username: Option<String>,
    password_env: Option<&'static str>,
}

impl ContainerCluster {
    pub fn external_table(&self) -> String {
        let hooks = Ability::ALL.into_iter().filter_map(|a| Some((a.as_str(), docker_hook(a)?.to_string())));
        let nodes = self
            .brokers()
            .map(|n| (n.id.to_string(), BTreeMap::from([("container", n.container.clone()), ("network", self.network.clone())])))
            .collect();
        let table = Table {
            cluster: ExternalTable {
                kind: "external",
                bootstrap: self.bootstrap_servers(),
                topic_prefix: "kc-",
                hooks: hooks.collect(),
                nodes,
                security: self.security().map(|s| SecurityTable {
                    protocol: s.protocol.as_str(),
                    sasl_mechanism: s.sasl.as_ref().map(|c| c.mechanism.as_str()),
                    username: s.sasl.as_ref().map(|c| c.username.clone()),
                    password_env: s.sasl.as_ref().map(|_| super::SASL_PASSWORD_ENV),
                }),
            },
        };
        let body = toml::to_string(&table).expect("a table of strings serializes");
        format!(
            "# The cluster of run {} ({}) as an external cluster.\n\
             # Put this in a scenario in place of its [cluster] table to run the scenario\n\
             # against this cluster through these hooks, as it would run against your own.\n{body}",
            self.run_id,
            self.describe()
        )
    }
}

/// The docker command an external cluster runs for each ability on these containers; None where
/// no command line does it (a power loss needs the filesystem the container cluster mounts).
fn docker_hook(ability: Ability) -> Option<&'static str> {
    Some(match ability {
        Ability::Kill => "docker kill --signal KILL {container}",
        Ability::Stop => "docker stop --time 30 {container}",
        Ability::Restart => "docker start {container}",
        // SIGSTOP rather than `docker pause`: the cgroup freezer can fail to freeze a busy JVM.
        Ability::Pause => "docker kill --signal STOP {container}",
        Ability::Resume => "docker kill --signal CONT {container}",
        Ability::Isolate => "docker network disconnect --force {network} {container}",
        Ability::Heal => "docker network connect --alias {container} {network} {container}",
        Ability::PowerLoss | Ability::PowerLossControl => return None,
    })
}
