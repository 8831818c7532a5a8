//! What the cluster looks like right now, as a client sees it: live brokers, and the leader,
//! replicas and ISR of each partition. Also topic creation, which needs the same admin client.

use crate::model::security::Security;
use crate::error::{Error, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// One metadata request may hit a paused or isolated broker; keep each short and retry instead.
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub partition: i32,
    /// None while the partition has no leader (e.g. every ISR member is down).
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl PartitionState {
    /// Replicas other than the leader, in replica order.
    pub fn followers(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| Some(*r) != self.leader).collect()
    }
}

#[derive(Clone)]
pub struct Topology {
    admin: Arc<AdminClient<DefaultClientContext>>,
}

impl Topology {
    pub fn connect(bootstrap_servers: &str, security: Option<&Security>) -> Result<Topology> {
        let mut config = ClientConfig::new();
        for (k, v) in security.map(Security::rdkafka_properties).unwrap_or_default() {
            config.set(k, v);
        }
        let admin: AdminClient<DefaultClientContext> = config
            .set("bootstrap.servers", bootstrap_servers)
            // A killed broker must not stall queries for long: fail fast and ask another.
            .set("socket.timeout.ms", "3000")
            .set("socket.connection.setup.timeout.ms", "3000")
            .set("reconnect.backoff.max.ms", "500")
            .set("log_level", "3")
            .create()
            .map_err(|e| Error::infra(format!("cannot create a Kafka admin client: {e}")))?;
        Ok(Topology { admin: Arc::new(admin) })
    }

    async fn metadata<T: Send + 'static>(
        &self,
        topic: Option<String>,
        read: impl Fn(&rdkafka::metadata::Metadata) -> T + Send + 'static,
    ) -> Result<T> {
        let admin = self.admin.clone();
        tokio::task::spawn_blocking(move || {
            admin
                .inner()
                .fetch_metadata(topic.as_deref(), METADATA_TIMEOUT)
                .map(|m| read(&m))
                .map_err(|e| Error::infra(format!("metadata request failed: {e}")))
        })
        .await
        .map_err(|e| Error::infra(format!("metadata task failed: {e}")))?
    }

    /// Brokers the cluster currently reports as alive (KRaft lists only unfenced brokers).
    pub async fn live_brokers(&self) -> Result<Vec<i32>> {
        let mut ids = self.metadata(None, |m| m.brokers().iter().map(|b| b.id()).collect::<Vec<_>>()).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Each live broker's client address as the cluster advertises it: id -> "host:port".
    pub async fn broker_addresses(&self) -> Result<BTreeMap<i32, String>> {
        self.metadata(None, |m| m.brokers().iter().map(|b| (b.id(), format!("{}:{}", b.host(), b.port()))).collect())
            .await
    }

    /// Wait until exactly `expected` are alive and each is in the ISR of all its partitions.
    pub async fn wait_healthy(&self, expected: &[i32], timeout: Duration) -> std::result::Result<(), String> {
        wait_until(timeout, || async {
            match self.live_brokers().await {
                Ok(live) if live == expected => {
                    let mut full = true;
                    for id in expected {
                        full &= self.out_of_isr(*id).await.map(|n| n == 0).unwrap_or(false);
                    }
                    full
                }
                _ => false,
            }
        })
        .await
        .map_err(|w| format!("after {} s, not every broker is alive and in the ISR of all its partitions", w.as_secs()))
    }

    pub async fn partitions(&self, topic: &str) -> Result<Vec<PartitionState>> {
        let name = topic.to_string();
        let states = self
            .metadata(Some(name.clone()), move |m| {
                m.topics().iter().find(|t| t.name() == name).map(|t| {
                    (
                        t.error(),
                        t.partitions()
                            .iter()
                            .map(|p| PartitionState {
                                partition: p.id(),
                                leader: (p.leader() >= 0).then_some(p.leader()),
                                replicas: p.replicas().to_vec(),
                                isr: sorted(p.isr()),
                            })
                            .collect::<Vec<_>>(),
                    )
                })
            })
            .await?;
        match states {
            Some((None, mut parts)) => {
                parts.sort_by_key(|p| p.partition);
                Ok(parts)
            }
            Some((Some(err), _)) => Err(Error::infra(format!("topic {topic}: {err:?}"))),
            None => Err(Error::infra(format!("topic {topic} is not in the metadata"))),
        }
    }

    /// How many partitions (of every topic) list `broker` as a replica but not in their ISR.
    pub async fn out_of_isr(&self, broker: i32) -> Result<usize> {
        self.metadata(None, move |m| {
            m.topics()
                .iter()
                .flat_map(|t| t.partitions())
                .filter(|p| p.replicas().contains(&broker) && !p.isr().contains(&broker))
                .count()
        })
        .await
    }

    /// Whether `broker` is listed alive and is in the ISR of every partition it replicates.
    pub async fn rejoined(&self, broker: i32) -> bool {
        match self.live_brokers().await {
            Ok(live) if live.contains(&broker) => self.out_of_isr(broker).await.is_ok_and(|n| n == 0),
            _ => false,
        }
    }

    /// Wait until `rejoined(broker)` holds; Err(time waited) after `timeout`.
    pub async fn wait_rejoined(&self, broker: i32, timeout: Duration) -> std::result::Result<(), Duration> {
        wait_until(timeout, || self.rejoined(broker)).await
    }

    pub async fn partition(&self, topic: &str, partition: i32) -> Result<PartitionState> {
        self.partitions(topic)
            .await?
            .into_iter()
            .find(|p| p.partition == partition)
            .ok_or_else(|| Error::infra(format!("topic {topic} has no partition {partition}")))
    }

    /// Create a topic and wait until every partition has a leader and a full ISR.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i32,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication_factor));
        for (k, v) in config {
            topic = topic.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = self
            .admin
            .create_topics([&topic], &opts)
            .await
            .map_err(|e| Error::infra(format!("cannot create topic {name}: {e}")))?;
        for result in results {
            if let Err((topic, code)) = result {
                return Err(Error::infra(format!("cannot create topic {topic}: {code}")));
            }
        }
        let rf = replication_factor as usize;
        wait_until(Duration::from_secs(60), || async {
            match self.partitions(name).await {
                Ok(parts) => {
                    parts.len() == partitions as usize
                        && parts.iter().all(|p| p.leader.is_some() && p.isr.len() == rf)
                }
                Err(_) => false,
            }
        })
        .await
        .map_err(|waited| {
            Error::infra(format!("topic {name} not fully replicated after {} s", waited.as_secs()))
        })
    }

    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        self.admin
            .delete_topics(&[name], &opts)
            .await
            .map_err(|e| Error::infra(format!("cannot delete topic {name}: {e}")))?;
        Ok(())
    }
}

fn sorted(ids: &[i32]) -> Vec<i32> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v
}

/// Poll `condition` every 200 ms until it holds; Err(time waited) after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, mut condition: F) -> std::result::Result<(), Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    loop {
        if condition().await {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
