//! Reading a worker's protocol lines and its exit, and turning them into history events.

use super::*;
use crate::workload::transaction::{OPEN_WHEN_EXITED, OPEN_WHEN_KILLED};

pub(super) fn worker_event(role: Role, id: u32, state: &str) -> Event {
    Event::Worker(WorkerEvent { time_ms: 0.0, role: role.as_str().into(), id, state: state.into() })
}

/// Reads one child's stdout until it closes, then reaps the child and reports how it ended.
pub(super) struct Supervisor {
    pub(super) id: u32,
    pub(super) role: Role,
    pub(super) events: EventSender,
    pub(super) state: Arc<ChildState>,
    pub(super) phase: watch::Sender<Phase>,
    pub(super) processed: Arc<AtomicU64>,
    pub(super) consumer_state: Arc<Mutex<ConsumerState>>,
    pub(super) producer: Arc<ProducerTracker>,
}

impl Supervisor {
    pub(super) async fn run(
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
                if self.producer.held_for_txn(&report) {
                    return;
                }
                if self.producer.outcome(&report) {
                    self.send(at, Event::Send(send_event(id, report)));
                } else {
                    self.send(at, Event::note(format!("{role} {id} reported a second outcome for seq {seq}; it is ignored")));
                }
            }
            WorkerLine::TxnBegin { first_seq } => self.producer.txn_begin(first_seq, at),
            WorkerLine::TxnEnd { first_seq, last_seq, outcome, error, why } => {
                let end = crate::workload::transaction::TxnEnd { first_seq, last_seq, outcome, error, why };
                if let Some(ended) = self.producer.txn_end(id, end, at) {
                    self.txn_ended(ended, at);
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

    /// Each message of an ended transaction, then the transaction.
    fn txn_ended(&self, ended: super::transactions::Ended, at: Instant) {
        for report in ended.reports {
            self.send(at, Event::Send(send_event(self.id, report)));
        }
        self.send(at, Event::Txn(ended.event));
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
        let open_why = if killed { OPEN_WHEN_KILLED } else { OPEN_WHEN_EXITED };
        if let Some(ended) = self.producer.abandon_txn(id, open_why, at_end) {
            self.txn_ended(ended, at_end);
        }
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
pub(super) fn bytes_available(fd: std::os::unix::io::RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if rc == 0 {
        n.max(0) as usize
    } else {
        0
    }
}

pub(super) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("with code {code}"),
        (None, Some(sig)) => format!("on signal {sig}"),
        _ => format!("({status})"),
    }
}

pub(super) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
