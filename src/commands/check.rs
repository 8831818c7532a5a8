use crate::cli::CheckArgs;
use crate::error::{Error, Result};

pub fn run(_args: CheckArgs) -> Result<i32> {
    Err(Error::Invalid("'check' is not implemented yet".into()))
}
