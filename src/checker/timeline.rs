//! Per-second counts over the run: acked, processed, failed, unknown (and lost, filled in once
//! the lost messages are known).

use super::analysis::Timeline;

/// Ten days: a time beyond this is a broken clock, not a run; counting it would make the
/// series (and analysis.json) huge.
const MAX_SECONDS: usize = 864_000;

#[derive(Debug, Clone, Copy, Default)]
struct Second {
    acked: u32,
    processed: u32,
    failed: u32,
    unknown: u32,
}

#[derive(Debug, Default)]
pub(crate) struct TimelineCounter {
    seconds: Vec<Second>,
    /// Events with a time beyond `MAX_SECONDS`, left out of the series.
    pub beyond: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Series {
    Acked,
    Processed,
    Failed,
    Unknown,
}

/// The second a time falls in; negative times count in second 0.
pub(crate) fn second_of(time_ms: f64) -> usize {
    if time_ms > 0.0 {
        (time_ms / 1000.0) as usize
    } else {
        0
    }
}

impl TimelineCounter {
    #[inline]
    pub fn add(&mut self, series: Series, time_ms: f64) {
        let second = second_of(time_ms);
        if second >= MAX_SECONDS {
            self.beyond += 1;
            return;
        }
        if second >= self.seconds.len() {
            self.seconds.resize(second + 1, Second::default());
        }
        let s = &mut self.seconds[second];
        match series {
            Series::Acked => s.acked += 1,
            Series::Processed => s.processed += 1,
            Series::Failed => s.failed += 1,
            Series::Unknown => s.unknown += 1,
        }
    }

    /// Adds the counts of a later chunk.
    pub fn merge(&mut self, later: TimelineCounter) {
        if later.seconds.len() > self.seconds.len() {
            self.seconds.resize(later.seconds.len(), Second::default());
        }
        for (ours, theirs) in self.seconds.iter_mut().zip(&later.seconds) {
            ours.acked += theirs.acked;
            ours.processed += theirs.processed;
            ours.failed += theirs.failed;
            ours.unknown += theirs.unknown;
        }
        self.beyond += later.beyond;
    }

    /// The series, long enough to hold every second with an event or a lost message.
    pub fn finish(self, lost_per_second: &[(u64, u64)]) -> Timeline {
        let last_lost = lost_per_second.iter().map(|&(s, _)| s as usize + 1).filter(|&n| n <= MAX_SECONDS).max();
        let len = self.seconds.len().max(last_lost.unwrap_or(0));
        let column = |f: fn(&Second) -> u32| {
            let mut v: Vec<u64> = self.seconds.iter().map(|s| f(s) as u64).collect();
            v.resize(len, 0);
            v
        };
        let mut lost = vec![0u64; len];
        for &(second, count) in lost_per_second {
            if let Some(slot) = lost.get_mut(second as usize) {
                *slot = count;
            }
        }
        Timeline {
            acked: column(|s| s.acked),
            processed: column(|s| s.processed),
            failed: column(|s| s.failed),
            unknown: column(|s| s.unknown),
            lost,
        }
    }
}
