//! The final read: did it reach the end of every partition.

use super::*;

pub(super) fn read(cell: Option<&CellEvent>, reads: BTreeMap<i32, ReadEvent>) -> ReadEvidence {
    let partitions: Vec<ReadEvent> = reads.into_values().collect();
    if partitions.is_empty() {
        return ReadEvidence {
            partitions,
            complete: false,
            problem: Some("the history has no record of the final read of the log".into()),
        };
    }
    let mut unfinished: Vec<String> = partitions
        .iter()
        .filter(|r| r.reached < r.high)
        .map(|r| format!("partition {} at {} of {}", r.partition, r.reached, r.high))
        .collect();
    if let Some(cell) = cell {
        for p in 0..cell.partitions as i32 {
            if !partitions.iter().any(|r| r.partition == p) {
                unfinished.push(format!("partition {p} not read"));
            }
        }
    }
    // The harness's topic is fresh: a log that no longer starts at 0 lost records to retention,
    // DeleteRecords or compaction, and the read cannot vouch for them.
    let mut truncated: Vec<String> = partitions
        .iter()
        .filter(|r| r.low > 0)
        .map(|r| format!("partition {} starts at offset {}", r.partition, r.low))
        .collect();
    truncated.extend(
        partitions
            .iter()
            .filter(|r| r.rewound > 0)
            .map(|r| format!("partition {}: {} records came again below offsets already read", r.partition, r.rewound)),
    );
    let complete = unfinished.is_empty() && truncated.is_empty();
    let problem = match (unfinished.is_empty(), truncated.is_empty()) {
        (true, true) => None,
        (false, _) => Some(format!(
            "the final read did not reach the end of the log ({}): acked records it missed would count as lost",
            unfinished.join(", ")
        )),
        (true, false) => Some(format!(
            "the log changed under the final read ({}: retention, DeleteRecords, compaction, an offset reset or a truncation): acked records it missed would count as lost",
            truncated.join(", ")
        )),
    };
    ReadEvidence { partitions, complete, problem }
}
