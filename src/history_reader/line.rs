//! One line of history to a `Record`: the fast path for the common lines, else serde into the
//! history's own `Event` (only for the types the checker reads; others are counted and skipped
//! whatever their fields), else a diagnosis naming the bad field.

use super::diagnose::diagnose;
use super::{fast, LinePosition, Record};
use crate::history::{Event, CHECKED_KINDS};
use serde::Deserialize;
use std::borrow::Cow;

pub(super) enum Parsed {
    Record(Record),
    /// A type the checker does not use.
    Other,
    Blank,
}

/// The `type` of a line, borrowed from the buffer; every other field is ignored.
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

pub(super) fn parse_line(text: &[u8]) -> std::result::Result<Parsed, String> {
    match fast::parse(text) {
        Some(record) => Ok(Parsed::Record(record)),
        None => parse_with_serde(text),
    }
}

/// The general path: any JSON object, any field order or spacing.
fn parse_with_serde(text: &[u8]) -> std::result::Result<Parsed, String> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Parsed::Blank);
    }
    let tag: Tag = match serde_json::from_slice(text) {
        Ok(tag) => tag,
        Err(e) if e.is_syntax() || e.is_eof() => return Err(format!("not JSON: {}", serde_message(&e))),
        Err(e) => return Err(diagnose(text).flatten().unwrap_or_else(|| serde_message(&e))),
    };
    let kind = match tag.kind.as_deref() {
        None => return Err(missing(text)),
        Some(kind) if !CHECKED_KINDS.contains(&kind) => return Ok(Parsed::Other),
        Some(kind) => kind,
    };
    let event = Event::from_json_as(kind, text)
        .map_err(|e| diagnose(text).flatten().unwrap_or_else(|| serde_message(&e)))?;
    Ok(Parsed::Record(match event {
        Event::Send(send) => Record::Send(send),
        Event::Processed(processed) => Record::Processed(processed),
        Event::Log(log) => Record::Log(log),
        other => Record::Context(Box::new((other, LinePosition { chunk: 0, line: 0 }))),
    }))
}

fn missing(text: &[u8]) -> String {
    diagnose(text).flatten().unwrap_or_else(|| "malformed event".to_string())
}

/// serde_json's message with the column, without "line 1" (we give the file's line number).
pub(super) fn serde_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let text = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
    format!("{text} at column {}", e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{ProcessedEvent, SendEvent};

    const LINES: &[&str] = &[
        r#"{"type":"send","time_ms":12.5,"producer":0,"seq":17,"outcome":"acked","partition":2,"offset":345,"status":"persisted","latency_ms":3.25}"#,
        r#"{"type":"send","time_ms":0.1,"producer":4294967295,"seq":18446744073709551615,"outcome":"unknown","error":"Local: \"timed\" out \u00e9"}"#,
        r#"{"type":"send","time_ms":-0.0,"producer":1,"seq":0,"outcome":"failed","partition":-1,"latency_ms":1234567.890123456789}"#,
        r#"{"type":"processed","time_ms":40.1,"consumer":1,"producer":0,"seq":17,"partition":2,"offset":345}"#,
        r#"{"type":"log","producer":0,"seq":17,"partition":2,"offset":9223372036854775807}"#,
        r#"{"type":"log","producer":0,"seq":17,"partition":-2147483648,"offset":-9223372036854775808,"x":true,"y":false,"z":null}"#,
    ];

    /// Every line the fast path accepts, serde accepts too, with the same record.
    fn agree(line: &[u8]) {
        if let Some(fast) = fast::parse(line) {
            match parse_with_serde(line) {
                Ok(Parsed::Record(slow)) => {
                    assert!(same(&fast, &slow), "{fast:?} vs {slow:?}: {}", String::from_utf8_lossy(line))
                }
                Ok(_) => panic!("fast path took a line serde skips: {}", String::from_utf8_lossy(line)),
                Err(e) => panic!("fast path took a line serde rejects ({e}): {}", String::from_utf8_lossy(line)),
            }
        }
    }

    /// Equal, but for the last bit of a float of more than 15 digits: the fast path rounds those
    /// correctly, serde_json (without `float_roundtrip`) not always.
    fn same(a: &Record, b: &Record) -> bool {
        let close = |x: f64, y: f64| x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs());
        match (a, b) {
            (Record::Send(x), Record::Send(y)) => {
                close(x.time_ms, y.time_ms)
                    && match (x.latency_ms, y.latency_ms) {
                        (Some(l), Some(m)) => close(l, m),
                        (l, m) => l == m,
                    }
                    && SendEvent { time_ms: 0.0, latency_ms: None, status: None, error: None, ..x.clone() }
                        == SendEvent { time_ms: 0.0, latency_ms: None, status: None, error: None, ..y.clone() }
            }
            (Record::Processed(x), Record::Processed(y)) => {
                close(x.time_ms, y.time_ms)
                    && ProcessedEvent { time_ms: 0.0, ..*x } == ProcessedEvent { time_ms: 0.0, ..*y }
            }
            _ => a == b,
        }
    }

    #[test]
    fn the_fast_path_takes_the_runners_lines() {
        for line in LINES {
            assert!(fast::parse(line.as_bytes()).is_some(), "{line}");
            agree(line.as_bytes());
        }
    }

    #[test]
    fn the_fast_path_never_disagrees_with_serde() {
        // Mutate the runner's lines a byte at a time (and two at a time), towards the bytes
        // JSON cares about.
        const BYTES: &[u8] = b"{}[]\":,.-+eE0159tfnu\\ \t\r\x01\xc3\xa9aZ";
        let mut random = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random
        };
        for _ in 0..200_000 {
            let mut line = LINES[(next() % LINES.len() as u64) as usize].as_bytes().to_vec();
            for _ in 0..1 + next() % 2 {
                let at = (next() % line.len() as u64) as usize;
                let byte = BYTES[(next() % BYTES.len() as u64) as usize];
                match next() % 3 {
                    0 => line[at] = byte,
                    1 => line.insert(at, byte),
                    _ => {
                        line.remove(at);
                    }
                }
                if line.is_empty() {
                    break;
                }
            }
            agree(&line);
        }
    }
}
