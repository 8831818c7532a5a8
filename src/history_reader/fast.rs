//! A hand-written parser for the lines the runner writes most: `send`, `processed` and `log`
//! events as serde_json serializes them (tag first, no whitespace, flat values). It is several
//! times faster than serde on 30 million lines. It accepts only what it fully understands and
//! answers `None` for anything else (another type, whitespace, escapes in a key, non-ASCII,
//! nested values, a field twice, a number of an unexpected form), leaving the line to the serde
//! path, which accepts or rejects it and names the problem. It fills the fields the checker
//! reads: a send's `error` text is checked but not copied.

use super::Record;
use crate::history::{LogEvent, PersistStatus, ProcessedEvent, SendEvent, SendOutcome};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Send,
    Processed,
    Log,
}

#[derive(Default)]
struct Fields {
    time_ms: Option<f64>,
    producer: Option<u32>,
    seq: Option<u64>,
    outcome: Option<SendOutcome>,
    partition: Option<i32>,
    offset: Option<i64>,
    latency_ms: Option<f64>,
    consumer: Option<u32>,
    status: Option<PersistStatus>,
}

pub(super) fn parse(line: &[u8]) -> Option<Record> {
    let (kind, start) = if let Some(rest) = line.strip_prefix(br#"{"type":"send","#) {
        (Kind::Send, line.len() - rest.len())
    } else if let Some(rest) = line.strip_prefix(br#"{"type":"processed","#) {
        (Kind::Processed, line.len() - rest.len())
    } else if let Some(rest) = line.strip_prefix(br#"{"type":"log","#) {
        (Kind::Log, line.len() - rest.len())
    } else {
        return None;
    };
    let mut c = Cursor { bytes: line, at: start };
    let mut f = Fields::default();
    loop {
        let key = c.key()?;
        // Each arm refuses a field seen twice: serde rejects duplicates, so must we.
        match key {
            b"time_ms" if f.time_ms.is_none() => f.time_ms = Some(c.float()?),
            b"producer" if f.producer.is_none() => f.producer = Some(u32::try_from(c.unsigned()?).ok()?),
            b"seq" if f.seq.is_none() => f.seq = Some(c.unsigned()?),
            b"outcome" if f.outcome.is_none() => f.outcome = Some(c.outcome()?),
            b"partition" if f.partition.is_none() => f.partition = Some(i32::try_from(c.signed()?).ok()?),
            b"offset" if f.offset.is_none() => f.offset = Some(c.signed()?),
            b"latency_ms" if f.latency_ms.is_none() => f.latency_ms = Some(c.float()?),
            b"consumer" if f.consumer.is_none() => f.consumer = Some(u32::try_from(c.unsigned()?).ok()?),
            b"status" if kind == Kind::Send && f.status.is_none() => f.status = Some(c.status()?),
            // Read by people, not by the checker: skipped, but it must be what serde would take.
            b"error" if kind == Kind::Send => c.text_or_null()?,
            b"time_ms" | b"producer" | b"seq" | b"outcome" | b"partition" | b"offset" | b"latency_ms" | b"consumer"
            | b"status" | b"type" => return None,
            _ => c.skip_value()?,
        }
        match c.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    // Only a carriage return may follow (a file written on Windows).
    if !line[c.at..].iter().all(|&b| b == b'\r') {
        return None;
    }
    Some(match kind {
        Kind::Send => Record::Send(SendEvent {
            time_ms: f.time_ms?,
            producer: f.producer?,
            seq: f.seq?,
            outcome: f.outcome?,
            partition: f.partition,
            offset: f.offset,
            status: f.status,
            latency_ms: f.latency_ms,
            error: None,
        }),
        Kind::Processed => Record::Processed(ProcessedEvent {
            time_ms: f.time_ms?,
            consumer: f.consumer?,
            producer: f.producer?,
            seq: f.seq?,
            partition: f.partition?,
            offset: f.offset?,
        }),
        Kind::Log => {
            Record::Log(LogEvent { producer: f.producer?, seq: f.seq?, partition: f.partition?, offset: f.offset? })
        }
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// `"name":`, a name without escapes.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        if self.next()? != b'"' {
            return None;
        }
        let from = self.at;
        let len = self.bytes[from..].iter().position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b))?;
        if self.bytes[from + len] != b'"' {
            return None;
        }
        self.at = from + len + 1;
        (self.next()? == b':').then_some(&self.bytes[from..from + len])
    }

    #[inline]
    fn digits(&mut self) -> Option<(u64, usize)> {
        let from = self.at;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value.checked_mul(10)?.checked_add((d - b'0') as u64)?;
            self.at += 1;
        }
        let count = self.at - from;
        // JSON allows no leading zero.
        if count == 0 || (count > 1 && self.bytes[from] == b'0') {
            return None;
        }
        Some((value, count))
    }

    /// An integer: no fraction, no exponent (serde refuses `1.0` for an integer field too).
    #[inline]
    fn unsigned(&mut self) -> Option<u64> {
        let (value, _) = self.digits()?;
        self.integer_ends()?;
        Some(value)
    }

    #[inline]
    fn signed(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let (value, _) = self.digits()?;
        self.integer_ends()?;
        if negative {
            0i64.checked_sub_unsigned(value)
        } else {
            i64::try_from(value).ok()
        }
    }

    fn integer_ends(&self) -> Option<()> {
        match self.peek() {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(()),
        }
    }

    /// A JSON number. The common `12.5` is converted exactly (an integer of at most 15 digits
    /// divided by a power of ten is correctly rounded); anything longer goes to the standard
    /// library's parser.
    #[inline]
    fn float(&mut self) -> Option<f64> {
        const POWERS: [f64; 16] =
            [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
        let from = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let (whole, whole_digits) = self.digits()?;
        let mut mantissa = whole;
        let mut fraction_digits = 0;
        if self.peek() == Some(b'.') {
            self.at += 1;
            let start = self.at;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                mantissa = mantissa.wrapping_mul(10).wrapping_add((d - b'0') as u64);
                self.at += 1;
            }
            fraction_digits = self.at - start;
            if fraction_digits == 0 {
                return None;
            }
        }
        let exponent = matches!(self.peek(), Some(b'e' | b'E'));
        if exponent || whole_digits + fraction_digits > 15 {
            if exponent {
                self.at += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.at += 1;
                }
                let start = self.at;
                while let Some(b'0'..=b'9') = self.peek() {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
            }
            let text = std::str::from_utf8(&self.bytes[from..self.at]).ok()?;
            return text.parse::<f64>().ok().filter(|v| v.is_finite());
        }
        let value = mantissa as f64 / POWERS[fraction_digits];
        Some(if negative { -value } else { value })
    }

    #[inline]
    fn outcome(&mut self) -> Option<SendOutcome> {
        self.one_of(&[
            (br#""acked""#, SendOutcome::Acked),
            (br#""failed""#, SendOutcome::Failed),
            (br#""unknown""#, SendOutcome::Unknown),
        ])
    }

    #[inline]
    fn status(&mut self) -> Option<PersistStatus> {
        self.one_of(&[
            (br#""persisted""#, PersistStatus::Persisted),
            (br#""possibly_persisted""#, PersistStatus::PossiblyPersisted),
            (br#""not_persisted""#, PersistStatus::NotPersisted),
        ])
    }

    /// One of a few quoted names, exactly as written.
    #[inline]
    fn one_of<T: Copy>(&mut self, names: &[(&[u8], T)]) -> Option<T> {
        let rest = &self.bytes[self.at..];
        let &(name, value) = names.iter().find(|(name, _)| rest.starts_with(name))?;
        self.at += name.len();
        Some(value)
    }

    /// Skips a string or `null`; refuses anything else.
    fn text_or_null(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' | b'n' => self.skip_value(),
            _ => None,
        }
    }

    /// Skips a string, number, `true`, `false` or `null`; refuses nested values.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                loop {
                    match self.next()? {
                        b'"' => return Some(()),
                        b'\\' => match self.next()? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                            b'u' => {
                                for _ in 0..4 {
                                    if !self.next()?.is_ascii_hexdigit() {
                                        return None;
                                    }
                                }
                            }
                            _ => return None,
                        },
                        // Control characters are invalid; non-ASCII is left to serde's UTF-8 check.
                        b if !(0x20..0x80).contains(&b) => return None,
                        _ => {}
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.float().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Some(())
        } else {
            None
        }
    }
}
