//! How a message says who wrote it: run id, producer id and sequence number.
//!
//! The ids live at the front of the value, as text: `kc1|<run>|<producer>|<seq>|` followed by
//! padding up to `payload_bytes`. Text so a human reading the topic with a console consumer sees
//! them; in the value (not headers) so every client and tool keeps them, and parsing is a split on
//! `|`, no allocation. The key is `<producer>-<seq>`: unique per message, so `hash` routing spreads
//! messages evenly over partitions, and readable next to the value.
//!
//! The padding is random lowercase letters drawn once per producer (seeded by its id), so
//! `compression.type` sees text-like data rather than a run of one byte that compresses to nothing.

use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};

/// Marks a value written by this harness, version 1 of the layout.
const MAGIC: &[u8] = b"kc1|";
const SEP: u8 = b'|';

/// The ids one message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId<'a> {
    pub run: &'a str,
    pub producer: u32,
    pub seq: u64,
}

/// What a record read back from the topic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Written by this run.
    Ours { producer: u32, seq: u64 },
    /// Written by this harness, but by another run (a reused topic).
    OtherRun(RecordId<'a>),
    /// Not written by this harness, or damaged.
    Foreign,
}

/// A run id goes between separators in every value: keep it short and free of `|`.
pub fn validate_run_id(run: &str) -> Result<()> {
    let ok = !run.is_empty()
        && run.len() <= 64
        && run.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "run id \"{run}\" cannot be written into messages; use 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Parse the ids at the front of a value; None when it is not one of ours.
pub fn parse(value: &[u8]) -> Option<RecordId<'_>> {
    let rest = value.strip_prefix(MAGIC)?;
    let mut fields = rest.splitn(4, |b| *b == SEP);
    let run = std::str::from_utf8(fields.next()?).ok()?;
    let producer = parse_u64(fields.next()?)?;
    let seq = parse_u64(fields.next()?)?;
    // The third separator must be there: a value cut short after the seq is damaged.
    fields.next()?;
    if run.is_empty() {
        return None;
    }
    Some(RecordId { run, producer: u32::try_from(producer).ok()?, seq })
}

/// Classify a record's value against this run.
pub fn decode<'a>(run: &str, value: Option<&'a [u8]>) -> Decoded<'a> {
    match value.and_then(parse) {
        Some(id) if id.run == run => Decoded::Ours { producer: id.producer, seq: id.seq },
        Some(id) => Decoded::OtherRun(id),
        None => Decoded::Foreign,
    }
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// Builds the key and value of each message of one producer, reusing its buffers.
pub struct Encoder {
    prefix: Vec<u8>,
    padding: Vec<u8>,
    payload_bytes: usize,
    key: String,
    value: Vec<u8>,
}

impl Encoder {
    pub fn new(run: &str, producer: u32, payload_bytes: usize) -> Result<Encoder> {
        validate_run_id(run)?;
        let mut prefix = MAGIC.to_vec();
        prefix.extend_from_slice(run.as_bytes());
        prefix.push(SEP);
        prefix.extend_from_slice(producer.to_string().as_bytes());
        prefix.push(SEP);
        let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(producer));
        let padding = (0..payload_bytes).map(|_| rng.gen_range(b'a'..=b'z')).collect();
        Ok(Encoder {
            prefix,
            padding,
            payload_bytes,
            key: String::with_capacity(24),
            value: Vec::with_capacity(payload_bytes.max(64)),
        })
    }

    /// Key and value of message `seq`. The value is `payload_bytes` long, or just the ids when
    /// those alone are longer.
    pub fn encode(&mut self, producer: u32, seq: u64) -> (&str, &[u8]) {
        use std::fmt::Write;
        self.key.clear();
        let _ = write!(self.key, "{producer}-{seq}");
        self.value.clear();
        self.value.extend_from_slice(&self.prefix);
        self.value.extend_from_slice(seq.to_string().as_bytes());
        self.value.push(SEP);
        let fill = self.payload_bytes.saturating_sub(self.value.len());
        self.value.extend_from_slice(&self.padding[..fill]);
        (&self.key, &self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_padding() {
        let mut enc = Encoder::new("run-1", 3, 256).unwrap();
        for seq in [0u64, 1, 99, u64::MAX] {
            let (key, value) = enc.encode(3, seq);
            assert_eq!(key, format!("3-{seq}"));
            assert_eq!(value.len(), 256);
            assert_eq!(decode("run-1", Some(value)), Decoded::Ours { producer: 3, seq });
        }
    }

    #[test]
    fn ids_longer_than_the_payload_are_kept_whole() {
        let mut enc = Encoder::new("r", 4_000_000_000, 4).unwrap();
        let (_, value) = enc.encode(4_000_000_000, 12345);
        assert_eq!(value, b"kc1|r|4000000000|12345|");
        assert_eq!(decode("r", Some(value)), Decoded::Ours { producer: 4_000_000_000, seq: 12345 });
    }

    #[test]
    fn other_runs_and_foreign_records_are_told_apart() {
        let mut enc = Encoder::new("old", 1, 64).unwrap();
        let (_, value) = enc.encode(1, 7);
        let value = value.to_vec();
        assert_eq!(decode("new", Some(&value)), Decoded::OtherRun(RecordId { run: "old", producer: 1, seq: 7 }));
        for junk in [
            &b""[..],
            b"hello",
            b"kc1|",
            b"kc1|r|1|",
            b"kc1|r|1|2",
            b"kc1|r|x|2|",
            b"kc1||1|2|",
            b"kc1|r|1|99999999999999999999999|",
            b"kc1|r|4294967296|1|",
        ] {
            assert_eq!(decode("r", Some(junk)), Decoded::Foreign, "{:?}", String::from_utf8_lossy(junk));
        }
        assert_eq!(decode("r", None), Decoded::Foreign);
        assert_eq!(decode("r", Some(b"kc1|r|1|2|")), Decoded::Ours { producer: 1, seq: 2 });
    }

    #[test]
    fn run_ids_must_fit_between_separators() {
        assert!(validate_run_id("20250101-abc_1.x").is_ok());
        for bad in ["", "a|b", "with space", &"x".repeat(65)] {
            assert!(validate_run_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn padding_is_text_like_not_one_byte() {
        let mut enc = Encoder::new("r", 1, 200).unwrap();
        let (_, value) = enc.encode(1, 1);
        let distinct: std::collections::HashSet<u8> = value[20..].iter().copied().collect();
        assert!(distinct.len() > 10);
    }
}
