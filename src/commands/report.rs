use crate::cli::ReportArgs;
use crate::error::{Error, Result};

pub fn run(_args: ReportArgs) -> Result<i32> {
    Err(Error::Invalid("'report' is not implemented yet".into()))
}
