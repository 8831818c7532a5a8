//! A symmetric-log axis for counts that differ by orders of magnitude (2 lost next to 40,000
//! redelivered): values are drawn at log10(1 + v), so 0 has a place and 1, 10, 100 are evenly
//! spaced. Ticks sit on the powers of ten and are labelled with the untransformed value.

/// Where `value` sits on the axis.
pub fn at(value: f64) -> f64 {
    (1.0 + value.max(0.0)).log10()
}

/// The axis end: past the largest value, with room for the number printed after a bar, and at
/// least up to 10 so that an all-zero chart still has an axis.
pub fn top(max: f64) -> f64 {
    (at(max) * 1.18).max(at(10.0) * 1.18)
}

/// Ticks at 0, 1, 10, 100, … up to `top`.
pub fn ticks(top: f64) -> Vec<f64> {
    let mut ticks = vec![0.0];
    let mut power = 1.0;
    while at(power) <= top {
        ticks.push(at(power));
        power *= 10.0;
    }
    ticks
}

/// Light grid lines at 2 and 5 times each power of ten.
pub fn minor_ticks(top: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut power = 1.0;
    while at(power) <= top {
        ticks.extend([2.0 * power, 5.0 * power].into_iter().map(at).filter(|&t| t <= top));
        power *= 10.0;
    }
    ticks
}

/// The value a tick stands for, rounded back to its power of ten (or 0).
pub fn value(axis: f64) -> f64 {
    let v = 10f64.powf(axis) - 1.0;
    if v < 0.5 {
        0.0
    } else {
        10f64.powf(v.log10().round())
    }
}

/// `0`, `1`, `10`, `100`, `1k`, `10k`, `1M`.
pub fn count_label(axis: f64) -> String {
    match value(axis) {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

/// `0`, `1 ms`, `10 ms`, `100 ms`, `1 s`, `10 s`.
pub fn millis_label(axis: f64) -> String {
    match value(axis) {
        0.0 => "0".into(),
        v if v >= 1000.0 => format!("{} s", v / 1000.0),
        v => format!("{v} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_ten_are_evenly_spaced_and_labelled_back() {
        let top = top(40_000.0);
        let ticks = ticks(top);
        let labels: Vec<String> = ticks.iter().map(|&t| count_label(t)).collect();
        assert_eq!(labels, ["0", "1", "10", "100", "1k", "10k", "100k"]);
        assert!(at(40_000.0) < top);
        assert_eq!(millis_label(at(1000.0)), "1 s");
        assert_eq!(millis_label(at(10.0)), "10 ms");
        assert_eq!(at(0.0), 0.0);
    }
}
