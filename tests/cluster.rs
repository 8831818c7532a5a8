//! The cluster against a real Docker engine: every operation, and clean-up on every way out.
//! Run one at a time (`--test-threads=1`): two clusters do not fit two cores.

mod common;

use common::{labelled_containers, labelled_networks, require_docker, BIN};
use kafka_chaos::cluster::topology::wait_until;
use kafka_chaos::cluster::{docker, with_cluster, ClusterSpec};
use kafka_chaos::error::Error;
use kafka_chaos::model::FaultActionKind;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cluster smoke` verifies boot, topic, produce/consume, every fault action of the table and
/// its heal (power loss where /dev/fuse exists, as here in CI), and leaves nothing behind.
#[test]
fn smoke_verifies_every_step_and_leaves_nothing() {
    require_docker();
    let out = Command::new(BIN).args(["cluster", "smoke"]).output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(out.status.success(), "smoke failed: {stdout}\n{stderr}");
    let fuse = std::path::Path::new("/dev/fuse").exists();
    let actions = FaultActionKind::ALL.into_iter().filter(|a| fuse || !a.needs_forgetful_disk());
    let steps: Vec<String> = ["boot", "create topic", "produce+consume"]
        .into_iter()
        .map(String::from)
        .chain(actions.map(|a| format!("{a}+{}", a.heal_verb())))
        .chain(["teardown".to_string()])
        .collect();
    assert!(steps.len() >= 9, "{steps:?}");
    for step in &steps {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("ok  {step} "))), "no verified step {step:?} in:\n{stdout}");
    }
    assert!(stdout.contains("every step verified"));
}

/// SIGTERM of the active controller elects another; the library's clean-up runs after an error
/// and after a panic in the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_stop_and_cleanup_on_error_and_panic() {
    require_docker();
    let spec = ClusterSpec::new(3);
    let run = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = run.clone();
    let outcome = with_cluster(&spec, |cluster| async move {
        *seen.lock().unwrap() = cluster.run_id.clone();
        let controller = cluster.active_controller().await?;
        assert!(cluster.broker_ids().contains(&controller), "controller {controller}");
        let took = cluster.stop(controller).await?;
        assert!(took < Duration::from_secs(40), "controlled shutdown took {took:?}");
        let live = cluster.topology.live_brokers().await?;
        assert!(!live.contains(&controller), "stopped broker still live: {live:?}");
        let started = Instant::now();
        let mut next = controller;
        while next == controller && started.elapsed() < Duration::from_secs(60) {
            next = cluster.active_controller().await.unwrap_or(controller);
        }
        assert_ne!(next, controller, "no new controller after stopping {controller}");
        cluster.restart(controller).await?;
        assert!(cluster.topology.live_brokers().await?.contains(&controller));
        Err::<(), _>(Error::Violated("deliberate error to exercise clean-up".into()))
    })
    .await;
    assert!(matches!(outcome, Err(Error::Violated(_))), "{outcome:?}");
    let run_id = run.lock().unwrap().clone();
    assert!(!run_id.is_empty());
    assert_eq!(labelled_containers(Some(&run_id)), 0, "containers left after an error");
    assert_eq!(labelled_networks(Some(&run_id)), 0, "network left after an error");

    let seen = run.clone();
    let outcome = with_cluster(&ClusterSpec::new(1), |cluster| async move {
        *seen.lock().unwrap() = cluster.run_id.clone();
        if !cluster.run_id.is_empty() {
            panic!("deliberate panic to exercise clean-up");
        }
        Ok(())
    })
    .await;
    assert!(outcome.is_err());
    let run_id = run.lock().unwrap().clone();
    assert_eq!(labelled_containers(Some(&run_id)), 0, "containers left after a panic");
    assert_eq!(labelled_networks(Some(&run_id)), 0, "network left after a panic");
}

/// A SIGKILLed broker stays registered and in the ISR until the controller fences it, so a
/// metadata poll cannot tell it from a restarted one: the restart is observed only once the new
/// incarnation logged its ready line and is back in every ISR, so it takes at least as long as
/// the JVM took to start (by the broker's own log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_is_observed_only_once_the_new_incarnation_is_in_every_isr() {
    require_docker();
    let outcome = with_cluster(&ClusterSpec::new(3), |cluster| async move {
        let topology = &cluster.topology;
        topology.create_topic("restart", 3, 3, &Default::default()).await?;
        let leader = topology.partition("restart", 0).await?.leader.expect("a leader");
        cluster.kill(leader).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        // Still listed: the controller has not fenced it yet (9 s by default).
        let listed = topology.live_brokers().await?.contains(&leader);
        let observed = cluster.restart(leader).await?;
        assert!(topology.rejoined(leader).await, "broker-{leader} not alive and in every ISR when the restart returned");
        let node = cluster.nodes.iter().find(|n| n.id == leader).unwrap();
        let started = docker::started_at(&cluster.docker, &node.container).await?;
        let ready = docker::logged_at(&cluster.docker, &node.container, "Kafka Server started", started)
            .await
            .expect("the new incarnation's ready line");
        let jvm = ready.duration_since(started).unwrap();
        println!(
            "broker-{leader}: listed alive 3 s after SIGKILL: {listed}; JVM start to ready {} ms; restart observed after {} ms ({})",
            jvm.as_millis(),
            observed.took.as_millis(),
            observed.how
        );
        assert!(jvm > Duration::from_millis(500), "a broker JVM does not start in {jvm:?}");
        assert!(observed.took >= jvm, "the restart was observed after {:?}, before the JVM was ready ({jvm:?})", observed.took);

        // A pause longer than the broker session (9 s) gets the broker fenced and out of the
        // ISR; the resume is observed only once it is back in every ISR.
        let follower = topology.partition("restart", 0).await?.followers()[0];
        cluster.pause(follower).await?;
        let fenced = wait_until(Duration::from_secs(30), || async {
            topology.live_brokers().await.is_ok_and(|live| !live.contains(&follower))
        })
        .await;
        assert!(fenced.is_ok(), "broker-{follower} was never fenced while paused");
        let resumed = cluster.resume(follower).await?;
        assert!(topology.rejoined(follower).await, "broker-{follower} not alive and in every ISR when the resume returned");
        println!("broker-{follower}: fenced while paused; resume observed after {} ms ({})", resumed.took.as_millis(), resumed.how);
        Ok(())
    })
    .await;
    outcome.expect("the restart is observed");
}

/// Start `cluster up`, wait for its bootstrap line, and return the child and the run id.
fn cluster_up(extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["cluster", "up"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut run_id = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        eprintln!("{line}");
        if let Some(rest) = line.strip_prefix("cluster ") {
            run_id = rest.split_whitespace().next().unwrap().to_string();
        }
        if line.contains("press Ctrl-C") || line.starts_with("error") {
            break;
        }
    }
    assert!(!run_id.is_empty(), "cluster up did not come up");
    // Keep reading: a closed stderr would make the child's last messages fail.
    std::thread::spawn(move || {
        for line in lines.map_while(|l| l.ok()) {
            eprintln!("{line}");
        }
    });
    (child, run_id)
}

#[test]
fn ctrl_c_of_cluster_up_removes_everything() {
    require_docker();
    let (mut child, run_id) = cluster_up(&[]);
    assert_eq!(labelled_containers(Some(&run_id)), 3);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "cluster up exited with {status:?} after Ctrl-C");
    assert_eq!(labelled_containers(Some(&run_id)), 0);
    assert_eq!(labelled_networks(Some(&run_id)), 0);
}

/// kill -9 leaves containers behind (no reaper can run); `clean` removes them. Also exercises
/// dedicated controllers.
#[test]
fn kill_9_of_cluster_up_then_clean_removes_everything() {
    require_docker();
    let (mut child, run_id) = cluster_up(&["--brokers", "2", "--controllers", "1"]);
    assert_eq!(labelled_containers(Some(&run_id)), 3);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(labelled_containers(Some(&run_id)), 3, "kill -9 cannot clean up; the containers must still be there");
    // `clean` without --run removes every labelled run on the machine; the test limits itself to
    // its own run so that it cannot disturb another harness running here.
    let out = Command::new(BIN).args(["clean", "--run", &run_id]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("removed 3 container(s) and 1 network(s)"), "{said}");
    assert_eq!(labelled_containers(Some(&run_id)), 0);
    assert_eq!(labelled_networks(Some(&run_id)), 0);
}

#[tokio::test]
async fn clean_with_nothing_to_remove_succeeds() {
    require_docker();
    let engine = docker::connect().await.unwrap();
    let removed = docker::remove_labelled(&engine, Some("no-such-run")).await.unwrap();
    assert!(removed.containers.is_empty() && removed.networks.is_empty());
}
