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

/// How to start workers: where each client's worker lives, and where their stderr goes.
#[derive(Debug, Clone)]
pub struct WorkerLauncher {
    /// The kafka-chaos binary, whose `worker` command is the rdkafka worker
    /// (`std::env::current_exe()` in the runner; tests pass `env!("CARGO_BIN_EXE_kafka-chaos")`).
    pub exe: PathBuf,
    /// Where the other clients' workers are built (`workers/` of the repository).
    pub workers_dir: PathBuf,
    /// Append each worker's stderr to `<dir>/<role>-<id>.log`; None inherits the runner's.
    pub stderr_dir: Option<PathBuf>,
    /// `[workload] launch`: start each worker through this template (`ssh host {command}`).
    pub launch: Option<String>,
}

/// Overrides where the Go and Java workers are looked for.
pub const WORKERS_DIR_ENV: &str = "KAFKA_CHAOS_WORKERS";

impl WorkerLauncher {
    pub fn new(exe: impl Into<PathBuf>) -> WorkerLauncher {
        let exe = exe.into();
        let workers_dir = workers_dir_for(&exe);
        WorkerLauncher { exe, workers_dir, stderr_dir: None, launch: None }
    }

    pub fn current_exe() -> Result<WorkerLauncher> {
        std::env::current_exe()
            .map(WorkerLauncher::new)
            .map_err(|e| Error::io("cannot find the kafka-chaos executable to start workers", e))
    }

    pub fn stderr_to(mut self, dir: impl Into<PathBuf>) -> WorkerLauncher {
        self.stderr_dir = Some(dir.into());
        self
    }

    pub fn launched_through(mut self, launch: Option<String>) -> WorkerLauncher {
        self.launch = launch;
        self
    }

    /// The program and arguments that start `client`'s worker: its own command line, or that
    /// line, shell-quoted, in the launch template, run with `sh -c`.
    pub fn command(&self, client: ClientKind) -> Result<(PathBuf, Vec<String>)> {
        let (program, args) = self.worker_command(client)?;
        let Some(template) = &self.launch else { return Ok((program, args)) };
        let words: Vec<String> = std::iter::once(program.display().to_string()).chain(args).collect();
        let line = shlex::try_join(words.iter().map(String::as_str))
            .map_err(|e| Error::Invalid(format!("the {client} worker's command cannot be quoted for launch: {e}")))?;
        let vars = [("command".to_string(), line)].into_iter().collect();
        Ok((PathBuf::from("sh"), vec!["-c".into(), crate::model::template::fill(template, &vars)]))
    }

    /// The program and arguments of `client`'s worker; Err says how to build a missing one.
    pub(crate) fn worker_command(&self, client: ClientKind) -> Result<(PathBuf, Vec<String>)> {
        let built = |path: PathBuf, build: &str| {
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::infra(format!(
                    "the {client} worker is not built ({} is missing); build it with `{build}`, or set {WORKERS_DIR_ENV} to the workers/ directory that has it",
                    path.display()
                )))
            }
        };
        match client {
            ClientKind::Rdkafka => Ok((self.exe.clone(), vec!["worker".into()])),
            ClientKind::Sarama => {
                Ok((built(self.workers_dir.join("sarama/sarama-worker"), "make workers")?, Vec::new()))
            }
            ClientKind::Java => {
                let jar = built(self.workers_dir.join("java/target/kafka-chaos-worker.jar"), "make workers")?;
                // A quick start on two cores: the client's own code, not the JIT, is under test.
                let jvm = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-jar"];
                let mut args: Vec<String> = jvm.iter().map(|a| a.to_string()).collect();
                args.push(jar.display().to_string());
                Ok((PathBuf::from("java"), args))
            }
        }
    }
}

impl WorkerLauncher {
    /// Start `client`'s worker with an empty config, which every worker must refuse with exit 2
    /// (docs/worker-protocol.md): proof that it is built and its runtime starts. Returns what was
    /// run and how long it took.
    pub fn probe(&self, client: ClientKind) -> Result<String> {
        let (program, args) = self.command(client)?;
        let started = Instant::now();
        let mut child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io(format!("cannot start {}", program.display()), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"{}\n");
        }
        let deadline = started + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| Error::io("cannot wait for a worker", e))? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::infra(format!(
                    "{} did not answer an empty config within 30 s",
                    program.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let line = format!("{} {}", program.display(), args.join(" "));
        match status.code() {
            Some(2) => Ok(format!("{} (starts and refuses an empty config in {:.1} s)", line.trim(), started.elapsed().as_secs_f64())),
            other => Err(Error::infra(format!(
                "{} answered an empty config with {} instead of exit 2 (its stderr is in cells/<cell>/*.log of a run)",
                line.trim(),
                other.map_or("a signal".to_string(), |c| format!("exit {c}"))
            ))),
        }
    }
}

/// `$KAFKA_CHAOS_WORKERS`, else `workers/` of the repository the binary was built in
/// (`target/<profile>/kafka-chaos`), else `./workers`.
fn workers_dir_for(exe: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os(WORKERS_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let beside_target = exe.ancestors().nth(3).map(|repo| repo.join("workers"));
    match beside_target {
        Some(dir) if dir.is_dir() => dir,
        _ => PathBuf::from("workers"),
    }
}

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
}

impl ProducerTracker {
    fn new(partitions: i32) -> ProducerTracker {
        ProducerTracker {
            in_flight: Mutex::new(BTreeMap::new()),
            next_seq: AtomicU64::new(0),
            progress: Arc::new(ProducerProgress::new(partitions)),
        }
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
            producer: Arc::new(ProducerTracker::new(config.partitions)),
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

fn signal(running: &Running, sig: Signal) {
    // A reaped pid may belong to another process by now: never signal it.
    if !running.state.reaped.load(Ordering::SeqCst) {
        // An error means the process is gone already, which its reaper reports.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(running.pid as i32), sig);
    }
}

/// Wait until every thread of `pid` is stopped by a signal (or none is), as /proc shows it.
async fn wait_stopped(pid: u32, stopped: bool) -> std::result::Result<(), ()> {
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
enum Threads {
    Stopped,
    Running,
    Some,
    Gone,
}

fn threads(pid: u32) -> Threads {
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

fn worker_event(role: Role, id: u32, state: &str) -> Event {
    Event::Worker(WorkerEvent { time_ms: 0.0, role: role.as_str().into(), id, state: state.into() })
}

/// Reads one child's stdout until it closes, then reaps the child and reports how it ended.
struct Supervisor {
    id: u32,
    role: Role,
    events: EventSender,
    state: Arc<ChildState>,
    phase: watch::Sender<Phase>,
    processed: Arc<AtomicU64>,
    consumer_state: Arc<Mutex<ConsumerState>>,
    producer: Arc<ProducerTracker>,
}

impl Supervisor {
    async fn run(
        self,
        mut child: Child,
        mut stdout: tokio::process::ChildStdout,
        mut syncs: tokio::sync::mpsc::UnboundedReceiver<SyncRequest>,
    ) {
        let fd = stdout.as_raw_fd();
        let mut buffer = vec![0u8; 64 << 10];
        let mut partial: Vec<u8> = Vec::new();
        loop {
            tokio::select! {
                read = stdout.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.bytes(&buffer[..n], &mut partial),
                },
                Some(reply) = syncs.recv() => {
                    // The worker is stopped: what its pipe holds is all it wrote.
                    while bytes_available(fd) > 0 {
                        match stdout.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => self.bytes(&buffer[..n], &mut partial),
                        }
                    }
                    let _ = reply.send(partial.is_empty());
                }
            }
        }
        if !partial.is_empty() {
            let line = String::from_utf8_lossy(&partial).into_owned();
            self.line(&line, self.stamp());
        }
        let status = tokio::task::spawn_blocking(move || child.wait()).await;
        self.state.reaped.store(true, Ordering::SeqCst);
        let status = match status {
            Ok(Ok(status)) => Some(status),
            _ => None,
        };
        self.ended(status);
        self.phase.send_modify(|p| p.exited = true);
    }

    /// Lines read after a SIGKILL were written before it.
    fn stamp(&self) -> Instant {
        match *self.state.ending.lock().unwrap() {
            Some((Ending::Killed, killed_at)) => Instant::now().min(killed_at),
            _ => Instant::now(),
        }
    }

    fn bytes(&self, bytes: &[u8], partial: &mut Vec<u8>) {
        partial.extend_from_slice(bytes);
        let Some(last) = partial.iter().rposition(|&b| b == b'\n') else { return };
        let at = self.stamp();
        let complete: Vec<u8> = partial.drain(..=last).collect();
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.line(&String::from_utf8_lossy(line), at);
        }
    }

    fn send(&self, at: Instant, event: Event) {
        let _ = self.events.send(TimedEvent { at, event });
    }

    fn line(&self, line: &str, at: Instant) {
        let (id, role) = (self.id, self.role);
        let parsed: WorkerLine = match serde_json::from_str(line) {
            Ok(parsed) => parsed,
            Err(_) => {
                let text = format!("{role} {id} wrote a line that is not a worker event: {}", truncate(line, 200));
                return self.send(at, Event::note(text));
            }
        };
        match parsed {
            WorkerLine::Ready { .. } => {
                self.phase.send_modify(|p| p.ready = true);
                self.send(at, worker_event(role, id, "ready"));
            }
            WorkerLine::Sending { seq, partition } => self.producer.sending(seq, partition),
            WorkerLine::Outcome { seq, outcome, partition, offset, latency_ms, status, error, why } => {
                let report = Report { seq, outcome, partition, offset, status, latency_ms, error, why };
                if self.producer.outcome(&report) {
                    self.send(at, Event::Send(send_event(id, report)));
                } else {
                    self.send(at, Event::note(format!("{role} {id} reported a second outcome for seq {seq}; it is ignored")));
                }
            }
            WorkerLine::Processed { producer, seq, partition, offset } => {
                self.processed.fetch_add(1, Ordering::Relaxed);
                self.consumer_state.lock().unwrap().processed(partition, offset);
                let event = ProcessedEvent { time_ms: 0.0, consumer: id, producer, seq, partition, offset };
                self.send(at, Event::Processed(event));
            }
            WorkerLine::Foreign { partition, offset, detail } => {
                let text = format!("consumer {id} processed a record not of this run at partition {partition} offset {offset}: {detail}");
                self.send(at, Event::note(text));
            }
            WorkerLine::Committing { partition, offset } => {
                self.consumer_state.lock().unwrap().committing(partition, offset);
                let event = CommitEvent { time_ms: 0.0, consumer: id, partition, offset, committing: true, error: None };
                self.send(at, Event::Commit(event));
            }
            WorkerLine::Commit { partition, offset, error } => {
                if error.is_none() {
                    self.consumer_state.lock().unwrap().committed(partition, offset);
                }
                let event = CommitEvent { time_ms: 0.0, consumer: id, partition, offset, committing: false, error };
                self.send(at, Event::Commit(event));
            }
            WorkerLine::Rebalance { kind, partitions } => {
                match kind.as_str() {
                    "assign" => self.consumer_state.lock().unwrap().assign(&partitions),
                    "revoke" => self.consumer_state.lock().unwrap().revoke(&partitions),
                    _ => {}
                }
                self.send(at, Event::Rebalance(RebalanceEvent { time_ms: 0.0, consumer: id, kind, partitions }));
            }
            WorkerLine::Error { message } => {
                self.send(at, Event::note(format!("{role} {id}: {message}")));
            }
            // The exit that follows is reported by `ended`.
            WorkerLine::Stopped { .. } => {}
        }
    }

    fn ended(&self, status: Option<ExitStatus>) {
        let (id, role) = (self.id, self.role);
        let ending = *self.state.ending.lock().unwrap();
        let now = Instant::now();
        // A producer's messages still in flight have no outcome and never will.
        let killed = matches!(ending, Some((Ending::Killed, _)));
        let at_end = match ending {
            Some((Ending::Killed, at)) => at,
            _ => now,
        };
        for (seq, partition) in self.producer.abandon() {
            let why = if killed { NO_REPORT_KILLED } else { NO_REPORT_EXITED };
            let report = Report {
                seq,
                outcome: SendOutcome::Unknown,
                partition,
                offset: None,
                status: None,
                latency_ms: None,
                error: None,
                why: Some(why.into()),
            };
            self.send(at_end, Event::Send(send_event(id, report)));
        }
        match (ending, status) {
            (Some((Ending::Killed, at)), _) => self.send(at, worker_event(role, id, "killed")),
            (Some((Ending::Stopping, _)), Some(s)) if s.success() => self.send(now, worker_event(role, id, "stopped")),
            // A producer ends by itself when its duration is over.
            (None, Some(s)) if s.success() && role == Role::Producer => self.send(now, worker_event(role, id, "stopped")),
            (_, status) => {
                let how = status.map(describe).unwrap_or_else(|| "with an unknown status".into());
                self.send(now, worker_event(role, id, "exited"));
                let text = format!("{role} {id} exited unexpectedly {how}; see its stderr");
                self.send(now, Event::note(text));
            }
        }
    }
}

/// Bytes waiting in a pipe (FIONREAD).
fn bytes_available(fd: std::os::unix::io::RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc == 0 {
        n.max(0) as usize
    } else {
        0
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("with code {code}"),
        (None, Some(sig)) => format!("on signal {sig}"),
        _ => format!("({status})"),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Fork `command` from the one long-lived spawner thread, with the child set to die with us.
fn spawn_child(mut command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died between fork and prctl: the signal will never come.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("the runner exited while starting a worker"));
            }
            Ok(())
        });
    }
    command.process_group(0);
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("worker-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("a thread for spawning workers");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap()
        .send((command, reply_tx))
        .map_err(|_| io::Error::other("the worker spawner thread is gone"))?;
    reply_rx.recv().map_err(|_| io::Error::other("the worker spawner thread is gone"))?
}

#[cfg(test)]
mod launch_tests {
    use super::*;

    #[test]
    fn a_launch_template_gets_the_worker_command_line_quoted() {
        let launcher = WorkerLauncher::new("/opt/kafka chaos/kafka-chaos").launched_through(Some("ssh loadgen-1 {command}".into()));
        let (program, args) = launcher.command(ClientKind::Rdkafka).unwrap();
        assert_eq!(program, PathBuf::from("sh"));
        assert_eq!(args, vec!["-c".to_string(), "ssh loadgen-1 '/opt/kafka chaos/kafka-chaos' worker".to_string()]);
        let local = WorkerLauncher::new("/bin/kc");
        assert_eq!(local.command(ClientKind::Rdkafka).unwrap(), (PathBuf::from("/bin/kc"), vec!["worker".to_string()]));
    }
}
