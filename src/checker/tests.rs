//! Each count from a handful of hand-written history lines, Jepsen-style: the lines are the
//! test, the expected counts are exact. Then each kind of malformed line, with its message.

use super::*;
use crate::history::SendOutcome;
use crate::history_reader::HistoryReader;
use std::path::Path;

fn check(lines: &[&str]) -> Analysis {
    analyze_bytes(Path::new("history.jsonl"), lines.join("\n").as_bytes()).expect("a valid history")
}

fn error(lines: &[&str]) -> String {
    analyze_bytes(Path::new("history.jsonl"), lines.join("\n").as_bytes()).expect_err("an invalid history").to_string()
}

fn only(counts: Counts, set: impl FnOnce(&mut Counts)) -> Counts {
    let mut expected = counts;
    set(&mut expected);
    expected
}

#[test]
fn empty_history_counts_nothing() {
    let a = check(&[]);
    assert_eq!(a.counts, Counts::default());
    assert_eq!(a.evidence.ledger.gaps, 0);
    assert!(a.faults.is_empty());
    assert_eq!(a.timeline.seconds(), 0);
    assert_eq!(a.latency_ms, None);
    assert_eq!(a.input.lines, 0);
}

#[test]
fn blank_lines_and_a_trailing_newline_are_fine() {
    let a = check(&[r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#, "", "  ", ""]);
    assert_eq!(a.counts.sent, 1);
}

#[test]
fn sent_acked_failed_unknown_count_messages_by_outcome() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0}"#,
        r#"{"type":"send","time_ms":2.0,"producer":0,"seq":1,"outcome":"acked","partition":1,"offset":0}"#,
        r#"{"type":"send","time_ms":3.0,"producer":1,"seq":0,"outcome":"acked","partition":0,"offset":1}"#,
        r#"{"type":"send","time_ms":4.0,"producer":1,"seq":1,"outcome":"failed","error":"Broker: Not enough in-sync replicas"}"#,
        r#"{"type":"send","time_ms":5.0,"producer":1,"seq":2,"outcome":"unknown","status":"possibly_persisted"}"#,
        r#"{"type":"send","time_ms":6.0,"producer":2,"seq":0,"outcome":"unknown"}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":1,"offset":0}"#,
        r#"{"type":"log","producer":1,"seq":0,"partition":0,"offset":1}"#,
    ]);
    assert_eq!((a.counts.sent, a.counts.acked, a.counts.failed, a.counts.unknown), (6, 3, 1, 2));
    assert_eq!(a.evidence.ledger.gaps, 0, "seqs 0..n of each producer each have an outcome");
}

#[test]
fn in_log_counts_messages_with_a_record_once_each() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":1,"outcome":"acked"}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":7,"seq":3,"partition":0,"offset":2}"#,
    ]);
    // seq 0 twice counts once; producer 7 was never sent but is in the log.
    assert_eq!(a.counts.in_log, 2);
}

#[test]
fn lost_counts_acked_messages_missing_from_the_log() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0}"#,
        r#"{"type":"send","time_ms":2.0,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1}"#,
        r#"{"type":"send","time_ms":3.0,"producer":0,"seq":2,"outcome":"failed"}"#,
        r#"{"type":"send","time_ms":4.0,"producer":0,"seq":3,"outcome":"unknown"}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
    ]);
    assert_eq!(
        a.counts,
        Counts { sent: 4, acked: 2, failed: 1, unknown: 1, in_log: 1, lost: 1, unconsumed: 1, ..Counts::default() }
    );
    let sample = &a.samples.lost[0];
    assert_eq!((sample.producer, sample.seq, sample.partition, sample.offset), (Some(0), Some(1), Some(0), Some(1)));
    assert_eq!(sample.sent_ms, Some(2.0));
    assert_eq!(sample.outcome, Some(SendOutcome::Acked));
}

#[test]
fn duplicated_counts_messages_with_two_or_more_records() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":1,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":2,"outcome":"acked"}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":2}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":3}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":1,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":1,"offset":1}"#,
    ]);
    assert_eq!(a.counts.duplicated, 2);
    assert_eq!(a.counts.reordered, 0);
    let records = |s: &Sample| s.records.iter().map(|r| (r.partition, r.offset)).collect::<Vec<_>>();
    assert_eq!(records(&a.samples.duplicated[0]), [(0, 0), (0, 1)]);
    assert_eq!(records(&a.samples.duplicated[1]), [(0, 2), (0, 3), (1, 0)]);
}

#[test]
fn reordered_counts_records_after_a_higher_seq_of_the_same_producer_in_the_partition() {
    // Log lines in no particular order: the checker sorts each partition by offset.
    let a = check(&[
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":2}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":3,"partition":0,"offset":3}"#,
        r#"{"type":"log","producer":1,"seq":0,"partition":0,"offset":4}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":1,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":0,"offset":5}"#,
    ]);
    // Partition 0: seq 1 at offset 2 after seq 2 at offset 1; seq 2 at offset 5 after seq 3.
    // Producer 1's seq 0 and partition 1's seq 0 are compared with nothing of producer 0's.
    assert_eq!(a.counts.reordered, 2);
    let s = &a.samples.reordered[0];
    assert_eq!((s.producer, s.seq, s.partition, s.offset), (Some(0), Some(1), Some(0), Some(2)));
    assert_eq!(s.note.as_deref(), Some("after seq 2 at offset 1"));
    assert_eq!(a.samples.reordered[1].note.as_deref(), Some("after seq 3 at offset 3"));
}

#[test]
fn a_duplicate_of_the_same_seq_is_not_reordered() {
    let a = check(&[
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":1}"#,
    ]);
    assert_eq!((a.counts.duplicated, a.counts.reordered), (1, 0));
}

#[test]
fn unexpected_counts_failed_or_never_sent_messages_in_the_log() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"failed"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":1,"outcome":"failed"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":2,"outcome":"acked"}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":5,"seq":9,"partition":0,"offset":2}"#,
    ]);
    assert_eq!(a.counts.unexpected, 2);
    let s = &a.samples.unexpected;
    assert_eq!(
        (s[0].producer, s[0].seq, s[0].outcome, s[0].offset),
        (Some(0), Some(0), Some(SendOutcome::Failed), Some(0))
    );
    assert_eq!((s[1].producer, s[1].seq, s[1].outcome, s[1].offset), (Some(5), Some(9), None, Some(2)));
}

#[test]
fn recovered_counts_unknown_outcomes_found_in_the_log() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"unknown"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":1,"outcome":"unknown"}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":3,"offset":7}"#,
    ]);
    assert_eq!(a.counts, Counts { sent: 2, unknown: 2, in_log: 1, recovered: 1, unconsumed: 1, ..Counts::default() });
    assert_eq!((a.samples.recovered[0].partition, a.samples.recovered[0].offset), (Some(3), Some(7)));
}

#[test]
fn unconsumed_counts_messages_in_the_log_never_processed() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":1,"outcome":"acked"}"#,
        r#"{"type":"processed","time_ms":5.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
    ]);
    assert_eq!(a.counts.unconsumed, 1);
    assert_eq!(a.samples.unconsumed[0].seq, Some(1));
}

#[test]
fn redelivered_counts_records_processed_more_than_once() {
    let a = check(&[
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":1,"offset":0}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"processed","time_ms":2.0,"consumer":1,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"processed","time_ms":3.0,"consumer":1,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":2,"partition":1,"offset":0}"#,
        r#"{"type":"processed","time_ms":9.0,"consumer":2,"producer":0,"seq":2,"partition":1,"offset":0}"#,
    ]);
    // Records, not extra deliveries: (0,0) three times counts once, (1,0) twice counts once.
    assert_eq!(a.counts.redelivered, 2);
    assert_eq!(a.counts.processed_twice, 2);
    let s = &a.samples.redelivered[0];
    assert_eq!((s.producer, s.seq, s.partition, s.offset), (Some(0), Some(0), Some(0), Some(0)));
    assert_eq!(s.note.as_deref(), Some("processed 3 times"));
}

#[test]
fn processed_twice_counts_messages_processed_more_than_once_for_any_reason() {
    // Message 0: two records (a duplicate), each processed once: not redelivered, processed twice.
    // Message 1: one record processed twice. Message 2: processed once.
    let a = check(&[
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":2}"#,
        r#"{"type":"log","producer":0,"seq":2,"partition":0,"offset":3}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":1}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":2}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":1,"producer":0,"seq":1,"partition":0,"offset":2}"#,
        r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":2,"partition":0,"offset":3}"#,
    ]);
    assert_eq!((a.counts.processed_twice, a.counts.redelivered, a.counts.duplicated), (2, 1, 1));
    assert_eq!(a.input.processed_events, 5);
}

#[test]
fn a_clean_run_has_no_anomalies() {
    let a = check(&[
        r#"{"type":"send","time_ms":10.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":3.5}"#,
        r#"{"type":"processed","time_ms":12.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"send","time_ms":1010.0,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1,"latency_ms":4.5}"#,
        r#"{"type":"processed","time_ms":1012.0,"consumer":0,"producer":0,"seq":1,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
    ]);
    assert_eq!(a.counts, only(Counts::default(), |c| (c.sent, c.acked, c.in_log) = (2, 2, 2)));
    assert_eq!(a.samples, Samples::default());
    assert_eq!(a.timeline.acked, [1, 1]);
    assert_eq!(a.timeline.processed, [1, 1]);
}

#[test]
fn lost_messages_are_placed_in_the_fault_window_they_were_acked_in() {
    let a = check(&[
        r#"{"type":"send","time_ms":500.0,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0}"#,
        r#"{"type":"fault","time_ms":1000.0,"action":"kill","target":"broker-2","phase":"start","spec":"leader:0"}"#,
        r#"{"type":"send","time_ms":1500.0,"producer":0,"seq":1,"outcome":"acked","partition":0,"offset":1}"#,
        r#"{"type":"send","time_ms":1600.0,"producer":0,"seq":2,"outcome":"acked","partition":0,"offset":2}"#,
        r#"{"type":"fault","time_ms":2000.0,"action":"kill","target":"broker-2","phase":"end"}"#,
        r#"{"type":"send","time_ms":2500.0,"producer":0,"seq":3,"outcome":"acked","partition":0,"offset":3}"#,
        r#"{"type":"fault","time_ms":3000.0,"action":"pause","target":"broker-1","phase":"start"}"#,
        r#"{"type":"send","time_ms":3500.0,"producer":0,"seq":4,"outcome":"acked","partition":0,"offset":4}"#,
    ]);
    assert_eq!(a.counts.lost, 5);
    assert_eq!(
        a.faults,
        [
            FaultWindow {
                action: crate::model::FaultActionKind::Kill,
                target: "broker-2".into(),
                spec: Some("leader:0".into()),
                step: None,
                start_ms: Some(1000.0),
                end_ms: Some(2000.0)
            },
            FaultWindow {
                action: crate::model::FaultActionKind::Pause,
                target: "broker-1".into(),
                spec: None,
                step: None,
                start_ms: Some(3000.0),
                end_ms: None
            },
        ]
    );
    let reasons: Vec<(&str, u64)> = a.lost.by_fault.iter().map(|w| (w.context.reason.as_str(), w.count)).collect();
    assert_eq!(
        reasons,
        [
            ("during kill broker-2 (1.0 s to 2.0 s)", 2),
            ("during pause broker-1 (from 3.0 s, never ended)", 1),
            ("after kill broker-2 ended at 2.0 s", 1),
            ("before any fault", 1),
        ]
    );
    let during = &a.lost.by_fault[0];
    assert_eq!((during.first_acked_ms, during.last_acked_ms), (1500.0, 1600.0));
    assert_eq!(during.context.fault, Some(0));
    assert_eq!(during.context.relation, Relation::During);
    let first = a.samples.lost[0].fault.as_ref().unwrap();
    assert_eq!((first.relation, first.reason.as_str()), (Relation::BeforeAnyFault, "before any fault"));
    assert_eq!(a.lost.per_second, [(0, 1), (1, 2), (2, 1), (3, 1)]);
    assert_eq!(a.timeline.lost, [1, 2, 1, 1]);
}

#[test]
fn timeline_counts_each_second() {
    let a = check(&[
        r#"{"type":"send","time_ms":0.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":999.9,"producer":0,"seq":1,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1000.0,"producer":0,"seq":2,"outcome":"failed"}"#,
        r#"{"type":"send","time_ms":2500.0,"producer":0,"seq":3,"outcome":"unknown"}"#,
        r#"{"type":"processed","time_ms":2600.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
    ]);
    assert_eq!(a.timeline.acked, [2, 0, 0]);
    assert_eq!(a.timeline.failed, [0, 1, 0]);
    assert_eq!(a.timeline.unknown, [0, 0, 1]);
    assert_eq!(a.timeline.processed, [0, 0, 1]);
    assert_eq!(a.timeline.lost, [0, 0, 0]);
}

#[test]
fn latency_percentiles_come_from_acked_sends() {
    let mut lines: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"type":"send","time_ms":1.0,"producer":0,"seq":{i},"outcome":"acked","latency_ms":{}.0}}"#,
                i + 1
            )
        })
        .collect();
    lines.push(r#"{"type":"send","time_ms":1.0,"producer":1,"seq":0,"outcome":"failed","latency_ms":99999.0}"#.into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let l = check(&refs).latency_ms.unwrap();
    assert_eq!((l.count, l.p50, l.p90, l.p99, l.p999, l.max), (1000, 500.0, 900.0, 990.0, 999.0, 1000.0));
}

#[test]
fn other_types_and_unknown_fields_are_ignored() {
    let a = check(&[
        r#"{"type":"note","time_ms":0.0,"text":"start \"quoted\""}"#,
        r#"{"type":"rebalance","time_ms":1.0,"consumer":0,"kind":"assigned","partitions":[0,1,2]}"#,
        r#"{"type":"leader_change","time_ms":1.0,"partition":0,"leader":null}"#,
        r#"{"type":"something_new","seq":"not a number","nested":{"a":[1,{"b":2}]}}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked","extra":{"x":[1,2]},"error":null}"#,
        r#"{"type":"fault","time_ms":2.0,"action":"kill","target":"broker-\u0032","phase":"start","detail":"a \"b\""}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0,"key":"0-0"}"#,
    ]);
    assert_eq!((a.counts.sent, a.counts.in_log, a.input.other_lines, a.input.lines), (1, 1, 4, 7));
    assert_eq!(a.faults[0].target, "broker-2");
}

#[test]
fn spacing_and_field_order_do_not_matter() {
    let compact = check(&[
        r#"{"type":"send","time_ms":1.5,"producer":0,"seq":0,"outcome":"acked","partition":0,"offset":0,"latency_ms":2.25}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
    ]);
    let spaced = check(&[
        r#" { "latency_ms" : 2.25e0 , "offset" : 0, "partition": 0, "outcome": "acked", "seq": 0, "producer": 0, "time_ms": 15e-1, "type": "send" } "#,
        r#"{"seq":0,"type":"log","offset":0,"partition":0,"producer":0}"#,
    ]);
    assert_eq!(compact.input.bytes + 26, spaced.input.bytes);
    assert_eq!(Analysis { input: spaced.input, ..compact }, spaced);
}

#[test]
fn log_records_before_their_sends_count_the_same() {
    let a = check(&[
        r#"{"type":"log","producer":0,"seq":1,"partition":0,"offset":1}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":2.0,"producer":0,"seq":1,"outcome":"failed"}"#,
    ]);
    assert_eq!((a.counts.in_log, a.counts.lost, a.counts.unexpected), (2, 0, 1));
}

#[test]
fn seqs_far_apart_are_counted_like_dense_ones() {
    let a = check(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":18446744073709551615,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":5000000000,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":4000000000,"seq":3,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#,
        r#"{"type":"log","producer":0,"seq":5000000000,"partition":-1,"offset":9223372036854775807}"#,
        r#"{"type":"log","producer":0,"seq":0,"partition":0,"offset":0}"#,
    ]);
    assert_eq!((a.counts.sent, a.counts.in_log, a.counts.lost), (4, 2, 2));
    let lost: Vec<_> = a.samples.lost.iter().map(|s| (s.producer.unwrap(), s.seq.unwrap())).collect();
    assert_eq!(lost, [(0, u64::MAX), (4_000_000_000, 3)]);
}

#[test]
fn reading_in_chunks_gives_the_same_analysis() {
    let mut text = String::new();
    for seq in 0..3000u64 {
        let partition = seq % 3;
        let outcome = ["acked", "acked", "failed", "unknown"][(seq % 4) as usize];
        text += &format!(
            "{{\"type\":\"send\",\"time_ms\":{}.5,\"producer\":{},\"seq\":{seq},\"outcome\":\"{outcome}\",\"latency_ms\":{}.1}}\n",
            seq * 3,
            seq % 2,
            seq % 17
        );
        if seq % 7 != 0 {
            text += &format!("{{\"type\":\"processed\",\"time_ms\":{}.0,\"consumer\":0,\"producer\":{},\"seq\":{seq},\"partition\":{partition},\"offset\":{seq}}}\n", seq * 3 + 1, seq % 2);
        }
        if seq == 1500 {
            text += "{\"type\":\"fault\",\"time_ms\":4500.0,\"action\":\"kill\",\"target\":\"broker-1\",\"phase\":\"start\"}\n";
        }
    }
    text += "{\"type\":\"fault\",\"time_ms\":9000.0,\"action\":\"kill\",\"target\":\"broker-1\",\"phase\":\"end\"}\n";
    for seq in 0..3000u64 {
        if seq % 11 != 0 {
            text += &format!(
                "{{\"type\":\"log\",\"producer\":{},\"seq\":{seq},\"partition\":{},\"offset\":{seq}}}\n",
                seq % 2,
                seq % 3
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, &text).unwrap();
    let whole = analyze(&HistoryReader::open_in_chunks(&path, 1).unwrap()).unwrap();
    for chunks in [2, 3, 7] {
        let reader = HistoryReader::open_in_chunks(&path, chunks).unwrap();
        assert_eq!(reader.chunks(), chunks);
        assert_eq!(analyze(&reader).unwrap(), whole, "{chunks} chunks");
    }
    assert_eq!(whole, analyze_bytes(Path::new("history.jsonl"), text.as_bytes()).unwrap());
    assert!(whole.counts.lost > 0 && whole.counts.unconsumed > 0 && whole.counts.recovered > 0);

    // An error names the same line however the file is split.
    let bad_line = text.lines().count() - 100;
    let mut lines: Vec<&str> = text.lines().collect();
    lines[bad_line - 1] = "{oops";
    std::fs::write(&path, lines.join("\n")).unwrap();
    for chunks in [1, 2, 3, 7] {
        let e = analyze(&HistoryReader::open_in_chunks(&path, chunks).unwrap()).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:{bad_line}: not JSON", path.display())), "{chunks} chunks: {e}");
    }
}

// Malformed lines: each is an error naming the file and the 1-based line.

#[test]
fn a_line_that_is_not_json_is_an_error() {
    let e = error(&[r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#, r#"{"type":"send","#]);
    assert_eq!(e, "history.jsonl:2: not JSON: EOF while parsing a value at column 15");
    assert_eq!(error(&["hello"]), "history.jsonl:1: not JSON: expected value at column 1");
}

#[test]
fn a_json_value_that_is_not_an_object_is_an_error() {
    assert_eq!(error(&["[1,2]"]), "history.jsonl:1: expected a JSON object, got [1,2]");
}

#[test]
fn a_line_without_a_type_is_an_error() {
    assert_eq!(error(&[r#"{"producer":0,"seq":0}"#]), "history.jsonl:1: no \"type\" field");
    assert_eq!(error(&[r#"{"type":5}"#]), "history.jsonl:1: \"type\" must be a string, got 5");
}

#[test]
fn a_known_type_missing_a_required_field_is_an_error() {
    let good = r#"{"type":"note","time_ms":0.0,"text":"x"}"#;
    assert_eq!(
        error(&[good, r#"{"type":"send","time_ms":1.0,"producer":0,"outcome":"acked"}"#]),
        "history.jsonl:2: send event without \"seq\""
    );
    assert_eq!(
        error(&[r#"{"type":"processed","time_ms":1.0,"producer":0,"seq":0,"partition":0,"offset":0}"#]),
        "history.jsonl:1: processed event without \"consumer\""
    );
    assert_eq!(
        error(&[r#"{"type":"log","producer":0,"seq":0,"partition":0}"#]),
        "history.jsonl:1: log event without \"offset\""
    );
    assert_eq!(
        error(&[r#"{"type":"fault","time_ms":1.0,"action":"kill","target":"broker-1"}"#]),
        "history.jsonl:1: fault event without \"phase\""
    );
}

#[test]
fn a_known_type_with_a_field_of_the_wrong_type_is_an_error() {
    assert_eq!(
        error(&[r#"{"type":"send","time_ms":1.0,"producer":0,"seq":"5","outcome":"acked"}"#]),
        "history.jsonl:1: send event: \"seq\" must be a non-negative integer, got \"5\""
    );
    assert_eq!(
        error(&[r#"{"type":"send","time_ms":1.0,"producer":-1,"seq":5,"outcome":"acked"}"#]),
        "history.jsonl:1: send event: \"producer\" must be an integer from 0 to 4294967295, got -1"
    );
    assert_eq!(
        error(&[r#"{"type":"send","time_ms":1.0,"producer":0,"seq":5,"outcome":"ok"}"#]),
        "history.jsonl:1: send event: \"outcome\" must be one of \"acked\", \"failed\", \"unknown\", got \"ok\""
    );
    assert_eq!(
        error(&[r#"{"type":"send","time_ms":null,"producer":0,"seq":5,"outcome":"acked"}"#]),
        "history.jsonl:1: send event: \"time_ms\" must be a number, got null"
    );
    assert_eq!(
        error(&[r#"{"type":"log","producer":0,"seq":1.5,"partition":0,"offset":0}"#]),
        "history.jsonl:1: log event: \"seq\" must be a non-negative integer, got 1.5"
    );
    assert_eq!(
        error(&[r#"{"type":"processed","time_ms":1.0,"consumer":0,"producer":0,"seq":0,"partition":0,"offset":"0"}"#]),
        "history.jsonl:1: processed event: \"offset\" must be a 64-bit integer, got \"0\""
    );
    assert_eq!(
        error(&[r#"{"type":"fault","time_ms":1.0,"action":"kill","target":"broker-1","phase":"begin"}"#]),
        "history.jsonl:1: fault event: \"phase\" must be one of \"start\", \"end\", \"failed\", \"heal_failed\", got \"begin\""
    );
}

#[test]
fn a_field_given_twice_is_an_error() {
    assert_eq!(
        error(&[r#"{"type":"log","producer":0,"seq":0,"seq":1,"partition":0,"offset":0}"#]),
        "history.jsonl:1: duplicate field `seq` at column 40"
    );
}

#[test]
fn a_second_send_event_for_a_message_is_an_error() {
    let e = error(&[
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":5,"outcome":"unknown"}"#,
        r#"{"type":"send","time_ms":1.0,"producer":0,"seq":6,"outcome":"acked"}"#,
        r#"{"type":"send","time_ms":2.0,"producer":0,"seq":5,"outcome":"acked"}"#,
    ]);
    assert_eq!(e, "history.jsonl:3: second send event for producer 0 seq 5 (first on line 1)");
}

#[test]
fn the_first_bad_line_is_reported() {
    let send = r#"{"type":"send","time_ms":1.0,"producer":0,"seq":5,"outcome":"acked"}"#;
    // A second send on line 2 comes before the malformed line 3.
    assert_eq!(
        error(&[send, send, "{", send]),
        "history.jsonl:2: second send event for producer 0 seq 5 (first on line 1)"
    );
    // A malformed line 2 comes before the second send on line 3.
    assert_eq!(error(&[send, "{", send]), "history.jsonl:2: not JSON: EOF while parsing an object at column 1");
}

#[test]
fn malformed_lines_exit_with_invalid_input() {
    let e = analyze_bytes(Path::new("h.jsonl"), b"{").unwrap_err();
    assert!(matches!(e, crate::error::Error::InvalidLine { line: 1, .. }));
    assert_eq!(e.exit_code(), crate::exit_codes::INVALID_INPUT);
}

#[test]
fn a_missing_history_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let e = analyze_file(&dir.path().join("history.jsonl")).unwrap_err();
    assert!(matches!(e, crate::error::Error::Invalid(_)));
    assert!(e.to_string().contains("give a directory written by `kafka-chaos run`"), "{e}");
}

#[test]
fn an_analysis_survives_a_round_trip_through_its_files() {
    let a = check(&[
        r#"{"type":"fault","time_ms":100.0,"action":"kill","target":"broker-2","phase":"start"}"#,
        r#"{"type":"send","time_ms":1500.0,"producer":0,"seq":0,"outcome":"acked","partition":2,"offset":9,"latency_ms":1.25}"#,
        r#"{"type":"send","time_ms":1600.0,"producer":0,"seq":1,"outcome":"unknown"}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":2,"offset":9}"#,
        r#"{"type":"log","producer":0,"seq":1,"partition":2,"offset":10}"#,
    ]);
    let dir = tempfile::tempdir().unwrap();
    write_analysis(dir.path(), &a).unwrap();
    assert_eq!(read_analysis(dir.path()).unwrap(), a);
    let csv = std::fs::read_to_string(dir.path().join(TIMELINE_FILE)).unwrap();
    assert_eq!(csv, "second,acked,processed,failed,unknown,lost_acked_here\n0,0,0,0,0,0\n1,1,0,0,1,1\n");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
}

/// The sends and txn event of one transaction of producer 0, seqs `first..first+n`, each
/// message's outcome the transaction's.
fn txn(first: u64, n: u64, outcome: &str, time_ms: f64) -> Vec<String> {
    let message = match outcome {
        "committed" => "acked",
        "aborted" => "failed",
        _ => "unknown",
    };
    let mut lines: Vec<String> = (first..first + n)
        .map(|seq| format!(r#"{{"type":"send","time_ms":{time_ms},"producer":0,"seq":{seq},"outcome":"{message}","partition":0}}"#))
        .collect();
    lines.push(format!(
        r#"{{"type":"txn","time_ms":{time_ms},"producer":0,"first_seq":{first},"last_seq":{},"outcome":"{outcome}"}}"#,
        first + n - 1
    ));
    lines
}

fn log(seqs: impl IntoIterator<Item = u64>) -> Vec<String> {
    seqs.into_iter()
        .map(|seq| format!(r#"{{"type":"log","producer":0,"seq":{seq},"partition":0,"offset":{seq}}}"#))
        .collect()
}

fn check_owned(lines: Vec<String>) -> Analysis {
    check(&lines.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn an_aborted_transactions_message_in_the_log_or_processed_is_an_aborted_read() {
    // Seqs 0-2 committed and in the log; 3-5 aborted: 3 in the log, 5 processed by a consumer.
    let mut lines = txn(0, 3, "committed", 1.0);
    lines.extend(txn(3, 3, "aborted", 2.0));
    lines.extend(log([0, 1, 2, 3]));
    lines.push(r#"{"type":"processed","time_ms":3.0,"consumer":0,"producer":0,"seq":5,"partition":0,"offset":5}"#.into());
    let a = check_owned(lines);
    assert_eq!((a.counts.aborted_read, a.counts.torn, a.counts.lost), (2, 0, 0));
    let t = a.transactions.expect("a transactional history");
    assert_eq!((t.summary.committed, t.summary.aborted, t.summary.aborted_read), (1, 1, 2));
    assert_eq!((t.samples.len(), t.samples[0].first_seq, t.samples[0].in_log, t.samples[0].processed), (1, 3, 1, 1));
}

#[test]
fn a_committed_transaction_partly_in_the_log_is_torn_and_its_missing_messages_lost() {
    let mut lines = txn(0, 4, "committed", 1.0);
    lines.extend(log([0, 2]));
    let a = check_owned(lines);
    assert_eq!((a.counts.torn, a.counts.lost, a.counts.aborted_read), (1, 2, 0));
}

#[test]
fn a_committed_transaction_missing_from_the_log_is_lost_committed_writes_not_torn() {
    let mut lines = txn(0, 3, "committed", 1.0);
    lines.extend(txn(3, 2, "committed", 2.0));
    lines.extend(log([0, 1, 2]));
    let a = check_owned(lines);
    assert_eq!((a.counts.lost, a.counts.torn), (2, 0));
}

#[test]
fn unknown_transactions_are_resolved_by_the_log_whole_none_or_torn() {
    let mut lines = txn(0, 3, "unknown", 1.0); // whole in the log: it committed
    lines.extend(txn(3, 3, "unknown", 2.0)); // none: it aborted
    lines.extend(txn(6, 3, "unknown", 3.0)); // one of three: torn
    lines.extend(log([0, 1, 2, 7]));
    let a = check_owned(lines);
    let s = a.transactions.expect("a transactional history").summary;
    assert_eq!((s.unknown, s.unknown_whole, s.unknown_none, s.torn), (3, 1, 1, 1));
    assert_eq!((a.counts.torn, a.counts.recovered, a.counts.lost, a.counts.aborted_read), (1, 4, 0, 0));
}

#[test]
fn a_history_without_transactions_has_no_transaction_summary() {
    let a = check(&[r#"{"type":"send","time_ms":1.0,"producer":0,"seq":0,"outcome":"acked"}"#]);
    assert!(a.transactions.is_none());
    assert_eq!((a.counts.aborted_read, a.counts.torn), (0, 0));
}
