//! Availability: how long the cluster accepted no write. Per cell, the longest time a partition
//! went without an acknowledged write while the producers were sending (from the run's first ack
//! to its last), and for each fault the time from when it took effect until every partition had
//! acked a write again. This is where Kafka versions differ when nothing is lost: one waits for
//! the old leader, another elects a new one.

use super::analysis::{Availability, FaultRecovery, FaultWindow};
use super::latency::round_micro;

/// `acks`: each partition's ack times (ms), sorted.
pub(crate) fn measure(acks: &[(i32, Vec<f32>)], faults: &[FaultWindow]) -> Option<Availability> {
    let first = acks.iter().filter_map(|(_, t)| t.first()).copied().reduce(f32::min)?;
    let last = acks.iter().filter_map(|(_, t)| t.last()).copied().reduce(f32::max)?;
    let mut longest = (0.0f32, None, first);
    for (partition, times) in acks {
        // The edges count: a partition that went quiet until the end was unavailable to the end.
        let edges = std::iter::once(first).chain(times.iter().copied()).chain(std::iter::once(last));
        let mut previous = first;
        for t in edges {
            if t - previous > longest.0 {
                longest = (t - previous, Some(*partition), previous);
            }
            previous = t;
        }
    }
    let recovery = faults
        .iter()
        .map(|f| {
            let to_every_partition_ms = f.start_ms.and_then(|start| {
                let start = start as f32;
                let waits: Option<Vec<f32>> = acks
                    .iter()
                    .map(|(_, times)| times.get(times.partition_point(|t| *t < start)).map(|t| t - start))
                    .collect();
                waits.and_then(|w| w.into_iter().reduce(f32::max)).map(|ms| round_micro(ms as f64))
            });
            FaultRecovery {
                action: f.action.clone(),
                target: f.target.clone(),
                step: f.step,
                start_ms: f.start_ms,
                to_every_partition_ms,
            }
        })
        .collect();
    Some(Availability {
        longest_gap_ms: round_micro(longest.0 as f64),
        gap_partition: longest.1,
        gap_from_ms: round_micro(longest.2 as f64),
        recovery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: f64) -> FaultWindow {
        FaultWindow { action: "kill".into(), target: "broker-1".into(), spec: None, step: Some(0), start_ms: Some(start), end_ms: None }
    }

    #[test]
    fn the_longest_silence_and_the_time_to_recover_from_each_fault() {
        let acks = vec![(0, vec![0.0, 100.0, 200.0, 5200.0, 5300.0]), (1, vec![50.0, 150.0, 250.0, 300.0, 5400.0])];
        let a = measure(&acks, &[window(210.0), window(6000.0)]).unwrap();
        assert_eq!((a.longest_gap_ms, a.gap_partition, a.gap_from_ms), (5100.0, Some(1), 300.0));
        // After the first fault, partition 0 waited 4990 ms and partition 1 90 ms.
        assert_eq!(a.recovery[0].to_every_partition_ms, Some(4990.0));
        // No ack came after the second: it never recovered within the run.
        assert_eq!(a.recovery[1].to_every_partition_ms, None);
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
