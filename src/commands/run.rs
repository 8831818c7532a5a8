use crate::cli::RunArgs;
use crate::error::{Error, Result};

pub async fn run(_args: RunArgs) -> Result<i32> {
    Err(Error::Invalid("'run' is not implemented yet".into()))
}
