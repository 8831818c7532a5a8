//! Fast reading of `history.jsonl` for the checker.
//!
//! `history::Event` is the writer's schema; deserializing 30 million lines through an internally
//! tagged enum with owned strings is too slow. Each line goes to a hand-written parser for the
//! lines the runner writes (`fast`), else to serde with a flat struct borrowing from the read
//! buffer (`line`), and becomes a small owned `Record`. Lines of types the checker does not use
//! are counted and skipped, whatever their fields.
//!
//! Large files are split at line boundaries into one chunk per core. Each chunk is parsed on its
//! own thread and folded into its own state, in file order; the caller merges the states. No
//! channel and no lock: a single consumer of 30 million records would be the bottleneck.

mod diagnose;
mod fast;
mod line;

use crate::error::{Error, Result};
use crate::history::{Event, LogEvent, ProcessedEvent, SendEvent};
use line::{parse_line, Parsed};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this size per chunk, threads cost more than they save.
const MIN_CHUNK_BYTES: u64 = 32 << 20;
/// Small enough to stay in the L2 cache between the copy from the page cache and the parse.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// One line the checker uses: the history's own event types (`crate::history`). The fast path
/// fills what the checker reads and leaves `status` and `error` of a send unset.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Send(SendEvent),
    Processed(ProcessedEvent),
    Log(LogEvent),
    /// Every other event the checker reads (`history::CHECKED_KINDS`: cell, step, fault, read,
    /// drain, abort, worker), rare and boxed, with its place in the file.
    Context(Box<(Event, LinePosition)>),
}

/// A line's place in the file: its chunk, then its line within the chunk. Ordering positions
/// orders lines as in the file, without knowing how many lines earlier chunks have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinePosition {
    pub chunk: usize,
    pub line: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub lines: u64,
    pub bytes: u64,
    /// Lines of types the checker does not use (commit, rebalance, note, ...).
    pub other_lines: u64,
}

/// The first send event of a message and the line that sent it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondSend {
    pub producer: u32,
    pub seq: u64,
    pub first_line: u64,
    pub line: u64,
}

enum Source {
    File { size: u64 },
    Bytes(Vec<u8>),
}

pub struct HistoryReader {
    path: PathBuf,
    source: Source,
    chunks: Vec<(u64, u64)>,
}

impl HistoryReader {
    /// Opens a history file and plans its chunks: one per core for a large file.
    pub fn open(path: &Path) -> Result<Self> {
        let size = Self::size_of(path)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8) as u64;
        Self::open_in_chunks(path, (size / MIN_CHUNK_BYTES).clamp(1, cores) as usize)
    }

    /// Opens a history file to be read in (at most) `chunks` chunks, whatever its size.
    pub fn open_in_chunks(path: &Path, chunks: usize) -> Result<Self> {
        let size = Self::size_of(path)?;
        let chunks = split_at_lines(path, size, chunks.max(1))
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Ok(HistoryReader { path: path.to_path_buf(), source: Source::File { size }, chunks })
    }

    fn size_of(path: &Path) -> Result<u64> {
        let metadata = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Invalid(format!(
                    "no history at {}: give a directory written by `kafka-chaos run` (it holds history.jsonl)",
                    path.display()
                )))
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        if !metadata.is_file() {
            return Err(Error::Invalid(format!("{} is not a file", path.display())));
        }
        Ok(metadata.len())
    }

    /// A history held in memory (tests); `name` is used in error messages.
    pub fn from_bytes(name: &Path, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        let len = data.len() as u64;
        HistoryReader { path: name.to_path_buf(), source: Source::Bytes(data), chunks: vec![(0, len)] }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Folds every record of each chunk into a state of its own (`init` makes one per chunk,
    /// `fold` adds a record), one thread per chunk, and returns the states in file order. On a
    /// malformed line the result is `Error::InvalidLine` for the first one in the file; the
    /// states are returned anyway (holding records from anywhere in the file), for the caller
    /// to look for an earlier error of its own.
    pub fn read<S: Send>(
        &self,
        init: impl Fn() -> S + Sync,
        fold: impl Fn(&mut S, Record) + Sync,
    ) -> (Vec<S>, Result<ReadStats>) {
        let files = match &self.source {
            Source::Bytes(data) => {
                let mut state = init();
                let outcome = parse_chunk(&data[..], data.len() as u64, 0, &|| false, |r| fold(&mut state, r));
                return (vec![state], self.combine(vec![outcome]));
            }
            Source::File { .. } => self.chunks.iter().map(|&(from, _)| self.open_at(from)).collect::<Result<Vec<_>>>(),
        };
        let files = match files {
            Ok(files) => files,
            Err(e) => return (Vec::new(), Err(e)),
        };
        // A chunk stops early once an earlier chunk failed: its errors can only come later.
        let first_failed = AtomicUsize::new(usize::MAX);
        let (states, outcomes): (Vec<S>, Vec<ChunkOutcome>) = std::thread::scope(|scope| {
            let workers: Vec<_> = files
                .into_iter()
                .zip(&self.chunks)
                .enumerate()
                .map(|(index, (file, &(_, len)))| {
                    let (init, fold, first_failed) = (&init, &fold, &first_failed);
                    scope.spawn(move || {
                        let stop = || first_failed.load(Ordering::Relaxed) < index;
                        let mut state = init();
                        let outcome = parse_chunk(file, len, index, &stop, |r| fold(&mut state, r));
                        if matches!(outcome, ChunkOutcome::Failed { .. } | ChunkOutcome::Io(_)) {
                            first_failed.fetch_min(index, Ordering::Relaxed);
                        }
                        (state, outcome)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("history parser thread panicked")).unzip()
        });
        (states, self.combine(outcomes))
    }

    fn combine(&self, outcomes: Vec<ChunkOutcome>) -> Result<ReadStats> {
        let mut stats = ReadStats::default();
        for outcome in outcomes {
            match outcome {
                ChunkOutcome::Done { lines, bytes, other_lines } => {
                    stats.lines += lines;
                    stats.bytes += bytes;
                    stats.other_lines += other_lines;
                }
                ChunkOutcome::Failed { line, message } => {
                    return Err(self.line_error(stats.lines + line, message));
                }
                ChunkOutcome::Io(e) => return Err(Error::io(format!("cannot read {}", self.path.display()), e)),
            }
        }
        Ok(stats)
    }

    pub fn line_error(&self, line: u64, message: String) -> Error {
        Error::InvalidLine { path: self.path.clone(), line, message }
    }

    fn open_at(&self, from: u64) -> Result<File> {
        let context = || format!("cannot read {}", self.path.display());
        let mut file = File::open(&self.path).map_err(|e| Error::io(context(), e))?;
        file.seek(SeekFrom::Start(from)).map_err(|e| Error::io(context(), e))?;
        Ok(file)
    }

    /// Reads the file again, in order, to find the earliest line that sends one of `messages` a
    /// second time. The checker only records which messages were sent twice: keeping a line
    /// number per message would cost memory on every good run, for the sake of a broken one.
    pub fn find_second_send(&self, messages: &HashSet<(u32, u64)>) -> Result<Option<SecondSend>> {
        let mut first_lines: HashMap<(u32, u64), u64> = HashMap::new();
        let mut found = None;
        let mut line = 0u64;
        let mut check = |text: &[u8]| {
            line += 1;
            if let Ok(Parsed::Record(Record::Send(send))) = parse_line(text) {
                let key = (send.producer, send.seq);
                if messages.contains(&key) {
                    match first_lines.get(&key) {
                        Some(&first_line) => {
                            found = Some(SecondSend { producer: key.0, seq: key.1, first_line, line });
                            return false;
                        }
                        None => {
                            first_lines.insert(key, line);
                        }
                    }
                }
            }
            true
        };
        let outcome = match &self.source {
            Source::Bytes(data) => for_each_line(&data[..], data.len() as u64, &mut check),
            Source::File { size } => for_each_line(self.open_at(0)?, *size, &mut check),
        };
        outcome.map_err(|e| Error::io(format!("cannot read {}", self.path.display()), e))?;
        Ok(found)
    }
}

/// Chunk boundaries: `(start, length)` pairs, each chunk starting right after a newline.
fn split_at_lines(path: &Path, size: u64, wanted: usize) -> std::io::Result<Vec<(u64, u64)>> {
    let mut starts = vec![0u64];
    if wanted > 1 {
        let mut file = File::open(path)?;
        let mut window = vec![0u8; 64 << 10];
        for k in 1..wanted as u64 {
            // Look from the byte before the cut, so a cut already at a line start stays there.
            let mut at = (size * k / wanted as u64).saturating_sub(1).max(*starts.last().unwrap());
            file.seek(SeekFrom::Start(at))?;
            let boundary = loop {
                let n = file.read(&mut window)?;
                if n == 0 {
                    break size;
                }
                if let Some(i) = find_newline(&window[..n]) {
                    break at + i as u64 + 1;
                }
                at += n as u64;
            };
            starts.push(boundary);
        }
    }
    starts.push(size);
    Ok(starts.windows(2).map(|w| (w[0], w[1] - w[0])).filter(|c| c.1 > 0 || c.0 == 0).collect())
}

enum ChunkOutcome {
    Done {
        lines: u64,
        bytes: u64,
        other_lines: u64,
    },
    /// `line` counts from 1 at the start of the chunk.
    Failed {
        line: u64,
        message: String,
    },
    Io(std::io::Error),
}

fn parse_chunk(
    input: impl Read,
    len: u64,
    chunk: usize,
    stop: &dyn Fn() -> bool,
    mut emit: impl FnMut(Record),
) -> ChunkOutcome {
    let mut other_lines = 0;
    let mut failure = None;
    let mut line = 0u64;
    let outcome = for_each_line_until(input, len, stop, &mut |text| {
        line += 1;
        match parse_line(text) {
            Ok(Parsed::Record(Record::Context(mut context))) => {
                context.1 = LinePosition { chunk, line };
                emit(Record::Context(context))
            }
            Ok(Parsed::Record(record)) => emit(record),
            Ok(Parsed::Other) => other_lines += 1,
            Ok(Parsed::Blank) => {}
            Err(message) => {
                failure = Some(ChunkOutcome::Failed { line, message });
                return false;
            }
        }
        true
    });
    match (outcome, failure) {
        (_, Some(failed)) => failed,
        (Err(e), None) => ChunkOutcome::Io(e),
        (Ok(lines), None) => ChunkOutcome::Done { lines: lines.0, bytes: lines.1, other_lines },
    }
}

fn for_each_line(input: impl Read, len: u64, each: &mut dyn FnMut(&[u8]) -> bool) -> std::io::Result<(u64, u64)> {
    for_each_line_until(input, len, &|| false, each)
}

/// Calls `each` with every line of the first `len` bytes of `input` (without its newline; a last
/// line without one counts) until it returns false or `stop()` says so between buffer fills.
/// Returns the lines and bytes seen.
fn for_each_line_until(
    mut input: impl Read,
    len: u64,
    stop: &dyn Fn() -> bool,
    each: &mut dyn FnMut(&[u8]) -> bool,
) -> std::io::Result<(u64, u64)> {
    let mut buffer = vec![0u8; READ_BUFFER_BYTES.min(len as usize + 1).max(1)];
    let (mut start, mut end) = (0usize, 0usize);
    let mut remaining = len;
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        if start > 0 {
            buffer.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == buffer.len() {
            // One line longer than the buffer.
            buffer.resize(buffer.len() * 2, 0);
        }
        let want = (buffer.len() - end).min(remaining.min(usize::MAX as u64) as usize);
        let n = if want == 0 { 0 } else { read_some(&mut input, &mut buffer[end..end + want])? };
        end += n;
        remaining -= n as u64;
        bytes += n as u64;
        let at_end = n == 0 || remaining == 0;
        while let Some(i) = find_newline(&buffer[start..end]) {
            lines += 1;
            if !each(&buffer[start..start + i]) {
                return Ok((lines, bytes));
            }
            start += i + 1;
        }
        if at_end {
            if start < end {
                lines += 1;
                each(&buffer[start..end]);
            }
            return Ok((lines, bytes));
        }
        if stop() {
            return Ok((lines, bytes));
        }
    }
}

fn read_some(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buffer) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn find_newline(bytes: &[u8]) -> Option<usize> {
    // libc's memchr is vectorised; a byte loop would cost a second per few GB.
    let found = unsafe { libc::memchr(bytes.as_ptr().cast(), b'\n' as i32, bytes.len()) };
    (!found.is_null()).then(|| found as usize - bytes.as_ptr() as usize)
}
