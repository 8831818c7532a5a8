//! `cluster smoke`: every cluster operation, verified on a real 3-broker cluster, one step at a
//! time: every fault action of the model's table and its heal, through the `Cluster` trait the
//! runner uses. A step passes only when its effect was observed through Kafka, never merely
//! because a call returned.

use crate::cluster::{topology::wait_until, Cluster, ContainerCluster, Topology};
use crate::model::FaultActionKind;
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
pub async fn run(
    cluster: &ContainerCluster,
    forgetful_disk: bool,
    mut report: impl FnMut(&Step),
    mut skipped: impl FnMut(&str, &str),
) -> Result<Vec<Step>> {
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

    // Every action of the table, through the trait the runner uses, on the leader of partition 0:
    // a new action is verified here without a new line.
    let cluster: &dyn Cluster = cluster;
    for action in FaultActionKind::ALL {
        let row = action.row();
        let name = format!("{}+{}", row.name, row.heal_verb);
        if row.forgetful_disk && !forgetful_disk {
            skipped(&name, "the brokers' log directories are not on the filesystem that forgets (no /dev/fuse or no kafka-chaos-lazyfs)");
            continue;
        }
        let (observed, took) = break_and_heal(cluster, topology, action).await?;
        record(&name, observed, took);
    }
    if !cluster.faulted().is_empty() {
        return Err(Error::Violated(format!("faults still in force after every heal: {:?}", cluster.faulted())));
    }
    Ok(steps)
}

/// Break the leader of partition 0 by `action` and heal it, both through the `Cluster` trait.
/// Verified through Kafka, not by the calls returning: after the break the victim has lost the
/// partition's leadership and left its ISR (fenced, or fallen behind); after the heal it is back
/// in the ISR, and a write acknowledged by every in-sync replica succeeds.
async fn break_and_heal(cluster: &dyn Cluster, topology: &Topology, action: FaultActionKind) -> Result<(String, Duration)> {
    let row = action.row();
    let before = topology.partition(TOPIC, 0).await?;
    let victim = before.leader.ok_or_else(|| Error::Violated("partition 0 has no leader".into()))?;
    let label = cluster.node_label(victim);
    let began = Instant::now();
    let broke = cluster.perform(row.breaks, victim).await?;
    let after = std::sync::Mutex::new(before.clone());
    wait_until(OBSERVE_TIMEOUT, || async {
        match topology.partition(TOPIC, 0).await {
            Ok(p) if p.leader.is_some() && p.leader != Some(victim) && !p.isr.contains(&victim) => {
                *after.lock().unwrap() = p;
                true
            }
            _ => false,
        }
    })
    .await
    .map_err(|w| Error::Violated(format!("{label} {}: still the leader of partition 0 or in its ISR after {} s", row.past, w.as_secs())))?;
    let left = began.elapsed();
    let after = after.into_inner().unwrap();
    let new_leader = after.leader.unwrap_or(-1);
    if !before.isr.contains(&new_leader) {
        return Err(Error::Violated(format!("the new leader {} was not in the ISR {:?}", cluster.node_label(new_leader), before.isr)));
    }
    let healed = cluster.perform(row.heals, victim).await?;
    let isr = topology.partition(TOPIC, 0).await?.isr;
    if !isr.contains(&victim) {
        return Err(Error::Violated(format!("{label} {}, yet the ISR of partition 0 is {isr:?}", row.healed)));
    }
    produce(&cluster.bootstrap_servers(), 10).await?;
    let how = |o: &crate::cluster::Observed| if o.how.is_empty() { String::new() } else { format!(" ({})", o.how) };
    let observed = format!(
        "{label} {}{}; out of the ISR, {} leading, after {:.1} s; {}{}, ISR {isr:?}, writes acked",
        row.past,
        how(&broke),
        cluster.node_label(new_leader),
        left.as_secs_f64(),
        row.healed,
        how(&healed)
    );
    Ok((observed, began.elapsed()))
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
