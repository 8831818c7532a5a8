//! The runner's handle on one worker process (a producer or a consumer of any client, speaking
//! the worker protocol): spawn it and hand it its config, turn its stdout lines into events,
//! SIGKILL it (a crash), SIGTERM it (a graceful stop), SIGSTOP/SIGCONT it (a pause, or a freeze to
//! read its state exactly), restart it with the same id.
//!
//! A producer's messages handed to its client (`sending`) and never answered (`outcome`) become
//! `unknown` when it exits: after a SIGKILL nobody can say whether they were written; nothing is
//! recorded for seqs it never said it was sending.
//!
//! No worker outlives the runner: the handle SIGKILLs its child on drop, and the child asks the
//! kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`). That signal fires when the
//! *thread* that forked the child exits, so children are forked by one long-lived spawner thread,
//! never by a tokio blocking thread that may retire. Workers get their own process group, so a
//! Ctrl-C at the terminal reaches the runner only, which then stops them itself.

use super::consumer_state::ConsumerState;
use super::producer::{send_event, ProducerProgress, Report, NO_REPORT_EXITED, NO_REPORT_KILLED};
use super::protocol::{Line as WorkerLine, Role, WorkerConfig};
use super::{emit, EventSender, TimedEvent};
use crate::error::{Error, Result};
use crate::history::{CommitEvent, Event, ProcessedEvent, RebalanceEvent, SendOutcome, WorkerEvent};
use crate::model::ClientKind;
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::io;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};

mod launcher;
mod signals;
mod spawn;
mod supervisor;
mod transactions;

pub use launcher::{WorkerLauncher, WORKERS_DIR_ENV};
use signals::{signal, wait_stopped};
use spawn::spawn_child;
use supervisor::{worker_event, Supervisor};

/// What the handle knows about its current child, updated by the task reading its stdout.
#[derive(Debug, Clone, Default)]
struct Phase {
    ready: bool,
    exited: bool,
}

/// Why the handle expects the child to end; decides the event written at its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Killed,
    Stopping,
}

struct ChildState {
    ending: Mutex<Option<(Ending, Instant)>>,
    reaped: AtomicBool,
}

/// A request to the task reading the child's stdout: read what the pipe holds now, then answer
/// whether every line was complete. Sent while the child is stopped, so nothing new arrives.
type SyncRequest = oneshot::Sender<bool>;

struct Running {
    pid: u32,
    state: Arc<ChildState>,
    phase: watch::Receiver<Phase>,
    sync: tokio::sync::mpsc::UnboundedSender<SyncRequest>,
    /// Stopped by SIGSTOP (a pause, or a freeze to read its state exactly).
    stopped: bool,
    /// Held open: the worker stops gracefully when it closes.
    /// Held open: its end tells the worker to stop (the way to stop one started elsewhere).
    stdin: Option<std::process::ChildStdin>,
}

/// What a producer's lines said: the seqs handed to its client without an outcome yet, the next
/// seq, and its counts. Shared by every process of one producer id.
#[derive(Debug)]
pub struct ProducerTracker {
    in_flight: Mutex<BTreeMap<u64, (Option<i32>, Instant)>>,
    next_seq: AtomicU64,
    pub progress: Arc<ProducerProgress>,
    /// Transactional: the transaction open now.
    open_txn: Mutex<Option<transactions::OpenTxn>>,
    /// Transactional: seqs below this are in ended transactions; a late report of one is moot.
    ended_below: AtomicU64,
    transaction: Option<super::protocol::TransactionConfig>,
}

impl ProducerTracker {
    fn new(partitions: i32, transaction: Option<super::protocol::TransactionConfig>) -> ProducerTracker {
        ProducerTracker {
            in_flight: Mutex::new(BTreeMap::new()),
            next_seq: AtomicU64::new(0),
            progress: Arc::new(ProducerProgress::new(partitions)),
            open_txn: Mutex::new(None),
            ended_below: AtomicU64::new(0),
            transaction,
        }
    }

    /// Messages sent in the transaction open now, if it is one to commit (0 otherwise).
    pub fn open_txn_to_commit(&self) -> u64 {
        let Some(first) = self.open_txn.lock().unwrap().as_ref().map(|t| t.first_seq) else { return 0 };
        match &self.transaction {
            Some(t) if !t.aborts_on_purpose(first) => self.next_seq().saturating_sub(first),
            _ => 0,
        }
    }

    fn txn_begin(&self, first_seq: u64, at: Instant) {
        let open = transactions::OpenTxn { first_seq, began: at, reports: BTreeMap::new() };
        *self.open_txn.lock().unwrap() = Some(open);
    }

    /// Whether `report` is held for its open transaction (or moot, its transaction having
    /// ended): then it is no outcome yet.
    fn held_for_txn(&self, report: &Report) -> bool {
        if report.seq < self.ended_below.load(Ordering::SeqCst) && !self.in_flight.lock().unwrap().contains_key(&report.seq) {
            return true;
        }
        match self.open_txn.lock().unwrap().as_mut() {
            Some(open) if report.seq >= open.first_seq => {
                open.reports.insert(report.seq, report.clone());
                true
            }
            _ => false,
        }
    }

    /// The end of the open transaction: each of its messages' final report, and its event.
    /// None when no transaction was open or it held no message.
    fn txn_end(&self, producer: u32, end: super::transaction::TxnEnd, at: Instant) -> Option<transactions::Ended> {
        let open = self.open_txn.lock().unwrap().take()?;
        if end.last_seq < end.first_seq {
            return None;
        }
        self.ended_below.fetch_max(end.last_seq + 1, Ordering::SeqCst);
        let ended = transactions::end(producer, open, end, &mut self.in_flight.lock().unwrap(), at);
        for r in &ended.reports {
            self.progress.record(r.outcome, r.partition);
        }
        Some(ended)
    }

    /// The transaction left open by a process that died: unknown, with every message of it.
    fn abandon_txn(&self, producer: u32, why: &str, at: Instant) -> Option<transactions::Ended> {
        let first = self.open_txn.lock().unwrap().as_ref()?.first_seq;
        let last = self.next_seq().checked_sub(1).filter(|last| *last >= first);
        let Some(last_seq) = last else {
            self.open_txn.lock().unwrap().take();
            return None;
        };
        let end = super::transaction::TxnEnd {
            first_seq: first,
            last_seq,
            outcome: crate::history::TxnOutcome::Unknown,
            error: None,
            why: Some(why.to_string()),
        };
        self.txn_end(producer, end, at)
    }

    fn sending(&self, seq: u64, partition: Option<i32>) {
        self.in_flight.lock().unwrap().insert(seq, (partition, Instant::now()));
        self.next_seq.fetch_max(seq + 1, Ordering::SeqCst);
        self.progress.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// The report, unless the seq was never said to be sending and is below the next seq: then it
    /// is a second outcome, which the worker must not send (the protocol's rule).
    fn outcome(&self, report: &Report) -> bool {
        let was_in_flight = self.in_flight.lock().unwrap().remove(&report.seq).is_some();
        if !was_in_flight && report.seq < self.next_seq.load(Ordering::SeqCst) {
            return false;
        }
        if !was_in_flight {
            self.next_seq.fetch_max(report.seq + 1, Ordering::SeqCst);
            self.progress.sent.fetch_add(1, Ordering::Relaxed);
        }
        self.progress.record(report.outcome, report.partition);
        true
    }

    /// Every seq still in flight, now without an outcome for good.
    fn abandon(&self) -> Vec<(u64, Option<i32>)> {
        let left = std::mem::take(&mut *self.in_flight.lock().unwrap());
        left.into_iter()
            .map(|(seq, (partition, _))| {
                self.progress.record(SendOutcome::Unknown, None);
                (seq, partition)
            })
            .collect()
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().len()
    }
}

pub struct WorkerProcess {
    config: WorkerConfig,
    client: ClientKind,
    launcher: WorkerLauncher,
    events: EventSender,
    running: Option<Running>,
    processed: Arc<AtomicU64>,
    /// A consumer's state from its lines, for fault conditions; reset with each new process.
    consumer_state: Arc<Mutex<ConsumerState>>,
    /// A producer's seqs and counts, kept across its processes.
    producer: Arc<ProducerTracker>,
    /// A producer sends until this moment, whatever restarts happen.
    deadline: Option<Instant>,
}

/// How long a SIGSTOP or SIGCONT may take to show in /proc.
const SIGNAL_OBSERVED_WITHIN: Duration = Duration::from_secs(5);

impl WorkerProcess {
    /// Start `client`'s worker with `config`. Must be called inside a tokio runtime (its stdout
    /// is read by a task). Emits `Worker{state:"started"}`, then the worker's events as they come.
    pub fn spawn(
        config: WorkerConfig,
        client: ClientKind,
        launcher: WorkerLauncher,
        events: EventSender,
    ) -> Result<WorkerProcess> {
        let deadline = (config.role == Role::Producer).then(|| Instant::now() + Duration::from_millis(config.duration_ms));
        let mut process = WorkerProcess {
            producer: Arc::new(ProducerTracker::new(config.partitions, config.transaction.clone())),
            config,
            client,
            launcher,
            events,
            running: None,
            processed: Arc::new(AtomicU64::new(0)),
            consumer_state: Arc::new(Mutex::new(ConsumerState::default())),
            deadline,
        };
        process.start()?;
        Ok(process)
    }

    pub fn id(&self) -> u32 {
        self.config.id
    }

    /// Whether its lines show every commit (see `ClientKind::reports_commits`).
    pub fn reports_commits(&self) -> bool {
        self.client.reports_commits(self.config.commit)
    }

    pub fn role(&self) -> Role {
        self.config.role
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// A producer's seqs and counts (acks per partition, for fault conditions).
    pub fn producer(&self) -> Arc<ProducerTracker> {
        self.producer.clone()
    }

    /// A producer's next seq: one past the last it said it was sending.
    pub fn next_seq(&self) -> u64 {
        self.producer.next_seq()
    }

    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().filter(|r| !r.phase.borrow().exited).map(|r| r.pid)
    }

    pub fn is_alive(&self) -> bool {
        self.pid().is_some()
    }

    /// True while the process is stopped by a pause (or a freeze).
    pub fn is_paused(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.stopped && !r.phase.borrow().exited)
    }

    /// Records this consumer id reported processed, over all its processes.
    pub fn processed(&self) -> u64 {
        self.processed.load(Ordering::Relaxed)
    }

    /// What the current process's lines said so far.
    pub fn state(&self) -> ConsumerState {
        self.consumer_state.lock().unwrap().clone()
    }

    /// Wait until the worker has subscribed.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let what = match self.config.role {
            Role::Producer => "reported ready",
            _ => "subscribed",
        };
        self.wait_phase(timeout, what, |p| p.ready).await
    }

    /// Wait until the worker is part of the group: it got an assignment, even an empty one (a
    /// group with more consumers than partitions leaves some idle).
    pub async fn wait_joined(&mut self, timeout: Duration) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        let state = self.consumer_state.clone();
        let deadline = Instant::now() + timeout;
        while !state.lock().unwrap().joined {
            if !self.is_alive() {
                return Err(Error::infra(format!("{role} {id} exited before it joined the group; see its stderr")));
            }
            if Instant::now() >= deadline {
                return Err(Error::infra(format!(
                    "{role} {id} has not joined the group after {} s; is the cluster reachable?",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn wait_phase(&mut self, timeout: Duration, what: &str, done: impl Fn(&Phase) -> bool) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        let running = self.running.as_mut().ok_or_else(|| Error::Invalid(format!("{role} {id} is not running")))?;
        let waited = tokio::time::timeout(timeout, running.phase.wait_for(|p| done(p) || p.exited)).await;
        match waited {
            Ok(Ok(p)) if done(&p) => Ok(()),
            Ok(_) => {
                Err(Error::infra(format!("{} {id} exited before it had {what}; see its stderr for the reason", self.config.role)))
            }
            Err(_) => Err(Error::infra(format!(
                "{role} {id} has not {what} after {} s; is the cluster reachable?",
                timeout.as_secs()
            ))),
        }
    }

    /// A crash: SIGKILL, then wait until the process is gone and its output read. Emits
    /// `Worker{state:"killed"}` stamped at the moment of the signal. Works on a paused process.
    pub async fn kill(&mut self) -> Result<()> {
        let Some(running) = self.running.as_mut() else { return Ok(()) };
        if running.phase.borrow().exited {
            return Ok(());
        }
        *running.state.ending.lock().unwrap() = Some((Ending::Killed, Instant::now()));
        signal(running, Signal::SIGKILL);
        let _ = running.phase.wait_for(|p| p.exited).await;
        Ok(())
    }

    /// A graceful stop: SIGTERM (and SIGCONT, should it be paused), wait up to `timeout`, then
    /// SIGKILL. Emits `stopped` (exit 0), or `killed` if it had to be killed.
    pub async fn stop(&mut self, timeout: Duration) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        let Some(running) = self.running.as_mut() else { return Ok(()) };
        if running.phase.borrow().exited {
            return Ok(());
        }
        *running.state.ending.lock().unwrap() = Some((Ending::Stopping, Instant::now()));
        match self.launcher.launch {
            // SIGTERM would end the local ssh or kubectl, not the worker, and cut off its last
            // lines; the end of its stdin reaches the worker itself.
            Some(_) => drop(running.stdin.take()),
            None => signal(running, Signal::SIGTERM),
        }
        if running.stopped {
            signal(running, Signal::SIGCONT);
            running.stopped = false;
        }
        if tokio::time::timeout(timeout, running.phase.wait_for(|p| p.exited)).await.is_ok() {
            return Ok(());
        }
        emit(
            &self.events,
            Event::note(format!("{role} {id} did not stop within {} s of SIGTERM; killing it", timeout.as_secs())),
        );
        *running.state.ending.lock().unwrap() = Some((Ending::Killed, Instant::now()));
        signal(running, Signal::SIGKILL);
        let _ = running.phase.wait_for(|p| p.exited).await;
        Ok(())
    }

    /// A `pause` fault: SIGSTOP, observed when every thread of the process is stopped.
    pub async fn pause(&mut self) -> Result<()> {
        self.sigstop().await?;
        emit(&self.events, worker_event(self.config.role, self.config.id, "paused"));
        Ok(())
    }

    /// Undo `pause`: SIGCONT, observed when no thread is stopped any more.
    pub async fn resume(&mut self) -> Result<()> {
        self.sigcont().await?;
        emit(&self.events, worker_event(self.config.role, self.config.id, "resumed"));
        Ok(())
    }

    /// Stop the worker and read every line it wrote, so `state` is exact for it as it stands.
    /// Returns false when that could not be made sure (the worker had exited, or a line was cut
    /// in half); `thaw` (or `kill`) follows either way.
    pub async fn freeze(&mut self) -> Result<bool> {
        if !self.is_alive() {
            return Ok(false);
        }
        self.sigstop().await?;
        let Some(running) = self.running.as_ref() else { return Ok(false) };
        let (reply, answer) = oneshot::channel();
        if running.sync.send(reply).is_err() {
            return Ok(false);
        }
        Ok(answer.await.unwrap_or(false))
    }

    /// Let a frozen worker go on.
    pub async fn thaw(&mut self) -> Result<()> {
        self.sigcont().await
    }

    async fn sigstop(&mut self) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        let running = self.running.as_mut().ok_or_else(|| Error::Invalid(format!("{role} {id} is not running")))?;
        if running.phase.borrow().exited {
            return Err(Error::infra(format!("{role} {id} has exited; there is nothing to pause")));
        }
        signal(running, Signal::SIGSTOP);
        running.stopped = true;
        let pid = running.pid;
        wait_stopped(pid, true).await.map_err(|_| {
            Error::infra(format!("{role} {id}: SIGSTOP not observed within {} s", SIGNAL_OBSERVED_WITHIN.as_secs()))
        })
    }

    async fn sigcont(&mut self) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        let Some(running) = self.running.as_mut() else { return Ok(()) };
        if running.phase.borrow().exited {
            return Ok(());
        }
        signal(running, Signal::SIGCONT);
        running.stopped = false;
        let pid = running.pid;
        wait_stopped(pid, false).await.map_err(|_| {
            Error::infra(format!("{role} {id}: SIGCONT not observed within {} s", SIGNAL_OBSERVED_WITHIN.as_secs()))
        })
    }

    /// Wait until the current process exits by itself.
    pub async fn wait_exit(&mut self) {
        if let Some(running) = self.running.as_mut() {
            let _ = running.phase.wait_for(|p| p.exited).await;
        }
    }

    /// Start a new process with the same consumer id (after `kill`, `stop` or an exit).
    pub fn restart(&mut self) -> Result<()> {
        if self.is_alive() {
            return Err(Error::Invalid(format!(
                "{} {} is still running; kill or stop it before a restart",
                self.config.role,
                self.config.id
            )));
        }
        self.start()
    }

    fn start(&mut self) -> Result<()> {
        let (id, role) = (self.config.id, self.config.role);
        if let Some(deadline) = self.deadline {
            // A restarted producer continues with the next seq, towards the same end.
            self.config.first_seq = self.producer.next_seq();
            self.config.duration_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64;
        }
        let mut json = serde_json::to_vec(&self.config).expect("worker configs serialize");
        json.push(b'\n');
        let (program, args) = self.launcher.command(self.client)?;
        let mut command = Command::new(&program);
        command.args(&args).stdin(Stdio::piped()).stdout(Stdio::piped());
        match &self.launcher.stderr_dir {
            Some(dir) => {
                let path = dir.join(format!("{role}-{id}.log"));
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                command.stderr(file);
            }
            None => {
                command.stderr(Stdio::inherit());
            }
        }
        let client = self.client;
        let mut child = spawn_child(command)
            .map_err(|e| Error::io(format!("cannot start the {client} {role} worker {id} ({})", program.display()), e))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // One line, then stdin stays open: its end tells the worker the runner is gone. A worker
        // that dies at once closes the pipe: that shows as its exit, not as an error here.
        let _ = stdin.write_all(&json).and_then(|()| stdin.flush());
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout = tokio::process::ChildStdout::from_std(stdout)
            .map_err(|e| Error::io(format!("cannot read the output of {role} worker {id}"), e))?;
        let state = Arc::new(ChildState { ending: Mutex::new(None), reaped: AtomicBool::new(false) });
        let (phase_tx, phase) = watch::channel(Phase::default());
        let (sync, syncs) = tokio::sync::mpsc::unbounded_channel();
        let pid = child.id();
        *self.consumer_state.lock().unwrap() = ConsumerState::default();
        emit(&self.events, worker_event(role, id, "started"));
        let supervisor = Supervisor {
            id,
            role,
            events: self.events.clone(),
            state: state.clone(),
            phase: phase_tx,
            processed: self.processed.clone(),
            consumer_state: self.consumer_state.clone(),
            producer: self.producer.clone(),
        };
        tokio::spawn(supervisor.run(child, stdout, syncs));
        self.running = Some(Running { pid, state, phase, sync, stopped: false, stdin: Some(stdin) });
        Ok(())
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            if !running.phase.borrow().exited {
                signal(running, Signal::SIGKILL);
            }
        }
    }
}
