//! `cluster smoke`: every cluster operation, verified on a real 3-broker cluster, one step at a
//! time. A step passes only when its effect was observed, never merely because a call returned.

use crate::cluster::{topology::wait_until, Cluster, ContainerCluster};
use crate::error::{Error, Result};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const TOPIC: &str = "smoke";
const PARTITIONS: i32 = 3;
const RECORDS: u64 = 1000;
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(90);

/// One verified step: what was done, what was observed, and how long it took.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub observed: String,
    pub took: Duration,
}

/// Run every step after the boot, calling `report` as each one is verified. Stops at the first
/// step that cannot be verified: later steps depend on the earlier ones.
pub async fn run(cluster: &ContainerCluster, mut report: impl FnMut(&Step)) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut record = |name: &str, observed: String, took: Duration| {
        let step = Step { name: name.to_string(), observed, took };
        report(&step);
        steps.push(step);
    };
    let topology = &cluster.topology;

    let began = Instant::now();
    let config = BTreeMap::from([("min.insync.replicas".to_string(), "2".to_string())]);
    topology.create_topic(TOPIC, PARTITIONS, 3, &config).await?;
    record("create topic", format!("{TOPIC}: 3 partitions, RF 3, min.insync.replicas=2, full ISR"), began.elapsed());

    let began = Instant::now();
    produce(&cluster.bootstrap_servers(), RECORDS).await?;
    let seen = consume(&cluster.bootstrap_servers(), RECORDS).await?;
    if seen != RECORDS {
        return Err(Error::Violated(format!("produced {RECORDS} records but read back {seen}")));
    }
    record("produce+consume", format!("{RECORDS} acked (acks=all), {seen} distinct read back"), began.elapsed());

    let before = topology.partition(TOPIC, 0).await?;
    let leader = before.leader.ok_or_else(|| Error::Violated("partition 0 has no leader".into()))?;
    let began = Instant::now();
    cluster.kill(leader).await?;
    let after = std::sync::Mutex::new(before.clone());
    wait_until(OBSERVE_TIMEOUT, || async {
        match topology.partition(TOPIC, 0).await {
            Ok(p) if p.leader.is_some() && p.leader != Some(leader) => {
                *after.lock().unwrap() = p;
                true
            }
            _ => false,
        }
    })
    .await
    .map_err(|w| Error::Violated(format!("no new leader for partition 0 within {} s of killing broker-{leader}", w.as_secs())))?;
    let after = after.into_inner().unwrap();
    let new_leader = after.leader.unwrap_or(-1);
    if !before.isr.contains(&new_leader) {
        return Err(Error::Violated(format!("new leader broker-{new_leader} was not in the ISR {:?}", before.isr)));
    }
    record(
        "kill leader",
        format!("SIGKILL broker-{leader}; new leader broker-{new_leader} from ISR {:?} (failover)", before.isr),
        began.elapsed(),
    );

    let began = Instant::now();
    cluster.restart(leader).await?;
    let isr = topology.partition(TOPIC, 0).await?.isr;
    if isr.len() != 3 {
        return Err(Error::Violated(format!("after restart the ISR of partition 0 is {isr:?}")));
    }
    record("restart", format!("broker-{leader} back; ISR of partition 0 {isr:?}"), began.elapsed());

    let follower = topology.partition(TOPIC, 0).await?.followers()[0];
    let began = Instant::now();
    cluster.pause(follower).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let paused_for = began.elapsed();
    cluster.resume(follower).await?;
    // A resumed broker must answer again: a produce that needs every replica proves it.
    produce(&cluster.bootstrap_servers(), 10).await?;
    record("pause+resume", format!("broker-{follower} frozen {:.1} s, then serving again", paused_for.as_secs_f64()), began.elapsed());

    let follower = topology.partition(TOPIC, 0).await?.followers()[0];
    let began = Instant::now();
    cluster.isolate(follower).await?;
    wait_until(OBSERVE_TIMEOUT, || async {
        topology.partition(TOPIC, 0).await.map(|p| !p.isr.contains(&follower)).unwrap_or(false)
    })
    .await
    .map_err(|w| Error::Violated(format!("isolated broker-{follower} stayed in the ISR for {} s", w.as_secs())))?;
    let left = began.elapsed();
    if answers(cluster, follower).await {
        return Err(Error::Violated(format!("isolated broker-{follower} still answers clients on its port")));
    }
    cluster.heal(follower).await?;
    if !answers(cluster, follower).await {
        return Err(Error::Violated(format!("healed broker-{follower} does not answer clients on its port")));
    }
    wait_until(OBSERVE_TIMEOUT, || async {
        topology.partition(TOPIC, 0).await.map(|p| p.isr.contains(&follower)).unwrap_or(false)
    })
    .await
    .map_err(|w| Error::Violated(format!("healed broker-{follower} did not rejoin the ISR within {} s", w.as_secs())))?;
    record(
        "isolate+heal",
        format!("broker-{follower} unreachable, left the ISR after {:.1} s; reachable and in the ISR after heal", left.as_secs_f64()),
        began.elapsed(),
    );
    Ok(steps)
}

/// Whether a client that knows only this broker's host port gets metadata from it.
async fn answers(cluster: &ContainerCluster, id: i32) -> bool {
    let Some(port) = cluster.node(id).ok().and_then(|n| n.host_port) else { return false };
    match crate::cluster::Topology::connect(&format!("127.0.0.1:{port}"), None) {
        Ok(direct) => direct.live_brokers().await.is_ok(),
        Err(_) => false,
    }
}

async fn produce(bootstrap: &str, count: u64) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "60000")
        .create()
        .map_err(|e| Error::infra(format!("cannot create a producer: {e}")))?;
    let sends = (0..count).map(|seq| {
        let key = seq.to_string();
        let producer = &producer;
        async move {
            producer
                .send(FutureRecord::to(TOPIC).key(&key).payload(&key), Duration::from_secs(60))
                .await
                .map_err(|(e, _)| Error::Violated(format!("record {seq} was not acked: {e}")))
        }
    });
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(())
}

/// Read every partition from the beginning; return how many distinct keys came back.
async fn consume(bootstrap: &str, expected: u64) -> Result<u64> {
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "kafka-chaos-smoke")
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| Error::infra(format!("cannot create a consumer: {e}")))?;
        let mut assignment = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            assignment
                .add_partition_offset(TOPIC, p, Offset::Beginning)
                .map_err(|e| Error::infra(e.to_string()))?;
        }
        consumer.assign(&assignment).map_err(|e| Error::infra(e.to_string()))?;
        let mut keys = std::collections::HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while (keys.len() as u64) < expected && Instant::now() < deadline {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) {
                if let Some(key) = message.key() {
                    keys.insert(key.to_vec());
                }
            }
        }
        Ok(keys.len() as u64)
    })
    .await
    .map_err(|e| Error::infra(format!("consumer task failed: {e}")))?
}
