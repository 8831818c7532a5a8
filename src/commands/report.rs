//! `kafka-chaos report DIR`: renders every report of a result directory again from its stored
//! summary and analyses (after a renderer changed, or when the run could not finish them). No
//! cluster, no history reading.

use crate::cli::ReportArgs;
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::report::render_all;
use crate::summary::Summary;

pub fn run(args: ReportArgs) -> Result<i32> {
    let dir = &args.dir;
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "no directory {}: give a result directory written by `kafka-chaos run`, e.g. reports/latest",
            dir.display()
        )));
    }
    let summary = Summary::load(dir)?;
    let rendered = render_all(dir, &summary)?;
    for file in &rendered.files {
        println!("wrote {}", file.display());
    }
    for problem in &rendered.problems {
        eprintln!("warning: {problem}");
    }
    Ok(exit_codes::OK)
}
