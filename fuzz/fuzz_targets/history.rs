//! Any bytes as a history: check them, and for a readable one, judge the result with no rules
//! and summarise it as `analyze` does. Nothing may panic; every rejection names a line.
#![no_main]

use kafka_chaos::checker::analyze_bytes;
use kafka_chaos::error::Error;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    match analyze_bytes(Path::new("h.jsonl"), data) {
        Ok(analysis) => {
            let _ = kafka_chaos::judge::judge(&[], &analysis);
            let _ = kafka_chaos::commands::analyze::summary(Path::new("h.jsonl"), &analysis, Duration::ZERO);
            let _ = kafka_chaos::report::executed_schedule(&analysis);
        }
        Err(Error::InvalidLine { .. }) | Err(Error::Invalid(_)) => {}
        Err(other) => panic!("a history error that is not invalid input: {other}"),
    }
});
