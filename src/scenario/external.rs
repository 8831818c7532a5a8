//! `[cluster] kind = "external"`: a cluster the user runs. Checked here: where to reach it, its
//! nodes and their variables, and that every `{variable}` a hook uses is defined for every node,
//! so a hook never reaches a shell with a hole in it.

use crate::model::environment::{External, ExternalSasl, ExternalSecurity};
use crate::model::fault::Ability;
use super::source::{Checked, Diagnostic};
use super::spec::{ClusterSpec, SecuritySpec};
pub use crate::model::template::placeholders;
use crate::model::security::{SaslMechanism, SecurityProtocol};
use serde_spanned::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

/// Variables every hook may use besides the node's own.
const BUILT_IN: [&str; 2] = ["id", "bootstrap"];

/// `base`: the scenario file's directory, which a relative `ca_file` starts from.
pub fn resolve(spec: &ClusterSpec, table: Range<usize>, base: &Path) -> Checked<External> {
    // What the harness would set on a cluster it starts cannot be set on one it does not.
    let not_here = |what: &str, span: Range<usize>| {
        Diagnostic::new(
            span,
            format!("{what} cannot be set for an external cluster: the harness does not start it; remove it"),
        )
    };
    if let Some(b) = &spec.brokers {
        return Err(not_here("brokers (the nodes table says which brokers there are)", b.span()));
    }
    if let Some(c) = &spec.controllers {
        return Err(not_here("controllers", c.span()));
    }
    if let Some(v) = &spec.kafka_version {
        return Err(not_here("kafka_version", v.span()));
    }
    if let Some((k, _)) = spec.broker_config.iter().next() {
        return Err(not_here("broker_config", k.span()));
    }
    let bootstrap = match &spec.bootstrap {
        Some(b) if b.get_ref().trim().is_empty() => return Err(Diagnostic::new(b.span(), "bootstrap is empty; write host:port[,host:port...]")),
        Some(b) => b.get_ref().trim().to_string(),
        None => {
            return Err(Diagnostic::new(
                table,
                "an external cluster needs bootstrap = \"host:port,...\" in [cluster]",
            ))
        }
    };
    let topic_prefix = match &spec.topic_prefix {
        Some(p) if !valid_topic_prefix(p.get_ref()) => {
            return Err(Diagnostic::new(
                p.span(),
                format!("topic_prefix must be 1 to 100 letters, digits, '.', '_' or '-'; found {:?}", p.get_ref()),
            ))
        }
        Some(p) => p.get_ref().clone(),
        None => External::DEFAULT_TOPIC_PREFIX.to_string(),
    };
    let nodes = resolve_nodes(spec, table)?;
    let defined = defined_everywhere(&nodes);
    let mut hooks = BTreeMap::new();
    for (name, command) in &spec.hooks {
        check_placeholders(command, &defined)?;
        let text = command.get_ref().clone();
        let ability: Ability = name.get_ref().parse().map_err(|e: String| Diagnostic::new(name.span(), e))?;
        hooks.insert(ability, text);
    }
    let security = match &spec.security {
        Some(s) => Some(resolve_security(s.get_ref(), s.span(), base)?),
        None => None,
    };
    Ok(External { bootstrap, topic_prefix, hooks, nodes, security })
}

fn resolve_security(spec: &SecuritySpec, table: Range<usize>, base: &Path) -> Checked<ExternalSecurity> {
    let parse = |field: &Option<Spanned<String>>| -> Checked<Option<(String, Range<usize>)>> {
        Ok(match field {
            Some(v) if v.get_ref().trim().is_empty() => return Err(Diagnostic::new(v.span(), "empty; remove it or give a value")),
            Some(v) => Some((v.get_ref().trim().to_string(), v.span())),
            None => None,
        })
    };
    let protocol: SecurityProtocol = match parse(&spec.protocol)? {
        Some((p, span)) => p.parse().map_err(|e: String| Diagnostic::new(span, e))?,
        None => return Err(Diagnostic::new(table, "[cluster.security] needs protocol = \"SASL_SSL\" (or SSL, SASL_PLAINTEXT, PLAINTEXT)")),
    };
    let (mechanism, username, password_env) = (parse(&spec.sasl_mechanism)?, parse(&spec.username)?, parse(&spec.password_env)?);
    let sasl = if protocol.uses_sasl() {
        let missing = |what: &str| {
            Diagnostic::new(table.clone(), format!("protocol {} needs {what} in [cluster.security]", protocol.as_str()))
        };
        let (mechanism, span) = mechanism.ok_or_else(|| missing("sasl_mechanism = \"PLAIN\", \"SCRAM-SHA-256\" or \"SCRAM-SHA-512\""))?;
        let mechanism: SaslMechanism = mechanism.parse().map_err(|e: String| Diagnostic::new(span, e))?;
        let (username, _) = username.ok_or_else(|| missing("username"))?;
        let (password_env, span) = password_env.ok_or_else(|| missing("password_env = \"NAME\" (the environment variable holding the password)"))?;
        if !password_env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Diagnostic::new(span, format!("password_env is the name of an environment variable (letters, digits, '_'); found {password_env:?}")));
        }
        Some(ExternalSasl { mechanism, username, password_env })
    } else {
        let set = [(&mechanism, "sasl_mechanism"), (&username, "username"), (&password_env, "password_env")];
        if let Some((Some((_, span)), name)) = set.into_iter().find(|(v, _)| v.is_some()) {
            return Err(Diagnostic::new(
                span.clone(),
                format!("{name} is for SASL; protocol {} does not use it (use SASL_PLAINTEXT or SASL_SSL, or remove {name})", protocol.as_str()),
            ));
        }
        None
    };
    let ca_file = match parse(&spec.ca_file)? {
        Some((_, span)) if !protocol.uses_tls() => {
            return Err(Diagnostic::new(span, format!("ca_file is for TLS; protocol {} does not use it", protocol.as_str())))
        }
        Some((path, span)) => {
            let path = base.join(path);
            if !path.is_file() {
                return Err(Diagnostic::new(span, format!("no file at {}", path.display())));
            }
            Some(path.to_string_lossy().into_owned())
        }
        None => None,
    };
    Ok(ExternalSecurity { protocol, sasl, ca_file })
}

fn resolve_nodes(spec: &ClusterSpec, table: Range<usize>) -> Checked<BTreeMap<i32, BTreeMap<String, String>>> {
    if spec.nodes.is_empty() {
        return Err(Diagnostic::new(
            table,
            "an external cluster needs its nodes: a [cluster.nodes.ID] table per broker (ID is its node.id), \
             with the variables its hooks use, e.g. host = \"kafka-1\"",
        ));
    }
    let mut nodes = BTreeMap::new();
    for (id, vars) in &spec.nodes {
        let parsed: i32 = id
            .get_ref()
            .parse()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| Diagnostic::new(id.span(), format!("node table names are broker ids (node.id), e.g. [cluster.nodes.1]; found {:?}", id.get_ref())))?;
        let mut values = BTreeMap::new();
        for (name, value) in vars.get_ref() {
            if BUILT_IN.contains(&name.as_str()) {
                return Err(Diagnostic::new(value.span(), format!("{{{name}}} is given by the harness; use another name")));
            }
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Diagnostic::new(value.span(), format!("variable names use letters, digits and '_'; found {name:?}")));
            }
            values.insert(name.clone(), value.get_ref().clone());
        }
        nodes.insert(parsed, values);
    }
    Ok(nodes)
}

/// Variables every node defines (a hook runs on any of them), plus the built-in ones.
fn defined_everywhere(nodes: &BTreeMap<i32, BTreeMap<String, String>>) -> BTreeSet<String> {
    let mut sets = nodes.values().map(|v| v.keys().cloned().collect::<BTreeSet<_>>());
    let first = sets.next().unwrap_or_default();
    let mut common = sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect());
    common.extend(BUILT_IN.iter().map(|s| s.to_string()));
    common
}

fn check_placeholders(command: &Spanned<String>, defined: &BTreeSet<String>) -> Checked<()> {
    for name in placeholders(command.get_ref()) {
        if !defined.contains(&name) {
            let known: Vec<&str> = defined.iter().map(String::as_str).collect();
            return Err(Diagnostic::new(
                command.span(),
                format!(
                    "{{{name}}} is not defined for every node; define it in each [cluster.nodes.ID] table (defined: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}


fn valid_topic_prefix(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.len() <= 100 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}
