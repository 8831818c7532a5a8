//! `clean`: remove what killed runs left behind, found by label.

use crate::cli::CleanArgs;
use crate::cluster::docker;
use crate::error::Result;
use crate::exit_codes;

pub async fn run(args: CleanArgs) -> Result<i32> {
    let engine = docker::connect().await?;
    let removed = docker::remove_labelled(&engine, args.run.as_deref()).await?;
    println!(
        "removed {} container(s) and {} network(s) labelled {}{}",
        removed.containers.len(),
        removed.networks.len(),
        docker::RUN_LABEL,
        args.run.map(|r| format!("={r}")).unwrap_or_default()
    );
    Ok(exit_codes::OK)
}
