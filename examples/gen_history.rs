//! Writes a synthetic but realistic `history.jsonl` of N messages, for measuring the checker:
//!
//!     cargo run --release --example gen_history -- 10000000 /tmp/big
//!
//! Four producers send to six partitions at 50,000 messages a second; three consumers process
//! each record a few milliseconds after it is acked; the final log comes last, partition by
//! partition. Two faults (a broker kill, a network partition) bring the anomalies the checker
//! counts: acked messages lost to a truncation, unknown outcomes (half of them in the log),
//! failed sends, retries written twice (and so out of order), records processed twice or never.
//! Deterministic: the same N gives the same file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

const PRODUCERS: u64 = 4;
const PARTITIONS: usize = 6;
const CONSUMERS: u64 = 3;
const MESSAGES_PER_SECOND: f64 = 50_000.0;

/// xorshift64*: no dependency, fast, good enough for picking anomalies.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with probability 1 in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: gen_history N DIR");
        std::process::exit(2);
    }
    let messages: u64 = args[1].parse().expect("N must be a number");
    let dir = PathBuf::from(&args[2]);
    std::fs::create_dir_all(&dir)?;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join("history.jsonl"))?);
    let mut random = Random(0x9E37_79B9_7F4A_7C15);

    let duration_ms = messages as f64 / MESSAGES_PER_SECOND * 1000.0;
    let kill = (duration_ms * 0.30, duration_ms * 0.38);
    let partition = (duration_ms * 0.60, duration_ms * 0.70);
    let mut faults = vec![
        (kill.0, "kill", "broker-2", "start"),
        (kill.1, "kill", "broker-2", "end"),
        (partition.0, "partition", "broker-1", "start"),
        (partition.1, "partition", "broker-1", "end"),
    ];
    faults.reverse();

    // The final log of each partition: (producer, seq) by offset.
    let mut log: Vec<Vec<(u64, u64)>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
    // A retried copy waits for the next record of its partition, so it lands out of order.
    let mut retried: Vec<Option<(u64, u64)>> = vec![None; PARTITIONS];
    let mut seqs = [0u64; PRODUCERS as usize];

    for i in 0..messages {
        let time_ms = i as f64 / MESSAGES_PER_SECOND * 1000.0;
        while faults.last().is_some_and(|f| f.0 <= time_ms) {
            let (at, action, target, phase) = faults.pop().unwrap();
            writeln!(
                out,
                r#"{{"type":"fault","time_ms":{at:.1},"action":"{action}","target":"{target}","phase":"{phase}","spec":"leader:0"}}"#
            )?;
        }
        let producer = i % PRODUCERS;
        let seq = seqs[producer as usize];
        seqs[producer as usize] += 1;
        let p = (random.next() % PARTITIONS as u64) as usize;
        let in_fault = (kill.0..kill.1).contains(&time_ms) || (partition.0..partition.1).contains(&time_ms);
        let latency = 2.0
            + (random.next() % 80) as f64 / 10.0
            + if in_fault { (random.next() % 3000) as f64 / 10.0 } else { 0.0 };

        let (outcome, written) = if in_fault && random.one_in(200) {
            ("unknown", random.one_in(2))
        } else if random.one_in(2000) {
            ("failed", random.one_in(50))
        } else {
            ("acked", !(in_fault && random.one_in(5000)))
        };
        let offset = log[p].len();
        match outcome {
            "acked" => writeln!(
                out,
                r#"{{"type":"send","time_ms":{time_ms:.1},"producer":{producer},"seq":{seq},"outcome":"acked","partition":{p},"offset":{offset},"status":"persisted","latency_ms":{latency:.1}}}"#
            )?,
            _ => writeln!(
                out,
                r#"{{"type":"send","time_ms":{time_ms:.1},"producer":{producer},"seq":{seq},"outcome":"{outcome}","latency_ms":{latency:.1},"error":"Local: Message timed out"}}"#
            )?,
        }
        if !written {
            // Lost: the next record of the partition takes the offset it was acked at.
            continue;
        }
        log[p].push((producer, seq));
        if let Some(copy) = retried[p].take() {
            log[p].push(copy);
        }
        if in_fault && random.one_in(3000) {
            retried[p] = Some((producer, seq));
        }
        if random.one_in(100_000) {
            continue; // never processed
        }
        let consumer = p as u64 % CONSUMERS;
        let times = if in_fault && random.one_in(500) { 2 } else { 1 };
        for k in 0..times {
            let at = time_ms + 3.0 + k as f64 * 250.0;
            writeln!(
                out,
                r#"{{"type":"processed","time_ms":{at:.1},"consumer":{consumer},"producer":{producer},"seq":{seq},"partition":{p},"offset":{offset}}}"#
            )?;
        }
    }
    for (at, action, target, phase) in faults.into_iter().rev() {
        writeln!(
            out,
            r#"{{"type":"fault","time_ms":{at:.1},"action":"{action}","target":"{target}","phase":"{phase}"}}"#
        )?;
    }
    writeln!(out, r#"{{"type":"note","time_ms":{duration_ms:.1},"text":"final read of the log"}}"#)?;
    for (p, records) in log.iter().enumerate() {
        for (offset, (producer, seq)) in records.iter().enumerate() {
            writeln!(out, r#"{{"type":"log","producer":{producer},"seq":{seq},"partition":{p},"offset":{offset}}}"#)?;
        }
    }
    out.flush()?;
    Ok(())
}
