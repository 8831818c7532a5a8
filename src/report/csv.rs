//! `summary.csv`: one row per cell, for spreadsheets and scripts. Columns: `id`, every matrix
//! key (sorted, as in the summary), `verdict`, `definite` (the share of messages with a definite
//! outcome, 0 to 1), then every count in `Count::ALL` order: `?` for a count no verdict may rest
//! on (the evidence behind it is missing); a cell without counts has empty count fields.

use super::explain::verdict_word;
use crate::error::{Error, Result};
use crate::scenario::Count;
use crate::summary::Summary;
use std::collections::BTreeSet;
use std::path::Path;

pub const SUMMARY_CSV_FILE: &str = "summary.csv";

/// Writes `DIR/summary.csv` (the run calls this after every cell, next to `summary.json`).
pub fn write_summary_csv(dir: &Path, summary: &Summary) -> Result<()> {
    crate::store::write_bytes(&dir.join(SUMMARY_CSV_FILE), &summary_csv(summary)?)
}

pub fn summary_csv(summary: &Summary) -> Result<Vec<u8>> {
    // Every cell of a plan has the same keys; the union keeps a hand-edited summary readable.
    let keys: BTreeSet<&String> = summary.cells.iter().flat_map(|c| c.config.keys()).collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec!["id"];
    header.extend(keys.iter().map(|k| k.as_str()));
    header.extend(["verdict", "definite"]);
    for name in Count::names() {
        header.push(name);
    }
    out.write_record(&header).map_err(csv_error)?;
    for cell in &summary.cells {
        let mut row = vec![cell.id.clone()];
        row.extend(keys.iter().map(|k| cell.config.get(*k).cloned().unwrap_or_default()));
        row.push(verdict_word(cell.verdict).to_string());
        row.push(cell.counts.map(|c| format!("{:.4}", c.definite_share())).unwrap_or_default());
        row.extend(Count::ALL.into_iter().map(|count| match &cell.counts {
            Some(c) if cell.judged(count) => c.get(count).to_string(),
            Some(_) => "?".to_string(),
            None => String::new(),
        }));
        out.write_record(&row).map_err(csv_error)?;
    }
    out.into_inner().map_err(|e| Error::Invalid(format!("cannot write summary.csv: {e}")))
}

fn csv_error(e: csv::Error) -> Error {
    Error::Invalid(format!("cannot write summary.csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn one_row_per_cell_with_config_verdict_and_every_count() {
        let summary = fixture::summary();
        let text = String::from_utf8(summary_csv(&summary).unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,acks,fault,verdict,definite,sent,acked,failed,unknown,in_log,lost,duplicated,reordered,unexpected,\
             recovered,unconsumed,redelivered,processed_twice,aborted_read,torn"
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), summary.cells.len());
        assert_eq!(rows[0], "acks-1_leader-kill,1,leader-kill,fail,1.0000,6,6,0,0,4,2,1,0,0,0,0,0,1,0,0");
        assert_eq!(rows[2], "acks-all_broker-stop,all,broker-stop,unknown,,,,,,,,,,,,,,,,");
    }

    #[test]
    fn unjudged_counts_are_question_marks() {
        let mut summary = fixture::summary();
        summary.cells[0].unjudged = vec![Count::Unconsumed, Count::Redelivered, Count::ProcessedTwice];
        let text = String::from_utf8(summary_csv(&summary).unwrap()).unwrap();
        assert_eq!(text.lines().nth(1).unwrap(), "acks-1_leader-kill,1,leader-kill,fail,1.0000,6,6,0,0,4,2,1,0,0,0,?,?,?,0,0");
    }
}
