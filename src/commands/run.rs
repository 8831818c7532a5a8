//! `run SCENARIO`: every cell on a real cluster, into a result directory. The cluster is reused
//! across cells (a fresh topic and group per cell) and restarted only when the next cell needs
//! other broker settings or a cell left it unhealthy. The summary is saved after every cell, so
//! an interrupted run leaves a readable partial result (`"complete": false`).
//!
//! Verdicts come from `judge`, the same as `analyze RESULT_DIR` uses on the stored histories.

use crate::cli::RunArgs;
use crate::cluster::{with_cluster, with_external, Cluster, ClusterSpec};
use crate::commands::check;
use crate::error::{Error, Result};
use crate::exit_codes;
use crate::judge;
use crate::plan::{Cell, Plan};
use crate::runner::{run_cell, CellContext};
use crate::store::{self, PLAN_FILE, SCENARIO_COPY};
use crate::summary::{CellSummary, Summary, CELLS_DIR};
use crate::workload::WorkerLauncher;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub async fn run(args: RunArgs) -> Result<i32> {
    // Every invalid scenario is rejected here, before anything starts.
    let (scenario, plan) = check::load(&args.scenario, args.seed)?;
    let plan = if args.repeat > 1 { Plan::new(&scenario, args.repeat) } else { plan };
    let plan = Arc::new(match &args.only {
        Some(only) => plan.filter(only)?,
        None => plan,
    });
    // Every client's worker must be here before a cluster starts or a directory is written.
    let launcher = WorkerLauncher::current_exe()?.launched_through(plan.workload.launch.clone());
    let clients: std::collections::BTreeSet<_> = plan.cells.iter().map(|c| c.client).collect();
    for client in clients {
        launcher.command(client)?;
    }
    // A power cut needs the filesystem that forgets, and FUSE to mount it.
    let lazyfs = match plan.cluster.external.is_none() && plan.cells.iter().any(Cell::needs_forgetful_disk) {
        true => {
            crate::cluster::power::fuse_device().map_err(Error::infra)?;
            Some(crate::cluster::power::lazyfs_binary(&launcher.workers_dir)?)
        }
        false => None,
    };
    // Every Kafka version's image must be here (or obtainable) before the first cluster starts:
    // a run must not stop half-way for a missing 3.9 image.
    if plan.cluster.external.is_none() {
        let docker = crate::cluster::docker::connect().await?;
        let versions: std::collections::BTreeSet<&str> = plan.cells.iter().map(|c| c.kafka_version.as_str()).collect();
        for version in versions {
            crate::cluster::image::resolve(&docker, version, args.image.as_deref()).await?;
        }
    }
    let dir = result_dir(&args, &plan.scenario)?;
    std::fs::copy(&args.scenario, dir.join(SCENARIO_COPY))
        .map_err(|e| Error::io(format!("cannot copy {}", args.scenario.display()), e))?;
    store::write_json(&dir.join(PLAN_FILE), plan.as_ref())?;
    let estimate = plan.estimate();
    eprintln!(
        "{}: {} cell(s), about {} min; results in {}",
        plan.scenario,
        plan.cells.len(),
        estimate.total.as_secs().div_ceil(60),
        dir.display()
    );

    let state = Arc::new(Mutex::new(RunState {
        summary: Summary {
            scenario: plan.scenario.clone(),
            description: plan.description.clone(),
            seed: plan.seed,
            started: now_rfc3339(),
            wall_time_s: 0.0,
            complete: false,
            image: String::new(),
            cells: Vec::new(),
        },
        dir: dir.clone(),
        began: Instant::now(),
    }));
    let progress = progress_bar(plan.cells.len() as u64);

    let mut next = 0;
    let mut outcome = Ok(());
    while next < plan.cells.len() {
        let spec = cluster_spec(&plan, &plan.cells[next], args.image.clone(), lazyfs.clone());
        let (plan_c, state_c, progress_c, launcher_c) = (plan.clone(), state.clone(), progress.clone(), launcher.clone());
        let ran = match &plan.cluster.external {
            Some(external) => {
                with_external(external, move |cluster| run_cells(cluster, plan_c, next, state_c, progress_c, launcher_c)).await
            }
            None => with_cluster(&spec, move |cluster| run_cells(cluster, plan_c, next, state_c, progress_c, launcher_c)).await,
        };
        match ran {
            Ok(reached) => next = reached,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    progress.finish_and_clear();

    let summary = {
        let mut state = state.lock().unwrap();
        state.summary.complete = outcome.is_ok();
        state.save()?;
        state.summary.clone()
    };
    match crate::report::render_all(&dir, &summary) {
        Ok(_) => {}
        Err(e) => eprintln!("warning: the reports could not be rendered: {e}"),
    }
    link_latest(&dir);
    print!("{}", crate::report::terminal_table(&summary));
    eprintln!("results: {}", dir.display());
    Ok(exit_code(&summary, outcome))
}

/// 130 when interrupted; else 1 if any expectation was violated, then 3 if a cell has no
/// verdict or the run could not go on (its error is printed), then 0.
pub fn exit_code(summary: &Summary, outcome: Result<()>) -> i32 {
    match outcome {
        Err(Error::Interrupted) => return exit_codes::INTERRUPTED,
        Err(e) => eprintln!("error: {e}"),
        Ok(()) => {}
    }
    if summary.failed() > 0 {
        exit_codes::VIOLATED
    } else if summary.unknown() > 0 || !summary.complete {
        exit_codes::INFRASTRUCTURE
    } else {
        exit_codes::OK
    }
}

struct RunState {
    summary: Summary,
    dir: PathBuf,
    began: Instant,
}

impl RunState {
    fn save(&mut self) -> Result<()> {
        self.summary.wall_time_s = self.began.elapsed().as_secs_f64();
        self.summary.save(&self.dir)?;
        crate::report::write_summary_csv(&self.dir, &self.summary)
    }
}

/// Run cells from `first` on, as long as they share this cluster's broker settings and the
/// cluster stays healthy. Returns the index of the next cell to run.
async fn run_cells(
    cluster: Arc<dyn Cluster>,
    plan: Arc<Plan>,
    first: usize,
    state: Arc<Mutex<RunState>>,
    progress: ProgressBar,
    launcher: WorkerLauncher,
) -> Result<usize> {
    {
        // Cells of other versions ran on other images: name each.
        let image = &mut state.lock().unwrap().summary.image;
        let this = cluster.describe();
        if image.is_empty() {
            *image = this;
        } else if !image.split("; ").any(|i| i == this) {
            *image = format!("{image}; {this}");
        }
    }
    let mut index = first;
    while index < plan.cells.len() && plan.cells[index].same_cluster(&plan.cells[first]) {
        let cell = plan.cells[index].clone();
        let dir = state.lock().unwrap().dir.join(CELLS_DIR).join(&cell.id);
        let label = format!("{}/{} {}", index + 1, plan.cells.len(), cell.id);
        progress.set_message(format!("{label} · starting"));
        let reporter = {
            let progress = progress.clone();
            let label = label.clone();
            Arc::new(move |phase: &str| progress.set_message(format!("{label} · {phase}")))
        };
        let began = Instant::now();
        let ctx = CellContext { plan: plan.clone(), cell: cell.clone(), dir, launcher: launcher.clone(), phase: reporter };
        let result = run_cell(cluster.clone(), ctx).await;
        let healthy = result.as_ref().map(|r| r.cluster_healthy).unwrap_or(false);
        let summary = cell_summary(&cell, result, began);
        let verdict = crate::report::verdict_word(summary.verdict);
        progress.println(format!("{verdict:<7} {} ({:.0} s){}", cell.id, summary.duration_s, key_counts(&summary)));
        {
            let mut state = state.lock().unwrap();
            state.summary.cells.push(summary);
            state.save()?;
        }
        progress.inc(1);
        index += 1;
        // The next cell gets a fresh cluster rather than inheriting a broken one; a power cut
        // is meant to break what was durable, so every such cell starts on a new cluster.
        if !healthy || cell.needs_forgetful_disk() {
            break;
        }
    }
    Ok(index)
}

fn cell_summary(cell: &Cell, result: Result<crate::runner::CellRun>, began: Instant) -> CellSummary {
    let duration_s = began.elapsed().as_secs_f64();
    match result {
        Ok(run) => judge::cell_summary(cell, &run.analysis, run.notes, duration_s),
        Err(e) => judge::unrun_cell(cell, format!("the cell could not be run: {e}"), duration_s),
    }
}

fn cluster_spec(plan: &Plan, cell: &Cell, image: Option<String>, lazyfs: Option<PathBuf>) -> ClusterSpec {
    ClusterSpec {
        brokers: plan.cluster.brokers,
        controllers: plan.cluster.controllers,
        kafka_version: cell.kafka_version.clone(),
        image,
        broker_config: cell.broker.clone(),
        sasl_plain: None,
        // Only clusters of cells that cut the power get the filesystem (and FUSE's privileges).
        lazyfs: lazyfs.filter(|_| cell.needs_forgetful_disk()),
    }
}

fn result_dir(args: &RunArgs, scenario: &str) -> Result<PathBuf> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => PathBuf::from("reports").join(format!("{scenario}-{}", timestamp())),
    };
    std::fs::create_dir_all(dir.join(CELLS_DIR)).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    Ok(dir)
}

/// `reports/latest` -> the newest result directory, when it lives under `reports/`.
fn link_latest(dir: &Path) {
    let Some(parent) = dir.parent() else { return };
    let Some(name) = dir.file_name() else { return };
    let latest = parent.join("latest");
    let _ = std::fs::remove_file(&latest);
    let _ = std::os::unix::fs::symlink(name, &latest);
}

fn progress_bar(cells: u64) -> ProgressBar {
    let bar = ProgressBar::new(cells);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} cells, ETA {eta}  {msg}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    bar
}

fn key_counts(cell: &CellSummary) -> String {
    let Some(c) = &cell.counts else { return String::new() };
    let shown = |count: crate::scenario::Count, n: u64| if cell.judged(count) { n.to_string() } else { "?".into() };
    use crate::scenario::Count as C;
    format!(
        ": sent {} lost {} duplicated {} reordered {} unconsumed {} redelivered {}, {:.0}% definite",
        c.sent,
        shown(C::Lost, c.lost),
        shown(C::Duplicated, c.duplicated),
        shown(C::Reordered, c.reordered),
        shown(C::Unconsumed, c.unconsumed),
        shown(C::Redelivered, c.redelivered),
        c.definite_share() * 100.0
    )
}

/// `20261118-110640`, UTC: a result directory's name, sortable by time.
fn timestamp() -> String {
    let rfc3339 = now_rfc3339();
    // `2026-11-18T11:06:40Z` -> `20261118-110640`
    rfc3339.trim_end_matches('Z').replace(['-', ':'], "").replace('T', "-")
}

/// `2026-11-18T11:06:40Z`, UTC, to the second.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Verdict;

    fn summary(verdicts: &[Verdict], complete: bool) -> Summary {
        let cells = verdicts
            .iter()
            .map(|&verdict| CellSummary {
                id: format!("{verdict:?}"),
                config: Default::default(),
                counts: None,
                expectations: vec![],
                verdict,
                unjudged: vec![],
                notes: vec![],
                duration_s: 1.0,
            })
            .collect();
        Summary {
            scenario: "s".into(),
            description: String::new(),
            seed: 0,
            started: String::new(),
            wall_time_s: 0.0,
            complete,
            image: String::new(),
            cells,
        }
    }

    #[test]
    fn a_violation_wins_over_no_verdict_and_an_interrupt_over_all() {
        let infra = || Err(Error::infra("the cluster would not start"));
        assert_eq!(exit_code(&summary(&[Verdict::Pass], true), Ok(())), exit_codes::OK);
        assert_eq!(exit_code(&summary(&[Verdict::Pass, Verdict::Unknown], true), Ok(())), exit_codes::INFRASTRUCTURE);
        assert_eq!(exit_code(&summary(&[Verdict::Pass], false), Ok(())), exit_codes::INFRASTRUCTURE, "incomplete");
        assert_eq!(exit_code(&summary(&[Verdict::Fail], false), infra()), exit_codes::VIOLATED);
        assert_eq!(exit_code(&summary(&[Verdict::Unknown, Verdict::Fail], true), Ok(())), exit_codes::VIOLATED);
        assert_eq!(exit_code(&summary(&[Verdict::Pass], false), infra()), exit_codes::INFRASTRUCTURE);
        assert_eq!(exit_code(&summary(&[Verdict::Fail], false), Err(Error::Interrupted)), exit_codes::INTERRUPTED);
    }

    #[test]
    fn result_names_are_the_start_time_to_the_second() {
        let (name, stamp) = (timestamp(), now_rfc3339());
        assert_eq!(name.len(), "20261118-110640".len(), "{name}");
        assert!(stamp.ends_with('Z') && stamp.len() == "2026-11-18T11:06:40Z".len(), "{stamp}");
    }
}
