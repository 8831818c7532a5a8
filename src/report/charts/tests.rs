use super::*;
use crate::report::fixture;
use crate::report::palette::Outcome;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn rendered(dir: &Path) -> Vec<Chart> {
    let summary = fixture::summary();
    render_all(dir, &summary, &fixture::analyses())
}

#[test]
fn every_chart_writes_a_png_and_an_svg_with_its_title() {
    let dir = tempfile::tempdir().unwrap();
    let charts = rendered(dir.path());
    let stems: Vec<&str> = charts.iter().map(|c| c.stem.as_str()).collect();
    assert_eq!(
        stems,
        ["outcomes", "heatmap", "latency", "timeline-acks-1_leader-kill", "timeline-acks-all_leader-kill"],
        "no timeline for the cell without an analysis"
    );
    for chart in &charts {
        let ChartState::Rendered { svg } = &chart.state else { panic!("{} failed: {:?}", chart.stem, chart.state) };
        let title = chart.title.replace('&', "&amp;");
        assert!(svg.contains(&title), "{} lacks its title {title:?}", chart.stem);
        let on_disk = std::fs::read_to_string(dir.path().join(chart.svg_path())).unwrap();
        assert_eq!(&on_disk, svg);
        let png = std::fs::read(dir.path().join(chart.png_path())).unwrap();
        assert!(png.len() > 5_000 && png.starts_with(PNG_MAGIC), "{}: {} bytes", chart.stem, png.len());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(CHARTS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn charts_show_the_numbers_legends_and_fault_labels() {
    let dir = tempfile::tempdir().unwrap();
    let charts = rendered(dir.path());
    let svg = |stem: &str| match &charts.iter().find(|c| c.stem == stem).unwrap().state {
        ChartState::Rendered { svg } => svg.clone(),
        ChartState::Failed(e) => panic!("{stem}: {e}"),
    };
    let outcomes = svg("outcomes");
    for text in ["lost", "duplicated", "reordered", "unconsumed", "redelivered", "acks-1_leader-kill", "no counts"] {
        assert!(outcomes.contains(text), "outcomes lacks {text}");
    }
    let lost = Outcome::Lost.hex().to_uppercase();
    assert!(outcomes.to_uppercase().contains(&lost), "lost bars in the lost colour");
    let timeline = svg("timeline-acks-1_leader-kill");
    assert!(timeline.contains("kill leader:0 (broker-2)"), "the fault window is labelled");
    assert!(timeline.contains("seconds since the start of the run") && timeline.contains("messages per second"));
    let heatmap = svg("heatmap");
    assert!(heatmap.contains("leader-kill") && heatmap.contains("broker-stop") && heatmap.contains("acks=1"));
    assert!(heatmap.contains(">\n?\n</text>"), "the cell that did not run is marked");
    let latency = svg("latency");
    assert!(latency.contains("p99") && latency.contains("900 ms"), "max latency of the lossy cell is printed");
}

#[test]
fn a_chart_that_cannot_be_written_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the charts directory should be.
    std::fs::write(dir.path().join(CHARTS_DIR), "").unwrap();
    let charts = rendered(dir.path());
    assert!(!charts.is_empty());
    for chart in charts {
        assert!(matches!(&chart.state, ChartState::Failed(e) if e.starts_with("cannot create")), "{:?}", chart.state);
    }
}

#[test]
fn long_labels_keep_both_ends() {
    assert_eq!(shorten("abcdefghij", 20), "abcdefghij");
    assert_eq!(shorten("abcdefghij", 7), "abc…hij");
}

#[test]
fn a_run_with_no_cell_yet_still_gets_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let mut summary = fixture::summary();
    summary.cells.clear();
    let charts = render_all(dir.path(), &summary, &BTreeMap::new());
    assert_eq!(charts.len(), 3);
    for chart in charts {
        assert!(matches!(chart.state, ChartState::Rendered { .. }), "{}: {:?}", chart.stem, chart.state);
    }
}
