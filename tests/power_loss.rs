//! Power loss on a real cluster: a broker whose log directory sits on kafka-chaos-lazyfs loses
//! its unsynced bytes to `power-loss` (the history says how many), and none to the control,
//! which kills it the same way. Each cell runs on a cluster of its own; nothing is left behind.

mod common;

use common::{labelled_containers, labelled_networks, require_docker, BIN};
use kafka_chaos::checker::HISTORY_FILE;
use kafka_chaos::summary::{Summary, Verdict};
use std::process::Command;

#[test]
fn a_power_cut_discards_unsynced_bytes_and_the_control_keeps_them() {
    require_docker();
    assert!(std::path::Path::new("/dev/fuse").exists(), "this test needs /dev/fuse (the kernel's FUSE): modprobe fuse");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = Command::new(BIN).args(["run", "tests/power/cut.toml", "--out"]).arg(&out).output().expect("binary runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    println!("{text}");
    let summary = Summary::load(&out).unwrap_or_else(|e| panic!("no summary ({e}):\n{text}"));
    assert_eq!(run.status.code(), Some(0), "{text}");
    let mut discarded = Vec::new();
    for cell in &summary.cells {
        let counts = cell.counts.expect("counts");
        assert_eq!(cell.verdict, Verdict::Pass, "{}: {counts:?}", cell.id);
        assert!(counts.acked > 3000, "{}: too little traffic to judge: {counts:?}", cell.id);
        let history = std::fs::read_to_string(out.join("cells").join(&cell.id).join(HISTORY_FILE)).unwrap();
        let faults: Vec<serde_json::Value> = history
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["type"] == "fault" && e["phase"] == "start")
            .collect();
        assert_eq!(faults.len(), 1, "{}: one broker faulted once: {faults:?}", cell.id);
        let detail = faults[0]["detail"].as_str().unwrap_or_default().to_string();
        discarded.push((cell.config["fault"].clone(), (faults[0]["discarded_bytes"].as_u64(), detail)));
    }
    let fault = |fault: &str| discarded.iter().find(|(f, _)| f == fault).map(|(_, d)| d.clone()).expect(fault);
    let (cut, detail) = fault("cut");
    let cut = cut.unwrap_or_else(|| panic!("the cut's history event has no discarded_bytes: {detail}"));
    assert!(cut > 0, "the cut discarded nothing: {detail}");
    let (control, detail) = fault("control");
    assert!(detail.contains("0 bytes discarded"), "{detail}");
    assert_eq!(control, None, "the control discarded nothing: {detail}");
    println!("the cut discarded {cut} bytes; the control: {detail}");
    assert_eq!((labelled_containers(None), labelled_networks(None)), (0, 0), "the run left containers or networks");
}
