use crate::cli::CompareArgs;
use crate::error::{Error, Result};

pub fn run(_args: CompareArgs) -> Result<i32> {
    Err(Error::Invalid("'compare' is not implemented yet".into()))
}
