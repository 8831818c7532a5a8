//! `doctor`: is everything a run needs here, and what to do about each thing that is not.

use crate::cli::DoctorArgs;
use crate::cluster::{docker, image};
use crate::error::Result;
use crate::exit_codes;
use crate::scenario::ClientKind;
use crate::workload::WorkerLauncher;

/// Each client's worker: built, and able to start (`--version`-like probe: an empty config, which
/// every worker must refuse with exit 2). Returns the number of problems.
fn workers() -> usize {
    let Ok(launcher) = WorkerLauncher::current_exe() else {
        println!("FAIL  cannot find the kafka-chaos executable to start workers");
        return 1;
    };
    let mut problems = 0;
    for client in ClientKind::ALL {
        match launcher.probe(client) {
            Ok(what) => println!("ok    worker {client}: {what}"),
            Err(e) => {
                println!("FAIL  worker {client}: {e}");
                problems += 1;
            }
        }
    }
    problems
}

/// What `power-loss` needs: FUSE on this machine and the filesystem binary. Missing, it fails
/// only scenarios that cut the power, so it is reported but not counted as a problem.
fn power_loss() -> usize {
    match crate::cluster::power::fuse_device() {
        Ok(()) => println!("ok    /dev/fuse: power-loss can mount its filesystem in a broker container"),
        Err(e) => println!("warn  {e} (only scenarios with power-loss need it)"),
    }
    let found = WorkerLauncher::current_exe().map(|l| crate::cluster::power::lazyfs_binary(&l.workers_dir));
    match found {
        Ok(Ok(path)) => println!("ok    power-loss filesystem: {}", path.display()),
        Ok(Err(e)) | Err(e) => println!("warn  {e} (only scenarios with power-loss need it)"),
    }
    0
}

pub async fn run(args: DoctorArgs) -> Result<i32> {
    // The versions to check: every one the scenario names, else --kafka-version.
    let versions: Vec<String> = match &args.scenario {
        Some(path) => {
            let (_, plan) = crate::commands::check::load(path, None)?;
            match &plan.cluster.external {
                Some(external) => {
                    println!("ok    {} runs on the external cluster at {}: no image needed", path.display(), external.bootstrap);
                    Vec::new()
                }
                None => {
                    let set: std::collections::BTreeSet<String> = plan.cells.iter().map(|c| c.kafka_version.clone()).collect();
                    set.into_iter().collect()
                }
            }
        }
        None => vec![args.image.kafka_version.clone()],
    };
    let args = args.image;
    let mut problems = workers() + power_loss();
    let engine = match docker::connect().await {
        Ok(engine) => {
            let version = engine.version().await.ok();
            println!(
                "ok    docker engine {} (API {})",
                version.as_ref().and_then(|v| v.version.clone()).unwrap_or_default(),
                version.as_ref().and_then(|v| v.api_version.clone()).unwrap_or_default()
            );
            engine
        }
        Err(e) => {
            println!("FAIL  {e}");
            return Ok(exit_codes::INFRASTRUCTURE);
        }
    };
    for version in &versions {
        problems += image_problems(&engine, version, args.image.as_deref()).await;
    }
    let leftovers = engine
        .list_containers(Some(testcontainers::bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some([("label".to_string(), vec![docker::RUN_LABEL.to_string()])].into()),
            ..Default::default()
        }))
        .await
        .map(|c| c.len())
        .unwrap_or(0);
    if leftovers > 0 {
        println!("warn  {leftovers} container(s) of earlier runs are still here: `kafka-chaos clean` removes them");
    }
    Ok(if problems == 0 { exit_codes::OK } else { exit_codes::INFRASTRUCTURE })
}

/// The image of one Kafka version: present, or pulled now; else how to build it. Returns the
/// number of problems.
async fn image_problems(engine: &testcontainers::bollard::Docker, version: &str, given: Option<&str>) -> usize {
    let mut problems = 0;
    if let Some(given) = given {
        if image::is_present(engine, given).await {
            println!("ok    image {given} (from --image/KAFKA_CHAOS_IMAGE) is present");
        } else {
            println!("FAIL  image {given} (from --image/KAFKA_CHAOS_IMAGE) is not present: pull or build it, or unset it");
            problems += 1;
        }
    } else {
        let official = image::official(version);
        let local = image::local_build(version);
        match (image::is_present(engine, &official).await, image::is_present(engine, &local).await) {
            (true, _) => println!("ok    image {official} is present and will be used"),
            (false, true) => println!("ok    image {local} is present and will be used"),
            (false, false) => {
                println!("...   neither {official} nor {local} is present; trying to pull {official}");
                match image::pull(engine, &official).await {
                    Ok(()) => println!("ok    pulled {official}"),
                    Err(e) => {
                        println!("FAIL  cannot pull {official} ({e}); {}", image::build_hint(version));
                        problems += 1;
                    }
                }
            }
        }
    }
    problems
}
