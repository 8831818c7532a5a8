//! `cluster up` and `cluster smoke`.

use crate::cli::{ClusterUpArgs, ImageArgs};
use crate::cluster::{self, with_cluster, Cluster, ClusterSpec, ContainerCluster};
use crate::error::{Error, Result};
use crate::model::security::{SaslCredentials, SaslMechanism};
use crate::{exit_codes, smoke};
use std::sync::Arc;

fn spec_from(image: &ImageArgs, brokers: u16) -> ClusterSpec {
    ClusterSpec {
        kafka_version: image.kafka_version.clone(),
        image: image.image.clone(),
        ..ClusterSpec::new(brokers)
    }
}

pub async fn up(args: ClusterUpArgs) -> Result<i32> {
    let mut spec = spec_from(&args.image, args.brokers);
    spec.controllers = args.controllers;
    for pair in &args.broker_config {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::Invalid(format!("--broker-config {pair}: expected KEY=VALUE, e.g. min.insync.replicas=2"))
        })?;
        spec.broker_config.insert(k.trim().to_string(), v.trim().to_string());
    }
    if let Some(user) = &args.sasl_plain {
        spec.sasl_plain = Some(sasl_user(user)?);
    }
    eprintln!("starting {} broker(s){}...", spec.brokers, if spec.controllers > 0 { format!(" and {} controller(s)", spec.controllers) } else { String::new() });
    let print_external = args.print_external.clone();
    let outcome = with_cluster(&spec, |cluster: Arc<ContainerCluster>| async move {
        describe(&cluster);
        if let Some(file) = &print_external {
            crate::store::write_bytes(file, cluster.external_table().as_bytes())?;
            eprintln!("wrote this cluster as an external [cluster] table to {}", file.display());
        }
        println!("{}", cluster.bootstrap_servers());
        eprintln!("holding the cluster; press Ctrl-C to remove it");
        // Hold until interrupted: with_cluster turns Ctrl-C/SIGTERM into clean-up.
        std::future::pending::<()>().await;
        Ok(())
    })
    .await;
    match outcome {
        Err(Error::Interrupted) => {
            eprintln!("removed every container and the network of the run");
            Ok(exit_codes::OK)
        }
        other => other.map(|_| exit_codes::OK),
    }
}

fn sasl_user(user: &str) -> Result<SaslCredentials> {
    // The name becomes a JAAS option (`user_NAME`), which takes no punctuation.
    if user.is_empty() || !user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Invalid(format!("--sasl-plain {user:?}: a user name is letters, digits and '_'")));
    }
    let password = std::env::var(cluster::SASL_PASSWORD_ENV).unwrap_or_default();
    if password.is_empty() || password.contains(['"', '\\', ';']) {
        return Err(Error::Invalid(format!(
            "--sasl-plain needs the password in ${env} (without '\"', '\\' or ';'): export {env}=...",
            env = cluster::SASL_PASSWORD_ENV
        )));
    }
    Ok(SaslCredentials { mechanism: SaslMechanism::Plain, username: user.to_string(), password })
}

fn describe(cluster: &ContainerCluster) {
    eprintln!(
        "cluster {} up in {:.1} s (image {}, network {})",
        cluster.run_id,
        cluster.boot_time.as_secs_f64(),
        cluster.image,
        cluster.network
    );
    for node in &cluster.nodes {
        match node.host_port {
            Some(port) => eprintln!("  {:<16} 127.0.0.1:{port}  ({})", node.label(), node.container),
            None => eprintln!("  {:<16} controller only  ({})", node.label(), node.container),
        }
    }
}

pub async fn smoke(args: ImageArgs) -> Result<i32> {
    let mut spec = spec_from(&args, 3);
    // Power loss is verified too where it can be: the log directories on the filesystem that
    // forgets, which needs /dev/fuse and the kafka-chaos-lazyfs binary.
    let lazyfs = crate::cluster::power::fuse_device().and_then(|()| {
        let launcher = crate::workload::WorkerLauncher::current_exe().map_err(|e| e.to_string())?;
        crate::cluster::power::lazyfs_binary(&launcher.workers_dir).map_err(|e| e.to_string())
    });
    if let Err(why) = &lazyfs {
        println!("power-loss will be skipped: {why}");
    }
    spec.lazyfs = lazyfs.ok();
    let forgetful_disk = spec.lazyfs.is_some();
    println!("cluster smoke: 3 brokers, Kafka {}", spec.kafka_version);
    let run_id = Arc::new(std::sync::Mutex::new(String::new()));
    let seen_run = run_id.clone();
    let outcome = with_cluster(&spec, |cluster: Arc<ContainerCluster>| async move {
        *seen_run.lock().unwrap() = cluster.run_id.clone();
        print_step("boot", &format!("{} brokers ready, image {}", cluster.nodes.len(), cluster.image), cluster.boot_time);
        let skipped = |name: &str, why: &str| println!("skip {name:<16} {why}");
        smoke::run(&cluster, forgetful_disk, |s| print_step(&s.name, &s.observed, s.took), skipped).await
    })
    .await;
    let run_id = run_id.lock().unwrap().clone();
    // Verify the clean-up too: nothing of this run may remain.
    let docker = cluster::docker::connect().await?;
    let left = if run_id.is_empty() { 0 } else { cluster::docker::remove_labelled(&docker, Some(&run_id)).await?.containers.len() };
    match outcome {
        Ok(_) if left == 0 => {
            print_step("teardown", "no container or network of the run remains", std::time::Duration::ZERO);
            println!("smoke: every step verified");
            Ok(exit_codes::OK)
        }
        Ok(_) => Err(Error::Violated(format!("{left} container(s) of run {run_id} were still there after teardown"))),
        Err(e) => {
            println!("FAILED  {e}");
            Err(e)
        }
    }
}

fn print_step(name: &str, observed: &str, took: std::time::Duration) {
    println!("ok  {name:<16} {:>6.1} s  {observed}", took.as_secs_f64());
}
