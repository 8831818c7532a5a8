//! The error type every command returns. Each variant knows its exit code; messages are lower case
//! and end with a hint where there is something the user can do.

use crate::exit_codes;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user: scenario, history, flags.
    #[error("{0}")]
    Invalid(String),

    #[error("{path}:{line}: {message}")]
    InvalidLine { path: PathBuf, line: u64, message: String },

    /// Docker engine, image, cluster start, Kafka admin calls.
    #[error("{0}")]
    Infrastructure(String),

    /// A check did not hold (a smoke step, an expectation).
    #[error("{0}")]
    Violated(String),

    #[error("interrupted")]
    Interrupted,

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::InvalidLine { .. } => exit_codes::INVALID_INPUT,
            Error::Infrastructure(_) | Error::Io { .. } => exit_codes::INFRASTRUCTURE,
            Error::Violated(_) => exit_codes::VIOLATED,
            Error::Interrupted => exit_codes::INTERRUPTED,
        }
    }

    pub fn infra(message: impl Into<String>) -> Self {
        Error::Infrastructure(message.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
