//! Hook and worker command templates: `{name}` is replaced by its value, `{{`/`}}` are braces.

use std::collections::BTreeMap;

/// Fill a template's `{name}`s from `vars`; unknown names stay as written (check rejects them).
pub fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(tail.as_bytes()[0] as char);
            rest = &tail[2..];
            continue;
        }
        match (tail.starts_with('{'), tail[1..].find('}')) {
            (true, Some(close)) => {
                let name = &tail[1..1 + close];
                match vars.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&tail[..close + 2]),
                }
                rest = &tail[close + 2..];
            }
            _ => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}`s of a template, in order; `{{` and `}}` stand for braces.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if rest[open..].starts_with("{{") {
            rest = &rest[open + 2..];
            continue;
        }
        match rest[open + 1..].find('}') {
            Some(close) => {
                names.push(rest[open + 1..open + 1 + close].to_string());
                rest = &rest[open + 2 + close..];
            }
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_from_the_node_and_keep_escaped_braces() {
        let vars: BTreeMap<String, String> = [("host", "kafka-1"), ("id", "1")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(fill("ssh {host} kill -STOP $(cat /run/kafka-{id}.pid)", &vars), "ssh kafka-1 kill -STOP $(cat /run/kafka-1.pid)");
        assert_eq!(fill("awk '{{print $1}}' {host}", &vars), "awk '{print $1}' kafka-1");
        assert_eq!(placeholders("awk '{{print}}' {host} {id}"), vec!["host", "id"]);
        assert_eq!(fill("{unknown} {host}", &vars), "{unknown} kafka-1");
    }
}
