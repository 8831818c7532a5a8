//! Acknowledgement latency percentiles, exact (nearest rank) over every acked send that says.

use super::analysis::Latency;

/// Reorders `latencies_ms`. None when there are none.
pub(crate) fn percentiles(latencies_ms: &mut [f32]) -> Option<Latency> {
    let n = latencies_ms.len();
    if n == 0 {
        return None;
    }
    // Nearest rank: the smallest value with at least p of the values at or below it. Selecting
    // each rank in the part above the previous one is linear, where sorting 10 million is not.
    let ranks = [0.50, 0.90, 0.99, 0.999].map(|p: f64| ((p * n as f64).ceil() as usize).clamp(1, n) - 1);
    let mut values = [0.0; 4];
    let mut from = 0;
    for (value, &rank) in values.iter_mut().zip(&ranks) {
        let (_, nth, _) = latencies_ms[from..].select_nth_unstable_by(rank - from, f32::total_cmp);
        *value = round_micro(*nth as f64);
        from = rank;
    }
    let max = latencies_ms[from..].iter().copied().fold(f32::MIN, f32::max);
    Some(Latency {
        count: n as u64,
        p50: values[0],
        p90: values[1],
        p99: values[2],
        p999: values[3],
        max: round_micro(max as f64),
    })
}

/// Latencies are kept as f32; round back to the microsecond so 12.3 does not come out as
/// 12.300000190734863.
pub(crate) fn round_micro(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}
