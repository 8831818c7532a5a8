//! One file per subcommand. Each returns the exit code for a normal outcome, or an `Error` whose
//! exit code main maps.

pub mod analyze;
pub mod check;
pub mod clean;
pub mod cluster;
pub mod compare;
pub mod doctor;
pub mod report;
pub mod run;
pub mod worker;
