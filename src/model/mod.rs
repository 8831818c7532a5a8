//! The shared vocabulary, below every other module: what a fault, a client, a commit mode, a
//! count or a cluster's security is. Nothing here imports the rest of the crate (the layer test
//! in `tests/layers.rs` keeps it so); everything above names these words and matches their
//! tables exhaustively, so that a new row makes the compiler point at every place that must say
//! what it means.

pub mod client;
pub mod commit;
pub mod count;
pub mod environment;
pub mod fault;
pub mod node;
pub mod security;
pub mod suggest;
pub mod template;
pub mod workload;

pub use client::ClientKind;
pub use commit::CommitMode;
pub use count::{Count, Counts};
pub use environment::{Cluster, External, Topic};
pub use node::NodeKind;
pub use fault::{Ability, Fault, FaultActionKind, FaultStep, FaultTarget, FaultTargetKind, Trigger, NO_FAULT};
pub use security::{SaslCredentials, SaslMechanism, Security, SecurityProtocol};
pub use workload::{Isolation, KeyRouting, Transactions, Workload};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word is spelt the same in scenarios and results (serde) as in messages (`as_str`).
    #[test]
    fn serde_names_are_the_as_str_names() {
        fn same<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
            for &x in all {
                assert_eq!(serde_json::to_value(x).unwrap(), name(x));
            }
        }
        same(&ClientKind::ALL, ClientKind::as_str);
        same(&CommitMode::ALL, CommitMode::as_str);
        same(&SecurityProtocol::ALL, SecurityProtocol::as_str);
        same(&SaslMechanism::ALL, SaslMechanism::as_str);
        same(&FaultActionKind::ALL, FaultActionKind::as_str);
        same(&Ability::ALL, Ability::as_str);
        same(&Count::ALL, Count::as_str);
    }
}
