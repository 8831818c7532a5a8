//! The command line: clap types only. Each subcommand is implemented in `src/commands/<name>.rs`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-chaos",
    version,
    about = "Under which settings, and under which failures, does Kafka lose or duplicate messages?",
    long_about = "Starts a real multi-broker Kafka cluster in Docker containers, drives sequenced producers \
and consumers under each acks and commit setting, kills leaders, brokers or consumers mid-run, and \
writes loss and duplicate reports with charts.\n\n\
Exit codes: 0 every check held; 1 a check was violated (expectation, smoke step, regression); \
2 invalid input or usage; 3 no verdict (infrastructure failed, or a cell's evidence is missing: a fault \
step that did not fire, a final read that did not reach the end of the log); 130 interrupted. 1 wins \
over 3."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, exercise or inspect a Kafka cluster in containers.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Remove every container and network labelled kafka-chaos.run (left behind by a killed run).
    Clean(CleanArgs),
    /// Check the Docker engine and the Kafka image, and say what to do about each problem.
    Doctor(DoctorArgs),
    /// Validate a scenario file and print its plan (cells, fault schedule), without Docker.
    Check(CheckArgs),
    /// Run every cell of a scenario against a real cluster and write a result directory.
    Run(RunArgs),
    /// Judge a stored run again (a result directory), or check one cell's history; no cluster.
    Analyze(AnalyzeArgs),
    /// Render the reports of a result directory again from its stored histories and analyses.
    Report(ReportArgs),
    /// Compare two result directories; exit 1 if any cell got worse, 3 if NEW is incomplete (for nightly jobs).
    Compare(CompareArgs),
    /// Internal: the rdkafka worker process (docs/worker-protocol.md), started by the runner; reads
    /// its config from the first line of stdin.
    #[command(hide = true)]
    Worker,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start a cluster, print its bootstrap servers, hold until Ctrl-C, then remove everything.
    Up(ClusterUpArgs),
    /// Start 3 brokers and verify every fault operation on them, one line per step with its timing.
    Smoke(ImageArgs),
}

/// Which Kafka image to use.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// Kafka version of the brokers.
    #[arg(long, default_value = crate::cluster::DEFAULT_KAFKA_VERSION)]
    pub kafka_version: String,
    /// Broker image to use instead of resolving one (default: apache/kafka:<version> if present,
    /// else kafka-chaos/kafka:<version>, else a pull of apache/kafka:<version>).
    #[arg(long, env = "KAFKA_CHAOS_IMAGE")]
    pub image: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClusterUpArgs {
    /// Number of brokers (each also a KRaft controller unless --controllers is given).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub brokers: u16,
    /// Dedicated KRaft controllers (0: every broker is also a controller).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=5))]
    pub controllers: u16,
    /// A broker setting, repeatable: --broker-config min.insync.replicas=2
    #[arg(long = "broker-config", value_name = "KEY=VALUE")]
    pub broker_config: Vec<String>,
    /// Once the cluster is up, write it as an external cluster's [cluster] table to FILE, with
    /// docker commands as its fault hooks: paste it into a scenario to run that scenario against
    /// this cluster the way it would run against your own.
    #[arg(long, value_name = "FILE")]
    pub print_external: Option<PathBuf>,
    /// Make the client listener ask for SASL PLAIN, with this one user and the password in
    /// $KAFKA_CHAOS_PASSWORD: a cluster to try the clients' authentication settings on.
    #[arg(long, value_name = "USER")]
    pub sasl_plain: Option<String>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Check the image of every Kafka version this scenario names (its `[cluster]` and its
    /// `kafka_version` axis) instead of --kafka-version's alone.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Only the containers and networks of this run id.
    #[arg(long)]
    pub run: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Result directory (default: reports/<scenario>-<timestamp>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only the cells whose id contains this text, or that match key=value[,key=value].
    #[arg(long)]
    pub only: Option<String>,
    /// Run every cell this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Broker image (see `kafka-chaos doctor`).
    #[arg(long, env = "KAFKA_CHAOS_IMAGE")]
    pub image: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A result directory of `run` (it holds plan.json): every cell's history is checked and judged
    /// again by the plan's rules, and summary.json and every report rewritten; the exit code is
    /// `run`'s. Or a cell directory (it holds history.jsonl): its analysis.json and timeline.csv are
    /// written and its counts and evidence printed.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A result directory written by `kafka-chaos run`.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    pub base: PathBuf,
    pub new: PathBuf,
}
