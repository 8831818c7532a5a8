//! How every client authenticates to a cluster that asks for it (SASL, TLS): one neutral
//! description, part of the worker protocol, that each client turns into its own settings. The
//! harness's own librdkafka clients (admin, log reader, lag) use `rdkafka_properties` too, so a
//! cluster that only the workers could reach cannot happen.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount)]
pub enum SecurityProtocol {
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
    #[serde(rename = "SSL")]
    Ssl,
    #[serde(rename = "SASL_PLAINTEXT")]
    SaslPlaintext,
    #[serde(rename = "SASL_SSL")]
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] =
        [SecurityProtocol::Plaintext, SecurityProtocol::Ssl, SecurityProtocol::SaslPlaintext, SecurityProtocol::SaslSsl];

    /// Kafka's own name, the same in every client.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl std::str::FromStr for SecurityProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SecurityProtocol::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = SecurityProtocol::ALL.iter().map(|p| p.as_str()).collect();
            format!("unknown security protocol {s:?}; one of {}", names.join(", "))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumCount)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub const ALL: [SaslMechanism; 3] = [SaslMechanism::Plain, SaslMechanism::ScramSha256, SaslMechanism::ScramSha512];

    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SaslMechanism::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = SaslMechanism::ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown SASL mechanism {s:?}; one of {}", names.join(", "))
        })
    }
}

/// What a client needs to connect: the protocol, and for SASL the mechanism and credentials, for
/// TLS the CA certificates (PEM) to trust beyond the system's. The password is held only in
/// memory and in a worker's stdin; Debug never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    pub protocol: SecurityProtocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslCredentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaslCredentials {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let mut s = f.debug_struct("Security");
        s.field("protocol", &self.protocol);
        if let Some(sasl) = &self.sasl {
            s.field("mechanism", &sasl.mechanism).field("username", &sasl.username).field("password", &"<hidden>");
        }
        s.field("ca_file", &self.ca_file).finish()
    }
}

impl std::fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("SaslCredentials").field("mechanism", &self.mechanism).field("username", &self.username).finish()
    }
}

impl Security {
    /// librdkafka's names for it (CONFIGURATION.md).
    pub fn rdkafka_properties(&self) -> Vec<(&'static str, String)> {
        let mut props = vec![("security.protocol", self.protocol.as_str().to_ascii_lowercase())];
        if let Some(sasl) = &self.sasl {
            props.push(("sasl.mechanisms", sasl.mechanism.as_str().to_string()));
            props.push(("sasl.username", sasl.username.clone()));
            props.push(("sasl.password", sasl.password.clone()));
        }
        if let Some(ca) = &self.ca_file {
            props.push(("ssl.ca.location", ca.clone()));
        }
        props
    }

    /// Adds librdkafka's names for it to `properties`, under any the scenario set itself.
    pub fn add_rdkafka_to(&self, properties: &mut std::collections::BTreeMap<String, String>) {
        for (k, v) in self.rdkafka_properties() {
            properties.entry(k.to_string()).or_insert(v);
        }
    }
}

// `ALL` is written by hand; this makes a variant missing from it a compile error.
const _: () = assert!(SecurityProtocol::ALL.len() == <SecurityProtocol as strum::EnumCount>::COUNT);

// `ALL` is written by hand; this makes a variant missing from it a compile error.
const _: () = assert!(SaslMechanism::ALL.len() == <SaslMechanism as strum::EnumCount>::COUNT);

#[cfg(test)]
mod unit {
    use super::*;

    fn scram() -> Security {
        Security {
            protocol: SecurityProtocol::SaslSsl,
            sasl: Some(SaslCredentials { mechanism: SaslMechanism::ScramSha512, username: "u".into(), password: "p4ss".into() }),
            ca_file: Some("/etc/ca.pem".into()),
        }
    }

    #[test]
    fn the_protocol_json_uses_kafkas_names() {
        let json = serde_json::to_string(&scram()).unwrap();
        assert_eq!(
            json,
            r#"{"protocol":"SASL_SSL","sasl":{"mechanism":"SCRAM-SHA-512","username":"u","password":"p4ss"},"ca_file":"/etc/ca.pem"}"#
        );
        assert_eq!(serde_json::from_str::<Security>(&json).unwrap(), scram());
    }

    #[test]
    fn debug_hides_the_password() {
        assert!(!format!("{:?}", scram()).contains("p4ss"));
        assert!(!format!("{:?}", scram().sasl.unwrap()).contains("p4ss"));
    }

    #[test]
    fn librdkafka_gets_its_own_names() {
        let props = scram().rdkafka_properties();
        assert!(props.contains(&("security.protocol", "sasl_ssl".into())));
        assert!(props.contains(&("sasl.mechanisms", "SCRAM-SHA-512".into())));
        assert!(props.contains(&("ssl.ca.location", "/etc/ca.pem".into())));
        let plain = Security { protocol: SecurityProtocol::Plaintext, sasl: None, ca_file: None };
        assert_eq!(plain.rdkafka_properties(), vec![("security.protocol", "plaintext".to_string())]);
    }

    #[test]
    fn names_parse_back() {
        for p in SecurityProtocol::ALL {
            assert_eq!(p.as_str().parse::<SecurityProtocol>().unwrap(), p);
        }
        for m in SaslMechanism::ALL {
            assert_eq!(m.as_str().parse::<SaslMechanism>().unwrap(), m);
        }
        assert!("SASL".parse::<SecurityProtocol>().unwrap_err().contains("SASL_SSL"));
    }
}
