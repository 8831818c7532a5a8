//! Any text as a scenario file: parse and check it, and for a valid one, plan it and print the
//! plan as `check` does. Nothing may panic; every rejection is an `Error::Invalid` with a
//! position.
#![no_main]

use kafka_chaos::commands::check;
use kafka_chaos::error::Error;
use kafka_chaos::plan::Plan;
use kafka_chaos::scenario::Scenario;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scenario::parse(Path::new("f.toml"), text) {
        Ok(scenario) => {
            let plan = Plan::new(&scenario, 1);
            let _ = check::render(&scenario, &plan);
            let _ = plan.estimate();
        }
        Err(Error::Invalid(message)) => assert!(message.starts_with("f.toml:"), "{message}"),
        Err(other) => panic!("a scenario error that is not invalid input: {other}"),
    }
});
