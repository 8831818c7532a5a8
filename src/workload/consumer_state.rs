//! What the harness knows of one consumer worker from its lines: which partitions it holds, and
//! per partition what it processed, what it committed and what it is committing. Fault
//! conditions read it: "consumer 0 holds 300 records committed but not processed" (a crash now
//! loses them) and "consumer 0 processed 50 records not yet committed" (a crash now redelivers
//! them).
//!
//! The counts are exact only for the lines read so far; `ConsumerProcess::freeze` stops the
//! worker and reads every line it wrote, after which they are exact for the frozen worker.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    /// The first offset processed since the partition was assigned: where the group's committed
    /// offset stood when this worker took the partition over.
    first_processed: Option<i64>,
    /// One past the last offset processed.
    next_to_process: Option<i64>,
    /// The highest offset committed successfully (the next offset the group will read).
    committed: Option<i64>,
    /// The highest offset of a commit sent and not yet answered (or answered later).
    committing: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerState {
    /// The worker has been part of a group generation (an `assign`, even an empty one).
    pub joined: bool,
    pub assigned: BTreeSet<i32>,
    progress: BTreeMap<i32, Progress>,
    /// One past the highest offset processed per partition, whoever held it: kept across
    /// revokes, for "processing reached the end of the log".
    processed_to: BTreeMap<i32, i64>,
}

impl ConsumerState {
    /// A new assignment: the partitions it lists, each with a fresh baseline (eager rebalancing
    /// revokes everything first; an incremental one lists only what is added).
    pub fn assign(&mut self, partitions: &[i32]) {
        self.joined = true;
        for &p in partitions {
            self.assigned.insert(p);
            self.progress.insert(p, Progress::default());
        }
    }

    pub fn revoke(&mut self, partitions: &[i32]) {
        for p in partitions {
            self.assigned.remove(p);
            self.progress.remove(p);
        }
    }

    pub fn processed(&mut self, partition: i32, offset: i64) {
        let to = self.processed_to.entry(partition).or_insert(offset + 1);
        *to = (*to).max(offset + 1);
        let p = self.progress.entry(partition).or_default();
        p.first_processed.get_or_insert(offset);
        p.next_to_process = Some(p.next_to_process.map_or(offset + 1, |n| n.max(offset + 1)));
    }

    /// One past the highest offset of `partition` this worker processed, if any.
    pub fn processed_to(&self, partition: i32) -> Option<i64> {
        self.processed_to.get(&partition).copied()
    }

    pub fn committing(&mut self, partition: i32, offset: i64) {
        let p = self.progress.entry(partition).or_default();
        p.committing = Some(p.committing.map_or(offset, |c| c.max(offset)));
    }

    pub fn committed(&mut self, partition: i32, offset: i64) {
        let p = self.progress.entry(partition).or_default();
        p.committed = Some(p.committed.map_or(offset, |c| c.max(offset)));
    }

    /// Records of held partitions whose offsets are committed but that were not processed.
    /// Only partitions with something processed count: before that, where the worker starts
    /// is not known from its lines.
    pub fn committed_not_processed(&self) -> u64 {
        self.held()
            .filter_map(|p| match (p.committed, p.next_to_process) {
                (Some(committed), Some(next)) => Some((committed - next).max(0) as u64),
                _ => None,
            })
            .sum()
    }

    /// Records of held partitions processed but neither committed nor being committed.
    pub fn processed_not_committed(&self) -> u64 {
        self.held()
            .filter_map(|p| {
                let next = p.next_to_process?;
                let covered = [p.first_processed, p.committed, p.committing].into_iter().flatten().max()?;
                Some((next - covered).max(0) as u64)
            })
            .sum()
    }

    /// This state with the group's committed offsets as the broker holds them (for a client
    /// whose automatic commits write no lines: sarama). Read while the worker is frozen, they
    /// are its exact commits.
    pub fn with_group_offsets(&self, committed: &BTreeMap<i32, i64>) -> ConsumerState {
        let mut merged = self.clone();
        for (&partition, &offset) in committed {
            if merged.assigned.contains(&partition) {
                merged.committed(partition, offset);
            }
        }
        merged
    }

    fn held(&self) -> impl Iterator<Item = &Progress> {
        self.assigned.iter().filter_map(|p| self.progress.get(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_ahead_of_processing_is_a_crash_that_loses() {
        let mut s = ConsumerState::default();
        s.assign(&[0, 1]);
        assert!(s.joined);
        for offset in 100..110 {
            s.processed(0, offset);
        }
        s.committed(0, 400); // auto-commit of records fetched into the buffer
        assert_eq!(s.committed_not_processed(), 290);
        assert_eq!(s.processed_not_committed(), 0);
        s.committed(1, 50); // nothing processed there yet: not counted
        assert_eq!(s.committed_not_processed(), 290);
    }

    #[test]
    fn processing_ahead_of_commits_is_a_crash_that_redelivers() {
        let mut s = ConsumerState::default();
        s.assign(&[2]);
        for offset in 1000..1060 {
            s.processed(2, offset);
        }
        assert_eq!(s.processed_not_committed(), 60, "from where the worker took the partition over");
        s.committed(2, 1020);
        assert_eq!(s.processed_not_committed(), 40);
        s.committing(2, 1050);
        assert_eq!(s.processed_not_committed(), 10, "a commit on its way may land after a crash");
        s.revoke(&[2]);
        assert_eq!(s.processed_not_committed(), 0, "only partitions it holds");
        s.assign(&[2]);
        s.processed(2, 1500);
        assert_eq!(s.processed_not_committed(), 1, "a new assignment starts a new baseline");
    }

    #[test]
    fn group_offsets_from_the_broker_count_as_commits_of_held_partitions() {
        let mut s = ConsumerState::default();
        s.assign(&[0]);
        for offset in 0..100 {
            s.processed(0, offset);
        }
        assert_eq!(s.processed_not_committed(), 100, "no commit line: sarama's auto-commit writes none");
        let merged = s.with_group_offsets(&BTreeMap::from([(0, 60), (1, 500)]));
        assert_eq!(merged.processed_not_committed(), 40);
        assert_eq!(merged.committed_not_processed(), 0, "partition 1 is not held");
        let ahead = s.with_group_offsets(&BTreeMap::from([(0, 300)]));
        assert_eq!(ahead.committed_not_processed(), 200);
    }

    #[test]
    fn an_empty_assignment_joins() {
        let mut s = ConsumerState::default();
        s.assign(&[]);
        assert!(s.joined && s.assigned.is_empty());
    }
}
