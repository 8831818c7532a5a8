//! Fault schedules: what to break, when, and when to heal it. Targets stay symbolic (`leader:0`)
//! until run time, when the runner resolves them against the live cluster; only `random-broker` is
//! drawn earlier, by the plan, from the seed.

use super::suggest::or_list;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumCount)]
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
    /// The machine loses power: the broker is SIGKILLed and every write its log directory did
    /// not fsync is discarded (the page cache is gone); healed by starting it on what is left.
    #[serde(rename = "power-loss")]
    PowerLoss,
    /// The control of `power-loss`: the same kill, the unsynced writes kept. A loss that
    /// `power-loss` shows and this does not comes from the page cache, not from the kill.
    #[serde(rename = "power-loss-control")]
    PowerLossControl,
}

/// How a client process on this machine (a producer or consumer worker) takes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFault {
    /// SIGKILL.
    Kill,
    /// SIGTERM: the worker closes its client as an application would.
    Stop,
    /// SIGSTOP (healed by SIGCONT).
    Pause,
}

/// One fault action, everything the layers above need to know of it. `FaultActionKind::row` is
/// the one table: a new action is one row there, and the compiler sends you to the few
/// places that do it (the container cluster's operation, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionRow {
    /// As written in scenarios and histories.
    pub name: &'static str,
    /// What a cluster must be able to do to break a node this way, and to heal it again (the
    /// hook names of an external cluster).
    pub breaks: Ability,
    pub heals: Ability,
    /// The heal as a verb ("restart") and both in the past tense, for reports.
    pub heal_verb: &'static str,
    pub past: &'static str,
    pub healed: &'static str,
    /// How a producer or consumer takes it, or why it cannot.
    pub on_client: Result<ClientFault, &'static str>,
    /// Whether its victims go down (and come back) together whatever their number: a power
    /// cut hits a rack at once.
    pub together: bool,
    /// Whether a container cluster must put the brokers' log directories on the filesystem that
    /// can forget (which needs /dev/fuse and CAP_SYS_ADMIN in those containers, and only there).
    pub forgetful_disk: bool,
}

const NOT_ISOLATED: &str = "clients run on this machine and cannot be isolated; kill, stop or pause them instead";
const NO_POWER: &str = "a power loss is a broker's (its unsynced log writes); kill the client instead";

impl FaultActionKind {
    pub const ALL: [FaultActionKind; 6] = [
        FaultActionKind::Kill,
        FaultActionKind::Stop,
        FaultActionKind::Pause,
        FaultActionKind::Isolate,
        FaultActionKind::PowerLoss,
        FaultActionKind::PowerLossControl,
    ];

    /// The table of actions: one row each.
    pub const fn row(self) -> ActionRow {
        use FaultActionKind as A;
        match self {
            A::Kill => ActionRow {
                name: "kill",
                breaks: Ability::Kill,
                heals: Ability::Restart,
                heal_verb: "restart",
                past: "killed",
                healed: "restarted",
                on_client: Ok(ClientFault::Kill),
                together: false,
                forgetful_disk: false,
            },
            A::Stop => ActionRow {
                name: "stop",
                breaks: Ability::Stop,
                heals: Ability::Restart,
                heal_verb: "restart",
                past: "stopped",
                healed: "restarted",
                on_client: Ok(ClientFault::Stop),
                together: false,
                forgetful_disk: false,
            },
            A::Pause => ActionRow {
                name: "pause",
                breaks: Ability::Pause,
                heals: Ability::Resume,
                heal_verb: "resume",
                past: "paused",
                healed: "resumed",
                on_client: Ok(ClientFault::Pause),
                together: false,
                forgetful_disk: false,
            },
            A::Isolate => ActionRow {
                name: "isolate",
                breaks: Ability::Isolate,
                heals: Ability::Heal,
                heal_verb: "reconnect",
                past: "isolated",
                healed: "reconnected",
                on_client: Err(NOT_ISOLATED),
                together: false,
                forgetful_disk: false,
            },
            A::PowerLoss => ActionRow {
                name: "power-loss",
                breaks: Ability::PowerLoss,
                heals: Ability::Restart,
                heal_verb: "restart",
                past: "lost power",
                healed: "restarted",
                on_client: Err(NO_POWER),
                together: true,
                forgetful_disk: true,
            },
            A::PowerLossControl => ActionRow {
                name: "power-loss-control",
                breaks: Ability::PowerLossControl,
                heals: Ability::Restart,
                heal_verb: "restart",
                past: "killed (control, cache kept)",
                healed: "restarted",
                on_client: Err(NO_POWER),
                together: true,
                forgetful_disk: true,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    pub fn needs_forgetful_disk(self) -> bool {
        self.row().forgetful_disk
    }

    /// The verb of the heal: "restart", "resume", "reconnect".
    pub fn heal_verb(self) -> &'static str {
        self.row().heal_verb
    }

    /// The two abilities a cluster needs for it: to break, and to heal. `check` rejects a node
    /// fault whose two abilities the chosen cluster lacks.
    pub fn abilities(self) -> (Ability, Ability) {
        let row = self.row();
        (row.breaks, row.heals)
    }

    /// Whether the runner can apply this action to this kind of target: the one table `check`
    /// and the runner agree on. Brokers and controllers (containers) take every action; producers
    /// and consumers are worker processes on this machine, which take what `on_client` says.
    pub fn applies_to(self, target: FaultTargetKind) -> Result<(), String> {
        use FaultTargetKind as T;
        match target {
            T::Leader | T::Followers | T::Controller | T::Broker | T::Brokers | T::AllBrokers | T::RandomBroker => Ok(()),
            T::Consumer | T::Producer => self.row().on_client.map(|_| ()).map_err(String::from),
        }
    }
}

// `ALL` is written by hand; these make a variant missing from it a compile error.
const _: () = assert!(FaultActionKind::ALL.len() == <FaultActionKind as strum::EnumCount>::COUNT);
const _: () = assert!(Ability::ALL.len() == <Ability as strum::EnumCount>::COUNT);

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
            .ok_or_else(|| format!("unknown fault action \"{s}\"; use {}", or_list(&FaultActionKind::ALL.map(FaultActionKind::as_str))))
    }
}

/// One thing a cluster can do to a node: a fault or the heal of one. The names are the hook
/// names of an external cluster (`[cluster.hooks] kill = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumCount)]
#[serde(rename_all = "lowercase")]
pub enum Ability {
    Kill,
    Stop,
    /// Start a killed or stopped node again.
    Restart,
    Pause,
    Resume,
    Isolate,
    /// Reconnect an isolated node.
    Heal,
    /// Kill the broker and discard what its log directory did not fsync.
    #[serde(rename = "power-loss")]
    PowerLoss,
    /// Kill the broker as `power-loss` does, keeping what it did not fsync.
    #[serde(rename = "power-loss-control")]
    PowerLossControl,
}

impl Ability {
    pub const ALL: [Ability; 9] = [
        Ability::Kill,
        Ability::Stop,
        Ability::Restart,
        Ability::Pause,
        Ability::Resume,
        Ability::Isolate,
        Ability::Heal,
        Ability::PowerLoss,
        Ability::PowerLossControl,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ability::Kill => "kill",
            Ability::Stop => "stop",
            Ability::Restart => "restart",
            Ability::Pause => "pause",
            Ability::Resume => "resume",
            Ability::Isolate => "isolate",
            Ability::Heal => "heal",
            Ability::PowerLoss => "power-loss",
            Ability::PowerLossControl => "power-loss-control",
        }
    }

    /// The fault action this ability applies (None for a heal).
    pub fn action_it_breaks(self) -> Option<FaultActionKind> {
        FaultActionKind::ALL.into_iter().find(|a| a.abilities().0 == self)
    }

    /// Whether this ability breaks a node (rather than healing one).
    pub fn breaks(self) -> bool {
        self.action_it_breaks().is_some()
    }
}

impl fmt::Display for Ability {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ability {
    type Err = String;

    fn from_str(s: &str) -> Result<Ability, String> {
        Ability::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            format!("unknown hook \"{s}\"; use {}", or_list(&Ability::ALL.map(Ability::as_str)))
        })
    }
}

/// The kinds of target, without their index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::EnumCount)]
pub enum FaultTargetKind {
    Leader,
    Followers,
    Controller,
    Broker,
    Consumer,
    Producer,
    RandomBroker,
    Brokers,
    AllBrokers,
}

impl FaultTargetKind {
    pub const ALL: [FaultTargetKind; 9] = [
        FaultTargetKind::Leader,
        FaultTargetKind::Followers,
        FaultTargetKind::Controller,
        FaultTargetKind::Broker,
        FaultTargetKind::Consumer,
        FaultTargetKind::Producer,
        FaultTargetKind::RandomBroker,
        FaultTargetKind::Brokers,
        FaultTargetKind::AllBrokers,
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
            FaultTargetKind::Brokers => "brokers",
            FaultTargetKind::AllBrokers => "all-brokers",
        }
    }

    pub fn takes_index(self) -> bool {
        !matches!(self, FaultTargetKind::Controller | FaultTargetKind::RandomBroker | FaultTargetKind::AllBrokers)
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
    /// Several brokers at once (a rack or zone): a set of node ids 0..=63, one bit each.
    Brokers(u64),
    /// Every broker of the cluster at once.
    AllBrokers,
}

/// Node ids `brokers:` can name: one bit each in a u64.
pub const MAX_SET_BROKER_ID: u32 = 63;

impl FaultTarget {
    /// The ids of a `brokers:` set, ascending.
    pub fn broker_set(mask: u64) -> Vec<u32> {
        (0..=MAX_SET_BROKER_ID).filter(|i| mask & (1u64 << i) != 0).collect()
    }

    pub fn kind(self) -> FaultTargetKind {
        match self {
            FaultTarget::Leader(_) => FaultTargetKind::Leader,
            FaultTarget::Followers(_) => FaultTargetKind::Followers,
            FaultTarget::Controller => FaultTargetKind::Controller,
            FaultTarget::Broker(_) => FaultTargetKind::Broker,
            FaultTarget::Consumer(_) => FaultTargetKind::Consumer,
            FaultTarget::Producer(_) => FaultTargetKind::Producer,
            FaultTarget::RandomBroker => FaultTargetKind::RandomBroker,
            FaultTarget::Brokers(_) => FaultTargetKind::Brokers,
            FaultTarget::AllBrokers => FaultTargetKind::AllBrokers,
        }
    }

    pub fn index(self) -> Option<u32> {
        match self {
            FaultTarget::Leader(i)
            | FaultTarget::Followers(i)
            | FaultTarget::Broker(i)
            | FaultTarget::Consumer(i)
            | FaultTarget::Producer(i) => Some(i),
            FaultTarget::Controller | FaultTarget::RandomBroker | FaultTarget::Brokers(_) | FaultTarget::AllBrokers => None,
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
            FaultTargetKind::Brokers => FaultTarget::Brokers(1u64 << index.min(MAX_SET_BROKER_ID)),
            FaultTargetKind::AllBrokers => FaultTarget::AllBrokers,
        }
    }
}

const TARGET_HINT: &str =
    "use leader:P, followers:P, controller, broker:N, brokers:N,M,..., all-brokers, consumer:N, producer:N or random-broker";

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
        if let (FaultTargetKind::Brokers, Some(list)) = (kind, index) {
            let mut mask = 0u64;
            for id in list.split(',') {
                let id: u32 = id.trim().parse().map_err(|_| {
                    format!("fault target \"{s}\": brokers:N,M,... takes node ids separated by commas, e.g. brokers:1,2,3")
                })?;
                if id > MAX_SET_BROKER_ID {
                    return Err(format!("fault target \"{s}\": a set names node ids 0..={MAX_SET_BROKER_ID}"));
                }
                if mask & (1u64 << id) != 0 {
                    return Err(format!("fault target \"{s}\" names broker {id} twice"));
                }
                mask |= 1u64 << id;
            }
            return Ok(FaultTarget::Brokers(mask));
        }
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
        if let FaultTarget::Brokers(mask) = self {
            let ids: Vec<String> = FaultTarget::broker_set(*mask).iter().map(u32::to_string).collect();
            return write!(f, "brokers:{}", ids.join(","));
        }
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
#[derive(Debug, Clone)]
pub struct TargetBounds {
    /// The node ids `broker:N` may name.
    pub broker_ids: Vec<u32>,
    pub partitions: u32,
    pub replication_factor: u32,
    pub consumers: u32,
    pub producers: u32,
}

impl TargetBounds {
    /// `1..=3`, or the ids one by one when they are not contiguous.
    fn broker_range(&self) -> String {
        let ids = &self.broker_ids;
        let contiguous = ids.windows(2).all(|w| w[1] == w[0] + 1);
        match (ids.first(), ids.last()) {
            (Some(first), Some(last)) if contiguous => format!("{first}..={last}"),
            _ => ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        }
    }
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
            FaultTarget::Broker(b) if !bounds.broker_ids.contains(&b) => {
                return Err(format!("fault target \"{self}\" is out of range: brokers are {}", bounds.broker_range()));
            }
            FaultTarget::Brokers(mask) => {
                if let Some(b) = FaultTarget::broker_set(mask).into_iter().find(|b| !bounds.broker_ids.contains(b)) {
                    return Err(format!(
                        "fault target \"{self}\" names broker {b}, which is out of range: brokers are {}",
                        bounds.broker_range()
                    ));
                }
            }
            FaultTarget::Consumer(c) if c >= bounds.consumers => {
                return Err(out_of_range("consumer", bounds.consumers, 0))
            }
            FaultTarget::Producer(p) if p >= bounds.producers => {
                return Err(out_of_range("producer", bounds.producers, 0))
            }
            _ => {}
        }
        action.applies_to(self.kind()).map_err(|why| format!("{action} \"{self}\": {why}"))
    }

    /// The partition a condition on acks watches by default: the target's.
    pub fn partition(self) -> Option<u32> {
        match self {
            FaultTarget::Leader(p) | FaultTarget::Followers(p) => Some(p),
            _ => None,
        }
    }

    /// The consumer a condition on commits watches by default: the target's.
    pub fn consumer(self) -> Option<u32> {
        match self {
            FaultTarget::Consumer(c) => Some(c),
            _ => None,
        }
    }

    /// The producer a condition on transactions watches by default: the target's.
    pub fn producer(self) -> Option<u32> {
        match self {
            FaultTarget::Producer(p) => Some(p),
            _ => None,
        }
    }
}

/// What the harness must observe before a step fires: a state, not a time, so the same recipe
/// does the same thing on a fast machine and a slow one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// `count` acknowledgements of writes to `partition` since the previous step took effect
    /// (since the producers started, for a first step). With the followers frozen, these are
    /// writes only the leader has.
    Acked { count: u64, partition: u32 },
    /// Consumer `consumer` holds at least `count` records whose offsets are committed but that
    /// it has not processed: a crash now loses them.
    CommittedNotProcessed { count: u64, consumer: u32 },
    /// Consumer `consumer` has processed at least `count` records whose offsets are not
    /// committed (nor being committed): a crash now makes the group process them again.
    ProcessedNotCommitted { count: u64, consumer: u32 },
    /// Producer `producer` has a transaction open with at least `count` messages sent, one it
    /// means to commit (not one it aborts on purpose): a kill or a pause now lands mid-transaction.
    TxnOpen { count: u64, producer: u32 },
}

impl Trigger {
    /// The consumer whose state the condition is about, if any.
    pub fn consumer(self) -> Option<u32> {
        match self {
            Trigger::Acked { .. } | Trigger::TxnOpen { .. } => None,
            Trigger::CommittedNotProcessed { consumer, .. } | Trigger::ProcessedNotCommitted { consumer, .. } => {
                Some(consumer)
            }
        }
    }

    pub fn count(self) -> u64 {
        match self {
            Trigger::Acked { count, .. }
            | Trigger::CommittedNotProcessed { count, .. }
            | Trigger::ProcessedNotCommitted { count, .. }
            | Trigger::TxnOpen { count, .. } => count,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Trigger::Acked { count, partition } => {
                write!(f, "{count} writes to partition {partition} acked since the previous step")
            }
            Trigger::CommittedNotProcessed { count, consumer } => {
                write!(f, "consumer {consumer} holds {count} committed, unprocessed records")
            }
            Trigger::ProcessedNotCommitted { count, consumer } => {
                write!(f, "consumer {consumer} has {count} processed, uncommitted records")
            }
            Trigger::TxnOpen { count, producer } => {
                write!(f, "producer {producer} has a transaction open with {count} messages, to be committed")
            }
        }
    }
}

/// How long a step may wait for its condition (or the previous heal) by default.
pub const DEFAULT_WITHIN_MS: u64 = 60_000;

fn default_within() -> u64 {
    DEFAULT_WITHIN_MS
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One step of a schedule. Steps run in order: a step fires once the previous one has fired, its
/// time has come (`at_ms`, milliseconds since the producers started), the previous step's heal
/// is done (if `after_heal`) and its condition holds (if `when`), waiting for the last two at
/// most `within_ms`. A step that cannot fire is recorded as such and the steps after it never
/// fire: the cell then has no verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultStep {
    pub at_ms: u64,
    pub action: FaultActionKind,
    pub target: FaultTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Trigger>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub after_heal: bool,
    #[serde(default = "default_within")]
    pub within_ms: u64,
    /// Heal this long after the step took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal_after_ms: Option<u64>,
    /// Heal as soon as the next step has taken effect (e.g. resume frozen followers once their
    /// leader is dead). Without this or `heal_after_ms`: heal at the end of the run.
    #[serde(default, skip_serializing_if = "is_false")]
    pub heal_after_next: bool,
    /// Set by the plan when it drew `target` from the seed: the target as written
    /// (`random-broker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn_from: Option<FaultTarget>,
}

impl FaultStep {
    /// A step that fires at `at_ms` and heals `heal_after_ms` later (None: at the end).
    pub fn timed(at_ms: u64, action: FaultActionKind, target: FaultTarget, heal_after_ms: Option<u64>) -> FaultStep {
        FaultStep {
            at_ms,
            action,
            target,
            when: None,
            after_heal: false,
            within_ms: DEFAULT_WITHIN_MS,
            heal_after_ms,
            heal_after_next: false,
            drawn_from: None,
        }
    }

    /// The heal time if every step fired on time and took effect at once (for estimates and
    /// the planned side of the executed schedule).
    pub fn planned_heal_ms(&self) -> Option<u64> {
        self.heal_after_ms.map(|h| self.at_ms + h)
    }

    /// The target as the scenario wrote it (for histories and reports).
    pub fn written_target(&self) -> FaultTarget {
        self.drawn_from.unwrap_or(self.target)
    }

    /// Whether the step waits for something besides the clock.
    pub fn is_triggered(&self) -> bool {
        self.when.is_some() || self.after_heal
    }

    /// `at 10 s`, `at 6 s, then once consumer 0 holds 300 committed, unprocessed records
    /// (within 20 s)`: when the step fires, in words.
    pub fn firing(&self) -> String {
        let mut s = format!("at {}", seconds(self.at_ms));
        if self.after_heal {
            s.push_str(", once the previous step is healed");
        }
        if let Some(when) = self.when {
            s.push_str(&format!(", then once {when}"));
        }
        if self.is_triggered() {
            s.push_str(&format!(" (within {})", seconds(self.within_ms)));
        }
        s
    }

    /// `restart 6 s after it took effect`, `resume once the next step took effect`, `restart at
    /// the end of the run`.
    pub fn healing(&self) -> String {
        match (self.heal_after_ms, self.heal_after_next) {
            (Some(ms), _) => format!("{} {} after it took effect", self.action.heal_verb(), seconds(ms)),
            (None, true) => format!("{} once the next step took effect", self.action.heal_verb()),
            (None, false) => format!("{} at the end of the run", self.action.heal_verb()),
        }
    }
}

/// `10 s`, `2.5 s`.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
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

// `ALL` is written by hand; this makes a variant missing from it a compile error.
const _: () = assert!(FaultTargetKind::ALL.len() == <FaultTargetKind as strum::EnumCount>::COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_one_row_named_alike_everywhere() {
        for action in FaultActionKind::ALL {
            let row = action.row();
            assert_eq!(serde_json::to_value(action).unwrap(), row.name, "serde and the table agree");
            assert_eq!(row.name.parse::<FaultActionKind>(), Ok(action));
            assert_eq!(row.breaks.action_it_breaks(), Some(action));
            assert!(row.breaks.breaks() && !row.heals.breaks(), "{action}");
            assert!(Ability::ALL.contains(&row.heals));
        }
        for ability in Ability::ALL {
            assert_eq!(serde_json::to_value(ability).unwrap(), ability.as_str());
        }
        let unknown = "crash".parse::<FaultActionKind>().unwrap_err();
        assert!(unknown.ends_with("use kill, stop, pause, isolate, power-loss or power-loss-control"), "{unknown}");
        assert_eq!(FaultActionKind::Isolate.applies_to(FaultTargetKind::Consumer), Err(NOT_ISOLATED.to_string()));
        assert_eq!(FaultActionKind::Pause.row().on_client, Ok(ClientFault::Pause));
    }

    fn bounds() -> TargetBounds {
        TargetBounds {
            broker_ids: vec![1, 2, 3],
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
            "brokers:1,2,3",
            "brokers:0,63",
            "all-brokers",
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
        assert_eq!("brokers:3,1".parse::<FaultTarget>().unwrap().to_string(), "brokers:1,3", "a set, in order");
        assert!("brokers:1,1".parse::<FaultTarget>().unwrap_err().contains("twice"));
        assert!("brokers:64".parse::<FaultTarget>().unwrap_err().contains("0..=63"));
        assert!("brokers:".parse::<FaultTarget>().unwrap_err().contains("separated by commas"));
        assert!("brokers".parse::<FaultTarget>().unwrap_err().contains("needs an index"));
        assert!("all-brokers:1".parse::<FaultTarget>().unwrap_err().contains("takes no index"));
    }

    #[test]
    fn power_loss_is_a_brokers_and_heals_with_a_restart() {
        let set: FaultTarget = "brokers:1,3".parse().unwrap();
        assert!(set.check(FaultActionKind::PowerLoss, &bounds()).is_ok());
        assert_eq!(
            "brokers:1,4".parse::<FaultTarget>().unwrap().check(FaultActionKind::Kill, &bounds()).unwrap_err(),
            "fault target \"brokers:1,4\" names broker 4, which is out of range: brokers are 1..=3"
        );
        assert!(FaultTarget::AllBrokers.check(FaultActionKind::PowerLossControl, &bounds()).is_ok());
        assert!(FaultTarget::Consumer(0).check(FaultActionKind::PowerLoss, &bounds()).unwrap_err().contains("a power loss is a broker's"));
        assert_eq!(FaultActionKind::PowerLoss.abilities(), (Ability::PowerLoss, Ability::Restart));
        assert_eq!(FaultActionKind::PowerLossControl.abilities(), (Ability::PowerLossControl, Ability::Restart));
        for action in FaultActionKind::ALL {
            assert_eq!(action.abilities().0.action_it_breaks(), Some(action));
            assert_eq!(action.as_str().parse::<FaultActionKind>().unwrap(), action);
            assert_eq!(serde_json::to_string(&action).unwrap(), format!("\"{action}\""));
        }
        for ability in Ability::ALL {
            assert_eq!(ability.as_str().parse::<Ability>().unwrap(), ability);
            assert_eq!(ability.breaks(), ability.action_it_breaks().is_some());
        }
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
        assert!(FaultTarget::Consumer(0).check(FaultActionKind::Pause, &bounds()).is_ok());
        assert!(FaultTarget::Producer(0).check(FaultActionKind::Pause, &bounds()).is_ok());
        let single = TargetBounds {
            replication_factor: 1,
            ..bounds()
        };
        assert!(FaultTarget::Followers(0)
            .check(FaultActionKind::Pause, &single)
            .is_err());
    }

    #[test]
    fn every_action_and_target_pair_is_decided() {
        for action in FaultActionKind::ALL {
            for target in FaultTargetKind::ALL {
                let decided = action.applies_to(target);
                if target.is_client() && action == FaultActionKind::Isolate {
                    assert!(decided.is_err());
                }
                if !target.is_client() {
                    assert!(decided.is_ok(), "{action} {target:?}");
                }
            }
        }
    }

    #[test]
    fn targets_serialize_as_strings() {
        let step = FaultStep::timed(10_000, FaultActionKind::Pause, FaultTarget::Followers(0), Some(5_000));
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(
            json,
            r#"{"at_ms":10000,"action":"pause","target":"followers:0","within_ms":60000,"heal_after_ms":5000}"#
        );
        assert_eq!(serde_json::from_str::<FaultStep>(&json).unwrap(), step);
        assert_eq!(step.planned_heal_ms(), Some(15_000));
        let triggered = FaultStep {
            when: Some(Trigger::CommittedNotProcessed { count: 300, consumer: 0 }),
            within_ms: 20_000,
            heal_after_ms: None,
            heal_after_next: true,
            ..step
        };
        let json = serde_json::to_string(&triggered).unwrap();
        assert!(json.contains(r#""when":{"kind":"committed_not_processed","count":300,"consumer":0}"#), "{json}");
        assert_eq!(serde_json::from_str::<FaultStep>(&json).unwrap(), triggered);
        assert_eq!(
            triggered.firing(),
            "at 10 s, then once consumer 0 holds 300 committed, unprocessed records (within 20 s)"
        );
        assert_eq!(triggered.healing(), "resume once the next step took effect");
    }
}
