//! The container cluster behind the `Cluster` trait the runner knows.

use super::*;

#[async_trait::async_trait]
impl Cluster for ContainerCluster {
    fn describe(&self) -> String {
        format!("containers, image {}", self.image)
    }

    fn bootstrap_servers(&self) -> String {
        bootstrap_of(&self.nodes)
    }

    fn security(&self) -> Option<&Security> {
        self.security.as_ref()
    }

    fn node_label(&self, id: i32) -> String {
        self.node(id).map(|n| n.label()).unwrap_or_else(|_| format!("node-{id}"))
    }

    fn broker_ids(&self) -> Vec<i32> {
        self.brokers().map(|n| n.id).collect()
    }

    fn voters(&self) -> Vec<i32> {
        self.nodes.iter().filter(|n| n.role != NodeRole::Broker).map(|n| n.id).collect()
    }

    fn can(&self, _: Ability) -> bool {
        true
    }

    async fn perform(&self, ability: Ability, id: i32) -> Result<Observed> {
        let took = match ability {
            Ability::Kill => self.kill(id).await?,
            Ability::Stop => self.stop(id).await?,
            Ability::Restart => return self.restart(id).await,
            Ability::Pause => self.pause(id).await?,
            Ability::Resume => return self.resume(id).await,
            Ability::Isolate => self.isolate(id).await?,
            Ability::Heal => return self.heal(id).await,
            Ability::PowerLoss => return self.power_loss(id, true).await,
            Ability::PowerLossControl => return self.power_loss(id, false).await,
        };
        Ok(Observed { took, how: String::new(), ..Observed::default() })
    }

    fn faulted(&self) -> Vec<(i32, FaultActionKind)> {
        self.faulted_states()
            .into_iter()
            .filter_map(|(id, state)| {
                let action = match state {
                    NodeState::Running => return None,
                    NodeState::Faulted(action) => action,
                    NodeState::SigStopped => FaultActionKind::Pause,
                };
                Some((id, action))
            })
            .collect()
    }

    async fn active_controller(&self) -> Result<i32> {
        ContainerCluster::active_controller(self).await
    }

    async fn check_health(&self) -> std::result::Result<(), String> {
        ContainerCluster::check_health(self).await
    }

    fn topology(&self) -> Result<Topology> {
        self.running_topology()
    }
}
