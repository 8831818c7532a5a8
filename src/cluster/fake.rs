//! A cluster in memory, for testing the runner without Docker: three brokers, broker 1 leads
//! every partition, every ability works unless told to fail, and the group's lag is whatever the
//! test sets. It records what was done to it.

use super::interface::{Cluster, Observed};
use super::topology::{PartitionState, Topology};
use crate::error::{Error, Result};
use crate::model::{Ability, FaultActionKind};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct FakeCluster {
    /// Abilities that fail when used.
    pub failing: BTreeSet<Ability>,
    /// What `lag` answers.
    pub lag: u64,
    /// Every ability used, in order, with its node, and whether it worked.
    pub performed: Mutex<Vec<(Ability, i32, bool)>>,
    faults: Mutex<BTreeMap<i32, FaultActionKind>>,
}

impl FakeCluster {
    pub fn failing(abilities: &[Ability]) -> FakeCluster {
        FakeCluster { failing: abilities.iter().copied().collect(), ..FakeCluster::default() }
    }

    pub fn behind(lag: u64) -> FakeCluster {
        FakeCluster { lag, ..FakeCluster::default() }
    }
}

#[async_trait]
impl Cluster for FakeCluster {
    fn describe(&self) -> String {
        "a fake cluster".into()
    }

    fn bootstrap_servers(&self) -> String {
        "fake:9092".into()
    }

    fn node_label(&self, id: i32) -> String {
        crate::model::NodeKind::Broker.label(id)
    }

    fn broker_ids(&self) -> Vec<i32> {
        vec![1, 2, 3]
    }

    fn can(&self, _: Ability) -> bool {
        true
    }

    async fn perform(&self, ability: Ability, id: i32) -> Result<Observed> {
        let works = !self.failing.contains(&ability);
        self.performed.lock().unwrap().push((ability, id, works));
        if !works {
            return Err(Error::infra(format!("the fake cluster was told to fail {ability}")));
        }
        let mut faults = self.faults.lock().unwrap();
        match ability.action_it_breaks() {
            Some(action) => faults.insert(id, action),
            None => faults.remove(&id),
        };
        Ok(Observed { took: Duration::from_millis(1), how: String::new(), ..Observed::default() })
    }

    fn faulted(&self) -> Vec<(i32, FaultActionKind)> {
        self.faults.lock().unwrap().iter().map(|(id, a)| (*id, *a)).collect()
    }

    async fn active_controller(&self) -> Result<i32> {
        Ok(1)
    }

    async fn check_health(&self) -> std::result::Result<(), String> {
        match self.faulted().is_empty() {
            true => Ok(()),
            false => Err(format!("faults still in force: {:?}", self.faulted())),
        }
    }

    fn topology(&self) -> Result<Topology> {
        Err(Error::infra("the fake cluster has no brokers to ask"))
    }

    async fn partition(&self, _: &str, partition: i32) -> Result<PartitionState> {
        Ok(PartitionState { partition, leader: Some(1), replicas: vec![1, 2, 3], isr: vec![1, 2, 3] })
    }

    async fn create_topic(&self, _: &str, _: i32, _: i32, _: &BTreeMap<String, String>) -> Result<()> {
        Ok(())
    }

    async fn delete_topic(&self, _: &str) -> Result<()> {
        Ok(())
    }

    /// One partition of 100 records, `lag` of them not committed.
    async fn group_lag(&self, _: &str, _: &str) -> Result<crate::workload::GroupLag> {
        let committed = 100 - self.lag as i64;
        let partition = crate::workload::PartitionLag { partition: 0, committed: Some(committed), low: 0, high: 100, lag: self.lag as i64 };
        Ok(crate::workload::GroupLag { partitions: vec![partition], total: self.lag as i64 })
    }
}
