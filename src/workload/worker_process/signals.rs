//! Signals to a worker process, and what /proc says of its threads afterwards.

use super::*;

pub(super) fn signal(running: &Running, sig: Signal) {
    // A reaped pid may belong to another process by now: never signal it.
    if !running.state.reaped.load(Ordering::SeqCst) {
        // An error means the process is gone already, which its reaper reports.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(running.pid as i32), sig);
    }
}

/// Wait until every thread of `pid` is stopped by a signal (or none is), as /proc shows it.
pub(super) async fn wait_stopped(pid: u32, stopped: bool) -> std::result::Result<(), ()> {
    let deadline = Instant::now() + SIGNAL_OBSERVED_WITHIN;
    loop {
        match (threads(pid), stopped) {
            (Threads::Stopped, true) | (Threads::Running, false) => return Ok(()),
            // Gone: a process that exited is as still as it gets.
            (Threads::Gone, _) => return Ok(()),
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The state of a process's threads: SIGSTOP reaches each thread in its own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Threads {
    Stopped,
    Running,
    Some,
    Gone,
}

pub(super) fn threads(pid: u32) -> Threads {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Threads::Gone };
    let (mut stopped, mut running) = (0, 0);
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // Field 3, after the parenthesised command name: R, S, D, T (stopped), t, Z ...
        match stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) {
            Some("T") | Some("t") => stopped += 1,
            Some("Z") | Some("X") => return Threads::Gone,
            Some(_) => running += 1,
            None => {}
        }
    }
    match (stopped, running) {
        (0, 0) => Threads::Gone,
        (_, 0) => Threads::Stopped,
        (0, _) => Threads::Running,
        _ => Threads::Some,
    }
}
