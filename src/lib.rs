//! kafka-chaos: under which settings, and under which failures, does Kafka lose or duplicate
//! messages? Data flows one way: scenario -> plan -> history -> analysis -> reports.

pub mod cli;
pub mod cluster;
pub mod commands;
pub mod error;
pub mod exit_codes;
pub mod history;
pub mod smoke;
pub mod workload;
pub mod model;
pub mod scenario;
pub mod plan;
pub mod report;
pub mod checker;
pub mod history_reader;
pub mod faults;
pub mod judge;
pub mod runner;
pub mod store;
pub mod summary;
