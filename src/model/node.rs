//! How histories and reports name a Kafka node: `broker-2`, `controller-1001`. Written by the
//! clusters, read back by the checker; the one place both spellings live.

/// What a node is, as far as its name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A broker (combined with a KRaft controller or not).
    Broker,
    /// A dedicated KRaft controller.
    Controller,
}

impl NodeKind {
    fn prefix(self) -> &'static str {
        match self {
            NodeKind::Broker => "broker-",
            NodeKind::Controller => "controller-",
        }
    }

    /// `broker-2`.
    pub fn label(self, id: i32) -> String {
        format!("{}{id}", self.prefix())
    }

    /// The kind and id a label names; None for a label of no node (`consumer-0`).
    pub fn parse(label: &str) -> Option<(NodeKind, i32)> {
        [NodeKind::Broker, NodeKind::Controller]
            .into_iter()
            .find_map(|kind| Some((kind, label.strip_prefix(kind.prefix())?.parse().ok()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_back() {
        assert_eq!(NodeKind::Broker.label(2), "broker-2");
        assert_eq!(NodeKind::parse("controller-1001"), Some((NodeKind::Controller, 1001)));
        assert_eq!(NodeKind::parse("consumer-0"), None);
        assert_eq!(NodeKind::parse("broker-x"), None);
    }
}
