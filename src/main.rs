//! Parse the command line, call into the library, map the outcome to an exit code.

use clap::Parser;
use kafka_chaos::cli::{Cli, ClusterCommand, Command};
use kafka_chaos::{commands, exit_codes};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAFKA_CHAOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,librdkafka=off,rdkafka=off,testcontainers=off")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit_codes::INFRASTRUCTURE);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Cluster(ClusterCommand::Up(args)) => commands::cluster::up(args).await,
            Command::Cluster(ClusterCommand::Smoke(args)) => commands::cluster::smoke(args).await,
            Command::Clean(args) => commands::clean::run(args).await,
            Command::Doctor(args) => commands::doctor::run(args).await,
            Command::Check(args) => commands::check::run(args),
            Command::Run(args) => commands::run::run(args).await,
            Command::Analyze(args) => commands::analyze::run(args),
            Command::Report(args) => commands::report::run(args),
            Command::Compare(args) => commands::compare::run(args),
            Command::Worker => commands::worker::run().await,
        }
    });
    // Containers are removed by the commands themselves; give the runtime a moment to finish
    // background removals instead of cutting them off.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    let code = match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
