//! Fault schedules: what to break, when, and when to heal it. Targets stay symbolic (`leader:0`)
//! until run time, when the runner resolves them against the live cluster; only `random-broker` is
//! drawn earlier, by the plan, from the seed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultActionKind {
    /// SIGKILL; healed by starting it again.
    Kill,
    /// Graceful stop (SIGTERM, then a controlled shutdown); healed by starting it again.
    Stop,
    /// Frozen (cgroup freezer / SIGSTOP); healed by resuming.
    Pause,
    /// Cut from the network; healed by reconnecting. Brokers and controllers only.
    Isolate,
}

impl FaultActionKind {
    pub const ALL: [FaultActionKind; 4] = [
        FaultActionKind::Kill,
        FaultActionKind::Stop,
        FaultActionKind::Pause,
        FaultActionKind::Isolate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultActionKind::Kill => "kill",
            FaultActionKind::Stop => "stop",
            FaultActionKind::Pause => "pause",
            FaultActionKind::Isolate => "isolate",
        }
    }

    /// The verb of the heal: "restart", "resume", "reconnect".
    pub fn heal_verb(self) -> &'static str {
        match self {
            FaultActionKind::Kill | FaultActionKind::Stop => "restart",
            FaultActionKind::Pause => "resume",
            FaultActionKind::Isolate => "reconnect",
        }
    }
}

impl fmt::Display for FaultActionKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultActionKind {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultActionKind, String> {
        FaultActionKind::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown fault action \"{s}\"; use kill, stop, pause or isolate"))
    }
}

/// The kinds of target, without their index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultTargetKind {
    Leader,
    Followers,
    Controller,
    Broker,
    Consumer,
    Producer,
    RandomBroker,
}

impl FaultTargetKind {
    pub const ALL: [FaultTargetKind; 7] = [
        FaultTargetKind::Leader,
        FaultTargetKind::Followers,
        FaultTargetKind::Controller,
        FaultTargetKind::Broker,
        FaultTargetKind::Consumer,
        FaultTargetKind::Producer,
        FaultTargetKind::RandomBroker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultTargetKind::Leader => "leader",
            FaultTargetKind::Followers => "followers",
            FaultTargetKind::Controller => "controller",
            FaultTargetKind::Broker => "broker",
            FaultTargetKind::Consumer => "consumer",
            FaultTargetKind::Producer => "producer",
            FaultTargetKind::RandomBroker => "random-broker",
        }
    }

    pub fn takes_index(self) -> bool {
        !matches!(self, FaultTargetKind::Controller | FaultTargetKind::RandomBroker)
    }

    /// Clients run as processes on this machine, not in containers.
    pub fn is_client(self) -> bool {
        matches!(self, FaultTargetKind::Consumer | FaultTargetKind::Producer)
    }
}

/// What a fault step breaks. Partitions, consumers and producers count from 0; brokers are Kafka
/// node ids, 1..=N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultTarget {
    /// The leader of partition P, as it is when the step fires.
    Leader(u32),
    /// Every follower of partition P, as they are when the step fires.
    Followers(u32),
    /// The active KRaft controller.
    Controller,
    Broker(u32),
    Consumer(u32),
    Producer(u32),
    /// A broker drawn from the seed when the plan is made.
    RandomBroker,
}

impl FaultTarget {
    pub fn kind(self) -> FaultTargetKind {
        match self {
            FaultTarget::Leader(_) => FaultTargetKind::Leader,
            FaultTarget::Followers(_) => FaultTargetKind::Followers,
            FaultTarget::Controller => FaultTargetKind::Controller,
            FaultTarget::Broker(_) => FaultTargetKind::Broker,
            FaultTarget::Consumer(_) => FaultTargetKind::Consumer,
            FaultTarget::Producer(_) => FaultTargetKind::Producer,
            FaultTarget::RandomBroker => FaultTargetKind::RandomBroker,
        }
    }

    pub fn index(self) -> Option<u32> {
        match self {
            FaultTarget::Leader(i)
            | FaultTarget::Followers(i)
            | FaultTarget::Broker(i)
            | FaultTarget::Consumer(i)
            | FaultTarget::Producer(i) => Some(i),
            FaultTarget::Controller | FaultTarget::RandomBroker => None,
        }
    }

    fn with_index(kind: FaultTargetKind, index: u32) -> FaultTarget {
        match kind {
            FaultTargetKind::Leader => FaultTarget::Leader(index),
            FaultTargetKind::Followers => FaultTarget::Followers(index),
            FaultTargetKind::Broker => FaultTarget::Broker(index),
            FaultTargetKind::Consumer => FaultTarget::Consumer(index),
            FaultTargetKind::Producer => FaultTarget::Producer(index),
            FaultTargetKind::Controller => FaultTarget::Controller,
            FaultTargetKind::RandomBroker => FaultTarget::RandomBroker,
        }
    }
}

const TARGET_HINT: &str = "use leader:P, followers:P, controller, broker:N, consumer:N, producer:N or random-broker";

impl FromStr for FaultTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultTarget, String> {
        let (name, index) = match s.split_once(':') {
            Some((name, index)) => (name, Some(index)),
            None => (s, None),
        };
        let kind = FaultTargetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| format!("unknown fault target \"{s}\"; {TARGET_HINT}"))?;
        match (kind.takes_index(), index) {
            (true, Some(index)) => index
                .parse::<u32>()
                .map(|i| FaultTarget::with_index(kind, i))
                .map_err(|_| format!("fault target \"{s}\" needs a number after the colon, e.g. {name}:0")),
            (true, None) => Err(format!(
                "fault target \"{s}\" needs an index, e.g. {name}:{}",
                if kind == FaultTargetKind::Broker { 1 } else { 0 }
            )),
            (false, Some(_)) => Err(format!("fault target \"{name}\" takes no index; write \"{name}\"")),
            (false, None) => Ok(FaultTarget::with_index(kind, 0)),
        }
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.index() {
            Some(i) => write!(f, "{}:{i}", self.kind().as_str()),
            None => f.write_str(self.kind().as_str()),
        }
    }
}

impl Serialize for FaultTarget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a target's index is checked against.
#[derive(Debug, Clone, Copy)]
pub struct TargetBounds {
    pub brokers: u32,
    pub partitions: u32,
    pub replication_factor: u32,
    pub consumers: u32,
    pub producers: u32,
}

impl FaultTarget {
    /// Reject an index beyond what the scenario has, and targets the action cannot reach.
    pub fn check(self, action: FaultActionKind, bounds: &TargetBounds) -> Result<(), String> {
        let out_of_range = |what: &str, count: u32, first: u32| {
            let last = (first + count).saturating_sub(1);
            let range = if count == 0 {
                format!("there are no {what}s")
            } else {
                format!("{what}s are {first}..={last}")
            };
            format!("fault target \"{self}\" is out of range: {range}")
        };
        match self {
            FaultTarget::Leader(p) | FaultTarget::Followers(p) if p >= bounds.partitions => {
                return Err(out_of_range("partition", bounds.partitions, 0))
            }
            FaultTarget::Followers(_) if bounds.replication_factor < 2 => {
                return Err(format!(
                    "fault target \"{self}\" has no followers with replication factor {}; raise \
                     [topic] replication_factor or target the leader",
                    bounds.replication_factor
                ))
            }
            FaultTarget::Broker(b) if b == 0 || b > bounds.brokers => {
                return Err(out_of_range("broker", bounds.brokers, 1))
            }
            FaultTarget::Consumer(c) if c >= bounds.consumers => {
                return Err(out_of_range("consumer", bounds.consumers, 0))
            }
            FaultTarget::Producer(p) if p >= bounds.producers => {
                return Err(out_of_range("producer", bounds.producers, 0))
            }
            _ => {}
        }
        if action == FaultActionKind::Isolate && self.kind().is_client() {
            return Err(format!(
                "clients run on this machine and cannot be isolated; kill, stop or pause \"{self}\" instead"
            ));
        }
        Ok(())
    }
}

/// One step of a schedule. Times are milliseconds since the producers started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultStep {
    pub at_ms: u64,
    pub action: FaultActionKind,
    pub target: FaultTarget,
    /// Heal this long after `at_ms`; None: heal at the end of the run.
    pub heal_after_ms: Option<u64>,
    /// Set by the plan when it drew `target` from the seed: the target as written
    /// (`random-broker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn_from: Option<FaultTarget>,
}

impl FaultStep {
    pub fn heal_at_ms(&self) -> Option<u64> {
        self.heal_after_ms.map(|h| self.at_ms + h)
    }

    /// The target as the scenario wrote it (for histories and reports).
    pub fn written_target(&self) -> FaultTarget {
        self.drawn_from.unwrap_or(self.target)
    }
}

/// A named fault schedule (`[faults.NAME]`), steps ordered by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub name: String,
    pub steps: Vec<FaultStep>,
}

/// The matrix value that means "no faults in this cell".
pub const NO_FAULT: &str = "none";

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> TargetBounds {
        TargetBounds {
            brokers: 3,
            partitions: 3,
            replication_factor: 3,
            consumers: 2,
            producers: 1,
        }
    }

    #[test]
    fn targets_parse_and_print() {
        for s in [
            "leader:0",
            "followers:2",
            "controller",
            "broker:3",
            "consumer:1",
            "producer:0",
            "random-broker",
        ] {
            assert_eq!(s.parse::<FaultTarget>().unwrap().to_string(), s);
        }
        assert!("leader".parse::<FaultTarget>().unwrap_err().contains("needs an index"));
        assert!("controller:1"
            .parse::<FaultTarget>()
            .unwrap_err()
            .contains("takes no index"));
        assert!("zookeeper:1"
            .parse::<FaultTarget>()
            .unwrap_err()
            .starts_with("unknown fault target"));
        assert!("broker:x".parse::<FaultTarget>().is_err());
    }

    #[test]
    fn indices_are_checked_against_the_scenario() {
        let kill = FaultActionKind::Kill;
        assert!(FaultTarget::Broker(3).check(kill, &bounds()).is_ok());
        assert_eq!(
            FaultTarget::Broker(4).check(kill, &bounds()).unwrap_err(),
            "fault target \"broker:4\" is out of range: brokers are 1..=3"
        );
        assert!(FaultTarget::Broker(0).check(kill, &bounds()).is_err());
        assert!(FaultTarget::Consumer(5).check(kill, &bounds()).is_err());
        assert!(FaultTarget::Leader(7).check(kill, &bounds()).is_err());
        assert!(FaultTarget::Producer(1).check(kill, &bounds()).is_err());
        assert!(FaultTarget::Consumer(0)
            .check(FaultActionKind::Isolate, &bounds())
            .is_err());
        let single = TargetBounds {
            replication_factor: 1,
            ..bounds()
        };
        assert!(FaultTarget::Followers(0)
            .check(FaultActionKind::Pause, &single)
            .is_err());
    }

    #[test]
    fn targets_serialize_as_strings() {
        let step = FaultStep {
            at_ms: 10_000,
            action: FaultActionKind::Pause,
            target: FaultTarget::Followers(0),
            heal_after_ms: Some(5_000),
            drawn_from: None,
        };
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(
            json,
            r#"{"at_ms":10000,"action":"pause","target":"followers:0","heal_after_ms":5000}"#
        );
        assert_eq!(serde_json::from_str::<FaultStep>(&json).unwrap(), step);
        assert_eq!(step.heal_at_ms(), Some(15_000));
    }
}
