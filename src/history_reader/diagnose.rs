//! Why a line was rejected, in words: which field of which type is missing or of the wrong
//! kind. The slow path, run only for a line the parsers refused.

use super::line::serde_message;

#[derive(Clone, Copy)]
enum Expect {
    Number,
    Unsigned32,
    Unsigned64,
    Integer32,
    Integer64,
    Text,
    Bool,
    OneOf(&'static [&'static str]),
}

const OUTCOMES: &[&str] = &["acked", "failed", "unknown"];
const PHASES: &[&str] = &["start", "end", "failed", "heal_failed"];
const STEP_STATES: &[&str] = &["fired", "not_fired"];

/// The fields the checker reads, per type: name, expected value, required.
fn schema(kind: &str) -> Option<&'static [(&'static str, Expect, bool)]> {
    use Expect::*;
    Some(match kind {
        "send" => &[
            ("time_ms", Number, true),
            ("producer", Unsigned32, true),
            ("seq", Unsigned64, true),
            ("outcome", OneOf(OUTCOMES), true),
            ("partition", Integer32, false),
            ("offset", Integer64, false),
            ("latency_ms", Number, false),
        ],
        "processed" => &[
            ("time_ms", Number, true),
            ("consumer", Unsigned32, true),
            ("producer", Unsigned32, true),
            ("seq", Unsigned64, true),
            ("partition", Integer32, true),
            ("offset", Integer64, true),
        ],
        "log" => &[
            ("producer", Unsigned32, true),
            ("seq", Unsigned64, true),
            ("partition", Integer32, true),
            ("offset", Integer64, true),
        ],
        "fault" => &[
            ("time_ms", Number, true),
            ("action", Text, true),
            ("target", Text, true),
            ("phase", OneOf(PHASES), true),
            ("step", Unsigned32, false),
            ("spec", Text, false),
            ("detail", Text, false),
        ],
        "step" => &[
            ("time_ms", Number, true),
            ("step", Unsigned32, true),
            ("action", Text, true),
            ("target", Text, true),
            ("state", OneOf(STEP_STATES), true),
            ("why", Text, true),
        ],
        "read" => &[
            ("partition", Integer32, true),
            ("low", Integer64, true),
            ("high", Integer64, true),
            ("reached", Integer64, true),
            ("records", Unsigned64, true),
        ],
        "drain" => &[
            ("time_ms", Number, true),
            ("caught_up", Bool, true),
            ("waited_ms", Number, true),
            ("detail", Text, true),
        ],
        "abort" => &[("time_ms", Number, true), ("reason", Text, true)],
        _ => return None,
    })
}

/// The slow path for a line the fast path rejected: `None` if the line is of a type the checker
/// ignores, `Some(Some(message))` naming the first bad field, `Some(None)` if no field is to blame.
pub(super) fn diagnose(text: &[u8]) -> Option<Option<String>> {
    let value: serde_json::Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return Some(Some(format!("not JSON: {}", serde_message(&e)))),
    };
    let Some(object) = value.as_object() else {
        return Some(Some(format!("expected a JSON object, got {}", shown(&value))));
    };
    let kind = match object.get("type") {
        None => return Some(Some("no \"type\" field".to_string())),
        Some(serde_json::Value::String(kind)) => kind.as_str(),
        Some(other) => return Some(Some(format!("\"type\" must be a string, got {}", shown(other)))),
    };
    let fields = schema(kind)?;
    for &(name, expect, required) in fields {
        match object.get(name) {
            None if required => return Some(Some(format!("{kind} event without \"{name}\""))),
            None => {}
            Some(serde_json::Value::Null) if !required => {}
            Some(value) if !fits(value, expect) => {
                return Some(Some(format!(
                    "{kind} event: \"{name}\" must be {}, got {}",
                    describe(expect),
                    shown(value)
                )))
            }
            Some(_) => {}
        }
    }
    Some(None)
}

fn fits(value: &serde_json::Value, expect: Expect) -> bool {
    match expect {
        Expect::Number => value.is_number(),
        Expect::Unsigned32 => value.as_u64().is_some_and(|n| n <= u32::MAX as u64),
        Expect::Unsigned64 => value.is_u64(),
        Expect::Integer32 => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Expect::Integer64 => value.is_i64(),
        Expect::Text => value.is_string(),
        Expect::Bool => value.is_boolean(),
        Expect::OneOf(names) => value.as_str().is_some_and(|s| names.contains(&s)),
    }
}

fn describe(expect: Expect) -> String {
    match expect {
        Expect::Number => "a number".into(),
        Expect::Unsigned32 => "an integer from 0 to 4294967295".into(),
        Expect::Unsigned64 => "a non-negative integer".into(),
        Expect::Integer32 => "a 32-bit integer".into(),
        Expect::Integer64 => "a 64-bit integer".into(),
        Expect::Text => "a string".into(),
        Expect::Bool => "true or false".into(),
        Expect::OneOf(names) => {
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

fn shown(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}
