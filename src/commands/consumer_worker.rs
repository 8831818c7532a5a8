use crate::cli::ConsumerWorkerArgs;
use crate::error::{Error, Result};

pub async fn run(_args: ConsumerWorkerArgs) -> Result<i32> {
    Err(Error::Invalid("'consumer-worker' is not implemented yet".into()))
}
