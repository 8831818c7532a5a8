//! Availability: how long the cluster accepted no write. Per cell, the longest time a partition
//! went without an acknowledged write while the producers were sending (from the run's first ack
//! to its last), and for each fault the longest such silence that began while the fault was in
//! force. This is where Kafka versions differ when nothing is lost: one waits for
//! the old leader, another elects a new one.

use super::analysis::{Availability, FaultRecovery, FaultWindow};
use super::latency::round_micro;

/// `acks`: each partition's ack times (ms), sorted.
pub(crate) fn measure(acks: &[(i32, Vec<f32>)], faults: &[FaultWindow]) -> Option<Availability> {
    let first = acks.iter().filter_map(|(_, t)| t.first()).copied().reduce(f32::min)?;
    let last = acks.iter().filter_map(|(_, t)| t.last()).copied().reduce(f32::max)?;
    let longest = silences(acks, first, last).max_by(|a, b| a.2.total_cmp(&b.2));
    let recovery = faults
        .iter()
        .map(|f| {
            // Writes in flight when the fault began may still be acked after it: what the fault
            // cost is the silence that follows, not the time to the first ack.
            let from = f.start_ms.unwrap_or(f64::INFINITY) as f32;
            let until = f.end_ms.unwrap_or(f64::INFINITY) as f32;
            let silence = silences(acks, first, last)
                .filter(|(_, began, length)| *began >= from && *began <= until && *length > 0.0)
                .max_by(|a, b| a.2.total_cmp(&b.2));
            FaultRecovery {
                action: f.action.clone(),
                target: f.target.clone(),
                step: f.step,
                start_ms: f.start_ms,
                longest_silence_ms: silence.map_or(0.0, |s| round_micro(s.2 as f64)),
                silent_partition: silence.map(|s| s.0),
            }
        })
        .collect();
    Some(Availability {
        longest_gap_ms: longest.map_or(0.0, |s| round_micro(s.2 as f64)),
        gap_partition: longest.map(|s| s.0),
        gap_from_ms: longest.map_or(0.0, |s| round_micro(s.1 as f64)),
        recovery,
    })
}

/// Every partition's silences between the run's first ack and its last: (partition, when it
/// began, how long). The edges count: a partition quiet until the end was unavailable to the end.
fn silences(acks: &[(i32, Vec<f32>)], first: f32, last: f32) -> impl Iterator<Item = (i32, f32, f32)> + '_ {
    acks.iter().flat_map(move |(partition, times)| {
        let began = std::iter::once(first).chain(times.iter().copied());
        let ended = times.iter().copied().chain(std::iter::once(last));
        began.zip(ended).map(move |(a, b)| (*partition, a, b - a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: f64, end: f64) -> FaultWindow {
        FaultWindow { action: crate::model::FaultActionKind::Kill, target: "broker-1".into(), spec: None, step: Some(0), start_ms: Some(start), end_ms: Some(end) }
    }

    #[test]
    fn the_longest_silence_and_the_time_to_recover_from_each_fault() {
        let acks = vec![(0, vec![0.0, 100.0, 200.0, 5200.0, 5300.0]), (1, vec![50.0, 150.0, 250.0, 300.0, 5400.0])];
        let a = measure(&acks, &[window(190.0, 4000.0), window(5350.0, 5380.0)]).unwrap();
        assert_eq!((a.longest_gap_ms, a.gap_partition, a.gap_from_ms), (5100.0, Some(1), 300.0));
        // The first fault began at 190 ms; acks at 200 and 300 ms were still in flight. Then
        // partition 1 was silent for 5100 ms from 300 ms.
        assert_eq!((a.recovery[0].longest_silence_ms, a.recovery[0].silent_partition), (5100.0, Some(1)));
        // No silence began within the second (5350 to 5380 ms).
        assert_eq!((a.recovery[1].longest_silence_ms, a.recovery[1].silent_partition), (0.0, None));
    }

    #[test]
    fn a_partition_quiet_to_the_end_counts_to_the_end() {
        let acks = vec![(0, vec![0.0, 10.0, 20.0]), (1, vec![5.0, 1000.0, 2000.0, 3000.0])];
        // Partition 0 from its last ack at 20 ms to the run's last at 3000 ms.
        let a = measure(&acks, &[]).unwrap();
        assert_eq!((a.longest_gap_ms, a.gap_partition), (2980.0, Some(0)));
        assert!(measure(&[], &[]).is_none());
    }
}
