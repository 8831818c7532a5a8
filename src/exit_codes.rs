//! Every exit code the program uses, in one place (the README's table mirrors this file).

/// Every check held (every expectation, every smoke step).
pub const OK: i32 = 0;
/// A check was violated: an expectation failed, a smoke step could not be verified, or `compare`
/// found a cell that got worse.
pub const VIOLATED: i32 = 1;
/// Invalid input or usage: a bad scenario, a malformed history, a wrong flag.
pub const INVALID_INPUT: i32 = 2;
/// No verdict: the infrastructure failed (no Docker engine, no image, a cluster that would not
/// start), a cell lacks the evidence a verdict needs, or `compare` found NEW incomplete. A run with a
/// violated expectation exits `VIOLATED` even so.
pub const INFRASTRUCTURE: i32 = 3;
/// Interrupted by Ctrl-C (128 + SIGINT), after cleaning up.
pub const INTERRUPTED: i32 = 130;
