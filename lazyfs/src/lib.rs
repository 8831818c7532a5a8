//! kafka-chaos-lazyfs: a FUSE passthrough filesystem that can forget every
//! write not made durable, as a power cut would (after Jepsen's lazyfs).
//!
//! * [`durability`]: the undo-record model over the backing directory (no FUSE);
//! * [`fs`]: the `fuser` filesystem calling into it;
//! * [`control`]: the unix-socket control channel (`power-loss`, `status`).

pub mod control;
pub mod durability;
pub mod fs;

pub use durability::{Durability, Report};
