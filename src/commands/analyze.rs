use crate::cli::AnalyzeArgs;
use crate::error::{Error, Result};

pub fn run(_args: AnalyzeArgs) -> Result<i32> {
    Err(Error::Invalid("'analyze' is not implemented yet".into()))
}
