//! The durability model: what a power cut would undo, over a real backing
//! directory. No FUSE in here, so it can be unit-tested on a tempdir.
//!
//! Every operation is applied to the backing directory at once (write-through),
//! so killing the daemon or the broker loses nothing, as a surviving page cache
//! would. Alongside, the model keeps an *undo record*:
//!
//! * per file content: the length at the last sync and the original bytes of
//!   every range below that length that was overwritten since (saved once per
//!   sync epoch);
//! * per namespace node (file or dir): its current link `(parent inode, name)`
//!   and its durable link. A node created since its last durable point has no
//!   durable link. Links refer to the parent by backing inode number, so a
//!   rename of an ancestor does not disturb its children's records.
//!
//! Unlinked or removed nodes that were durable are not deleted but moved into a
//! hidden graveyard directory inside the backing dir, so a power cut can put them
//! back; they are deleted for real once the removal is durable (or at a clean
//! unmount).
//!
//! Durability rules (roughly ext4 data=ordered):
//! * fsync/fdatasync of a file makes its content durable, *and* its own current
//!   link plus those of all its ancestors (Kafka rarely fsyncs directories, and
//!   on ext4 an fsync commits the journal transaction holding the file's
//!   creation/rename anyway);
//! * fsync of a directory makes durable every pending namespace change whose old
//!   or new parent is that directory (creations, renames in or out, removals).
//! * Nodes not touched since mount are durable as they are.
//!
//! Only regular files and directories are modelled (no symlinks, hard links or
//! special files; Kafka uses none).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Hidden directory (in the backing root) holding removed-but-not-yet-durably
/// removed nodes, named by their backing inode number.
pub const GRAVEYARD: &str = ".lazyfs-graveyard";

/// Totals of what a power cut discards (or would discard now, for `status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Bytes appended or overwritten since the last sync, plus the whole size of
    /// files that were never durable.
    pub bytes_lost: u64,
    /// Durable files whose content was rolled back (truncated and/or restored).
    pub files_truncated: u64,
    /// Files that were never durable and were deleted.
    pub files_removed: u64,
    /// Renames that were not durable and were undone.
    pub renames_reverted: u64,
    /// Unlinks/rmdirs of durable nodes that were undone.
    pub unlinks_restored: u64,
    /// Directories that were never durable and were deleted.
    pub dirs_removed: u64,
    /// Nodes that could not be put back (should be 0; non-zero means a model bug
    /// or a conflicting outside change to the backing dir).
    pub errors: u64,
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    parent: u64,
    name: OsString,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Loc {
    At(Link),
    Graveyard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    cur: Loc,
    /// None: created since the last durable point, vanishes on power loss.
    durable: Option<Link>,
}

/// Content undo record of one file with unsynced changes. A file without one
/// is clean (synced length == current length).
#[derive(Debug)]
struct FileState {
    /// Our own read-write descriptor, so the file can be restored wherever it is
    /// now (renamed, in the graveyard) without knowing its path.
    fd: File,
    synced_len: u64,
    /// Original bytes of overwritten ranges below `synced_len`, keyed by offset;
    /// ranges never overlap. Invariant: every byte in [current len, synced_len)
    /// is saved here (truncation saves what it cuts).
    undo: BTreeMap<u64, Vec<u8>>,
}

impl FileState {
    /// Saves the original content of [start, end) ∩ [0, synced_len) where not
    /// saved yet in this epoch. Must be called before the bytes change.
    fn save(&mut self, start: u64, end: u64) -> io::Result<()> {
        let end = end.min(self.synced_len);
        if start >= end {
            return Ok(());
        }
        // Collect the gaps between already-saved ranges.
        let mut gaps = Vec::new();
        let mut pos = start;
        // A saved range starting before `start` may cover its beginning.
        if let Some((&off, data)) = self.undo.range(..start).next_back() {
            pos = pos.max(off + data.len() as u64);
        }
        for (&off, data) in self.undo.range(start..end) {
            if off > pos {
                gaps.push((pos, off));
            }
            pos = pos.max(off + data.len() as u64);
        }
        if pos < end {
            gaps.push((pos, end));
        }
        for (a, b) in gaps {
            let mut buf = vec![0u8; (b - a) as usize];
            // Bytes past the current end read as nothing; by the invariant above
            // they are already saved, so a short read only happens on races.
            let n = read_full_at(&self.fd, &mut buf, a)?;
            buf.truncate(n);
            if !buf.is_empty() {
                self.undo.insert(a, buf);
            }
        }
        Ok(())
    }

    fn cur_len(&self) -> io::Result<u64> {
        Ok(self.fd.metadata()?.len())
    }

    /// Bytes a power cut discards: the unsynced tail plus overwritten bytes that
    /// are still inside the file.
    fn lost_bytes(&self) -> io::Result<u64> {
        let cur = self.cur_len()?;
        let limit = cur.min(self.synced_len);
        let overwritten: u64 = self
            .undo
            .iter()
            .map(|(&off, d)| (off + d.len() as u64).min(limit).saturating_sub(off))
            .sum();
        Ok(cur.saturating_sub(self.synced_len) + overwritten)
    }

    fn is_dirty(&self) -> io::Result<bool> {
        Ok(!self.undo.is_empty() || self.cur_len()? != self.synced_len)
    }

    fn restore(&self) -> io::Result<()> {
        for (&off, data) in &self.undo {
            self.fd.write_all_at(data, off)?;
        }
        self.fd.set_len(self.synced_len)
    }
}

fn read_full_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Opens a private O_RDWR descriptor on the same file as `f` (which may be
/// read-only, write-only or O_APPEND) through /proc, so undo reads and restores
/// work regardless of how the application opened it.
fn reopen_rw(f: &File) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// The per-mount durability model.
pub struct Durability {
    root: PathBuf,
    root_ino: u64,
    nodes: HashMap<u64, Node>,
    files: HashMap<u64, FileState>,
    powered_off: bool,
}

impl Durability {
    /// Starts a model over `root`: everything present now is durable. A stale
    /// graveyard from an earlier run holds unlinks that survived that run (the
    /// daemon exited without a power cut), so it is emptied.
    pub fn new(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let gy = root.join(GRAVEYARD);
        if gy.exists() {
            fs::remove_dir_all(&gy)?;
        }
        fs::create_dir(&gy)?;
        let root_ino = fs::metadata(&root)?.ino();
        Ok(Durability {
            root,
            root_ino,
            nodes: HashMap::new(),
            files: HashMap::new(),
            powered_off: false,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn is_powered_off(&self) -> bool {
        self.powered_off
    }

    /// Fails with EIO once the power is off: no write may land until remount.
    pub fn check_power(&self) -> io::Result<()> {
        if self.powered_off {
            Err(eio())
        } else {
            Ok(())
        }
    }

    fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    fn graveyard_path(&self, ino: u64) -> PathBuf {
        self.root.join(GRAVEYARD).join(ino.to_string())
    }

    /// Current absolute path of a tracked node (or the root).
    fn path_of(&self, ino: u64) -> Option<PathBuf> {
        let mut names: Vec<&OsStr> = Vec::new();
        let mut cur = ino;
        for _ in 0..4096 {
            if cur == self.root_ino {
                let mut p = self.root.clone();
                p.extend(names.iter().rev());
                return Some(p);
            }
            match &self.nodes.get(&cur)?.cur {
                Loc::Graveyard => {
                    let mut p = self.graveyard_path(cur);
                    p.extend(names.iter().rev());
                    return Some(p);
                }
                Loc::At(l) => {
                    names.push(&l.name);
                    cur = l.parent;
                }
            }
        }
        None
    }

    /// Makes sure `rel` and all its ancestors are tracked and returns its inode.
    /// An untracked node has not changed its link since its last durable point,
    /// so its durable link is its current one.
    fn track(&mut self, rel: &Path) -> io::Result<u64> {
        let mut parent = self.root_ino;
        let mut path = self.root.clone();
        for comp in rel.components() {
            let name = match comp {
                Component::Normal(n) => n,
                Component::CurDir => continue,
                _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
            };
            path.push(name);
            let md = fs::symlink_metadata(&path)?;
            let ino = md.ino();
            self.nodes.entry(ino).or_insert_with(|| {
                let link = Link {
                    parent,
                    name: name.to_os_string(),
                };
                Node {
                    kind: if md.is_dir() { Kind::Dir } else { Kind::File },
                    cur: Loc::At(link.clone()),
                    durable: Some(link),
                }
            });
            parent = ino;
        }
        Ok(parent)
    }

    fn split(rel: &Path) -> io::Result<(&Path, &OsStr)> {
        match (rel.parent(), rel.file_name()) {
            (Some(p), Some(n)) => Ok((p, n)),
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }

    // ----- content -----

    fn state_for(&mut self, f: &File) -> io::Result<&mut FileState> {
        let md = f.metadata()?;
        let ino = md.ino();
        if !self.files.contains_key(&ino) {
            let fd = reopen_rw(f)?;
            self.files.insert(
                ino,
                FileState {
                    fd,
                    synced_len: md.len(),
                    undo: BTreeMap::new(),
                },
            );
        }
        Ok(self.files.get_mut(&ino).expect("just inserted"))
    }

    /// Writes `data` at `offset` through `f`, saving what it overwrites first.
    pub fn write(&mut self, f: &File, offset: u64, data: &[u8]) -> io::Result<usize> {
        self.check_power()?;
        self.state_for(f)?
            .save(offset, offset + data.len() as u64)?;
        f.write_all_at(data, offset)?;
        Ok(data.len())
    }

    /// Sets the length of the file open as `f`, saving bytes it cuts below the
    /// synced length.
    pub fn set_len(&mut self, f: &File, len: u64) -> io::Result<()> {
        self.check_power()?;
        let st = self.state_for(f)?;
        let cur = st.cur_len()?;
        if len < cur {
            st.save(len, cur)?;
        }
        f.set_len(len)
    }

    /// fallocate(2) passthrough; modes that zero existing bytes save them first.
    pub fn fallocate(&mut self, f: &File, mode: i32, offset: u64, len: u64) -> io::Result<()> {
        self.check_power()?;
        let st = self.state_for(f)?;
        if mode
            & (libc::FALLOC_FL_PUNCH_HOLE
                | libc::FALLOC_FL_ZERO_RANGE
                | libc::FALLOC_FL_COLLAPSE_RANGE
                | libc::FALLOC_FL_INSERT_RANGE)
            != 0
        {
            // Collapse/insert shift the tail: save everything from offset on.
            let end = if mode & (libc::FALLOC_FL_COLLAPSE_RANGE | libc::FALLOC_FL_INSERT_RANGE) != 0
            {
                st.cur_len()?
            } else {
                offset + len
            };
            st.save(offset, end)?;
        }
        let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, offset as i64, len as i64) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// fsync/fdatasync of a file: its content, its own link and its ancestors'
    /// links become durable. `rel` (its path, if known) lets an untracked file's
    /// ancestors be found. (The filesystem syncs the backing file for real before
    /// this, for the cost; the model only keeps the books.)
    pub fn fsync(&mut self, f: &File, rel: Option<&Path>) -> io::Result<()> {
        self.check_power()?;
        let ino = f.metadata()?.ino();
        self.files.remove(&ino);
        if let Some(rel) = rel {
            if fs::symlink_metadata(self.abs(rel)).map(|m| m.ino()).ok() == Some(ino) {
                self.track(rel)?;
            }
        }
        let mut cur = ino;
        let mut seen = HashSet::new();
        while cur != self.root_ino && seen.insert(cur) {
            self.make_durable(cur, &mut HashSet::new())?;
            match self.nodes.get(&cur).map(|n| &n.cur) {
                Some(Loc::At(l)) => cur = l.parent,
                _ => break,
            }
        }
        Ok(())
    }

    /// Convenience for tests and tools: fsync the file at `rel`.
    pub fn fsync_path(&mut self, rel: &Path) -> io::Result<()> {
        let f = File::open(self.abs(rel))?;
        self.fsync(&f, Some(rel))
    }

    /// Makes a node's current link durable. Another node durably holding that
    /// same link loses it: if it sits in the graveyard its removal becomes
    /// durable (deleted for real); if it was renamed elsewhere, that rename is
    /// durable too (same journal transaction on a real filesystem).
    fn make_durable(&mut self, ino: u64, visiting: &mut HashSet<u64>) -> io::Result<()> {
        if !visiting.insert(ino) {
            return Ok(());
        }
        let link = match self.nodes.get(&ino) {
            Some(Node {
                cur: Loc::At(l),
                durable,
                ..
            }) if durable.as_ref() != Some(l) => l.clone(),
            _ => return Ok(()),
        };
        let holders: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(&i, n)| i != ino && n.durable.as_ref() == Some(&link))
            .map(|(&i, _)| i)
            .collect();
        for h in holders {
            self.release_durable(h, visiting)?;
        }
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.durable = Some(link);
        }
        Ok(())
    }

    /// The durable link of `ino` is gone: delete it for real if it is in the
    /// graveyard, else make its current link durable.
    fn release_durable(&mut self, ino: u64, visiting: &mut HashSet<u64>) -> io::Result<()> {
        match self.nodes.get(&ino).map(|n| n.cur.clone()) {
            Some(Loc::Graveyard) => self.purge(ino, visiting),
            Some(Loc::At(_)) => self.make_durable(ino, visiting),
            None => Ok(()),
        }
    }

    /// Deletes a graveyard node for real and forgets it. Nodes whose durable
    /// parent it was follow it (their removal/rename out is durable as well).
    fn purge(&mut self, ino: u64, visiting: &mut HashSet<u64>) -> io::Result<()> {
        let p = self.graveyard_path(ino);
        let r = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        if let Err(e) = r {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
        }
        self.nodes.remove(&ino);
        self.files.remove(&ino);
        let children: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.durable.as_ref().map(|l| l.parent) == Some(ino))
            .map(|(&i, _)| i)
            .collect();
        for c in children {
            self.release_durable(c, visiting)?;
        }
        Ok(())
    }

    /// fsync of a directory: every pending namespace change into or out of it
    /// becomes durable.
    pub fn fsyncdir(&mut self, rel: &Path) -> io::Result<()> {
        self.check_power()?;
        let dir = self.track(rel)?;
        let affected: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| {
                matches!(&n.cur, Loc::At(l) if l.parent == dir)
                    || n.durable.as_ref().map(|l| l.parent) == Some(dir)
            })
            .map(|(&i, _)| i)
            .collect();
        for ino in affected {
            let mut visiting = HashSet::new();
            match self.nodes.get(&ino).map(|n| n.cur.clone()) {
                Some(Loc::Graveyard) => self.purge(ino, &mut visiting)?,
                Some(Loc::At(_)) => self.make_durable(ino, &mut visiting)?,
                None => {}
            }
        }
        Ok(())
    }

    // ----- namespace -----

    /// Creates a new regular file (O_CREAT|O_EXCL plus `flags`), not durable yet.
    pub fn create_file(&mut self, rel: &Path, mode: u32, flags: i32) -> io::Result<File> {
        self.check_power()?;
        let (parent_rel, name) = Self::split(rel)?;
        let parent = self.track(parent_rel)?;
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(flags & !(libc::O_ACCMODE | libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC))
            .open(self.abs(rel))?;
        let ino = f.metadata()?.ino();
        self.nodes.insert(
            ino,
            Node {
                kind: Kind::File,
                cur: Loc::At(Link {
                    parent,
                    name: name.to_os_string(),
                }),
                durable: None,
            },
        );
        // Synced length 0: if only the directory entry is made durable later,
        // the data still is not.
        self.files.insert(
            ino,
            FileState {
                fd: reopen_rw(&f)?,
                synced_len: 0,
                undo: BTreeMap::new(),
            },
        );
        Ok(f)
    }

    pub fn mkdir(&mut self, rel: &Path, mode: u32) -> io::Result<()> {
        self.check_power()?;
        let (parent_rel, name) = Self::split(rel)?;
        let parent = self.track(parent_rel)?;
        fs::DirBuilder::new().mode(mode).create(self.abs(rel))?;
        let ino = fs::symlink_metadata(self.abs(rel))?.ino();
        self.nodes.insert(
            ino,
            Node {
                kind: Kind::Dir,
                cur: Loc::At(Link {
                    parent,
                    name: name.to_os_string(),
                }),
                durable: None,
            },
        );
        Ok(())
    }

    /// Removes a tracked node from its current place: a never-durable node is
    /// deleted for real, a durable one goes to the graveyard.
    fn remove_node(&mut self, ino: u64, abs: &Path) -> io::Result<()> {
        let node = self.nodes.get(&ino).expect("tracked");
        if node.durable.is_none() {
            if node.kind == Kind::Dir {
                fs::remove_dir(abs)?;
            } else {
                fs::remove_file(abs)?;
            }
            self.nodes.remove(&ino);
            self.files.remove(&ino);
        } else {
            fs::rename(abs, self.graveyard_path(ino))?;
            self.nodes.get_mut(&ino).expect("tracked").cur = Loc::Graveyard;
        }
        Ok(())
    }

    pub fn unlink(&mut self, rel: &Path) -> io::Result<()> {
        self.check_power()?;
        let abs = self.abs(rel);
        if fs::symlink_metadata(&abs)?.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let ino = self.track(rel)?;
        self.remove_node(ino, &abs)
    }

    pub fn rmdir(&mut self, rel: &Path) -> io::Result<()> {
        self.check_power()?;
        let abs = self.abs(rel);
        if !fs::symlink_metadata(&abs)?.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        if fs::read_dir(&abs)?.next().is_some() {
            return Err(io::Error::from_raw_os_error(libc::ENOTEMPTY));
        }
        let ino = self.track(rel)?;
        self.remove_node(ino, &abs)
    }

    /// rename(2). A durable node replaced at the target goes to the graveyard
    /// first, so a power cut can bring it back.
    pub fn rename(&mut self, from: &Path, to: &Path, noreplace: bool) -> io::Result<()> {
        self.check_power()?;
        let (from_abs, to_abs) = (self.abs(from), self.abs(to));
        let src_md = fs::symlink_metadata(&from_abs)?;
        let (to_parent_rel, to_name) = Self::split(to)?;
        if let Ok(dst_md) = fs::symlink_metadata(&to_abs) {
            if dst_md.ino() == src_md.ino() {
                return Ok(()); // same file: rename(2) does nothing
            }
            if noreplace {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            match (src_md.is_dir(), dst_md.is_dir()) {
                (false, true) => return Err(io::Error::from_raw_os_error(libc::EISDIR)),
                (true, false) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
                (true, true) if fs::read_dir(&to_abs)?.next().is_some() => {
                    return Err(io::Error::from_raw_os_error(libc::ENOTEMPTY))
                }
                _ => {}
            }
            if src_md.is_dir() && to_abs.starts_with(&from_abs) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            let victim = self.track(to)?;
            self.remove_node(victim, &to_abs)?;
        }
        let ino = self.track(from)?;
        let new_parent = self.track(to_parent_rel)?;
        fs::rename(&from_abs, &to_abs)?;
        self.nodes.get_mut(&ino).expect("tracked").cur = Loc::At(Link {
            parent: new_parent,
            name: to_name.to_os_string(),
        });
        Ok(())
    }

    // ----- power -----

    /// What a power cut would discard right now.
    pub fn status(&self) -> io::Result<Report> {
        let mut r = Report::default();
        for (ino, n) in &self.nodes {
            match (&n.durable, &n.cur) {
                (None, _) if n.kind == Kind::File => {
                    r.files_removed += 1;
                    if let Some(st) = self.files.get(ino) {
                        r.bytes_lost += st.cur_len()?;
                    }
                }
                (None, _) => r.dirs_removed += 1,
                (Some(_), Loc::Graveyard) => r.unlinks_restored += 1,
                (Some(d), Loc::At(c)) if d != c => r.renames_reverted += 1,
                _ => {}
            }
        }
        for (ino, st) in &self.files {
            if self.nodes.get(ino).map(|n| n.durable.is_none()) == Some(true) {
                continue;
            }
            if st.is_dirty()? {
                r.files_truncated += 1;
                r.bytes_lost += st.lost_bytes()?;
            }
        }
        Ok(r)
    }

    /// Simulates a power cut: rolls the backing dir back to its durable state,
    /// then refuses every further change (EIO) until a new model is made
    /// (remount). Best effort: a failing step is counted in `errors`, logged,
    /// and the rest carries on.
    pub fn power_loss(&mut self) -> Report {
        let mut r = Report::default();
        self.powered_off = true;
        let err = |r: &mut Report, what: &str, e: io::Error| {
            eprintln!("kafka-chaos-lazyfs: power-loss: {what}: {e}");
            r.errors += 1;
        };

        // 1. Files that were never durable vanish.
        let new_files: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.durable.is_none() && n.kind == Kind::File)
            .map(|(&i, _)| i)
            .collect();
        for ino in new_files {
            if let Some(p) = self.path_of(ino) {
                r.bytes_lost += fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0);
                match fs::remove_file(&p) {
                    Ok(()) => r.files_removed += 1,
                    Err(e) => err(&mut r, &format!("remove {}", p.display()), e),
                }
            }
            self.nodes.remove(&ino);
            self.files.remove(&ino);
        }

        // 2. Roll back content of the remaining (durable) files, wherever they are.
        for (ino, st) in &self.files {
            match st.is_dirty() {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    err(&mut r, &format!("stat inode {ino}"), e);
                    continue;
                }
            }
            r.bytes_lost += st.lost_bytes().unwrap_or(0);
            match st.restore() {
                Ok(()) => r.files_truncated += 1,
                Err(e) => err(&mut r, &format!("restore inode {ino}"), e),
            }
        }
        self.files.clear();

        // 3. Move every durable node that is not at its durable link into the
        // graveyard (staging), so cycles and replaced targets sort themselves out.
        let mut renamed = HashSet::new();
        let misplaced: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!((&n.durable, &n.cur), (Some(d), Loc::At(c)) if d != c))
            .map(|(&i, _)| i)
            .collect();
        for ino in misplaced {
            let Some(p) = self.path_of(ino) else { continue };
            match fs::rename(&p, self.graveyard_path(ino)) {
                Ok(()) => {
                    self.nodes.get_mut(&ino).expect("tracked").cur = Loc::Graveyard;
                    renamed.insert(ino);
                }
                Err(e) => err(&mut r, &format!("stage {}", p.display()), e),
            }
        }

        // 4. Directories that were never durable vanish (with whatever never
        // durable is left in them).
        let new_dirs: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.durable.is_none())
            .map(|(&i, _)| i)
            .collect();
        for &ino in &new_dirs {
            if let Some(p) = self.path_of(ino) {
                match fs::remove_dir_all(&p) {
                    Ok(()) => r.dirs_removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => err(&mut r, &format!("remove dir {}", p.display()), e),
                }
            }
        }
        for ino in new_dirs {
            self.nodes.remove(&ino);
        }

        // 5. Put graveyard nodes back at their durable links, parents first.
        loop {
            let ready: Vec<(u64, Link)> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.cur == Loc::Graveyard)
                .filter_map(|(&i, n)| n.durable.clone().map(|d| (i, d)))
                // Parents first: wait while the durable parent is itself staged.
                .filter(|(_, d)| {
                    !matches!(
                        self.nodes.get(&d.parent),
                        Some(Node {
                            cur: Loc::Graveyard,
                            ..
                        })
                    )
                })
                .collect();
            if ready.is_empty() {
                break;
            }
            for (ino, d) in ready {
                let target = match self.path_of(d.parent) {
                    Some(p) => p.join(&d.name),
                    None => {
                        err(
                            &mut r,
                            &format!("place inode {ino}"),
                            io::Error::from_raw_os_error(libc::ENOENT),
                        );
                        self.nodes.remove(&ino);
                        continue;
                    }
                };
                match fs::rename(self.graveyard_path(ino), &target) {
                    Ok(()) => {
                        if renamed.contains(&ino) {
                            r.renames_reverted += 1;
                        } else {
                            r.unlinks_restored += 1;
                        }
                        self.nodes.get_mut(&ino).expect("tracked").cur = Loc::At(d);
                    }
                    Err(e) => {
                        err(&mut r, &format!("restore {}", target.display()), e);
                        self.nodes.remove(&ino);
                    }
                }
            }
        }
        let stuck = self
            .nodes
            .values()
            .filter(|n| n.cur == Loc::Graveyard)
            .count();
        if stuck > 0 {
            err(
                &mut r,
                "nodes left in the graveyard",
                io::Error::from_raw_os_error(libc::ENOENT),
            );
        }
        // Whatever is on disk now is the durable state.
        self.nodes.clear();
        r
    }

    /// Clean unmount: everything written is kept (as a clean shutdown flushes the
    /// page cache); pending removals become real.
    pub fn sync_all(&mut self) -> io::Result<()> {
        self.files.clear();
        self.nodes.clear();
        let gy = self.root.join(GRAVEYARD);
        if !self.powered_off {
            fs::remove_dir_all(&gy)?;
            fs::create_dir(&gy)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn setup() -> (tempfile::TempDir, Durability) {
        let d = tempfile::tempdir().unwrap();
        let m = Durability::new(d.path()).unwrap();
        (d, m)
    }

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    fn read(d: &tempfile::TempDir, rel: &str) -> Vec<u8> {
        fs::read(d.path().join(rel)).unwrap()
    }

    /// A file that exists before the model starts (durable as it is).
    fn preexisting(dir: &Path, rel: &str, data: &[u8]) {
        let mut f = File::create(dir.join(rel)).unwrap();
        f.write_all(data).unwrap();
    }

    fn open_rw(m: &Durability, rel: &str) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(m.root().join(rel))
            .unwrap()
    }

    #[test]
    fn only_synced_prefix_survives() {
        let (d, mut m) = setup();
        let f = m.create_file(p("seg.log"), 0o644, 0).unwrap();
        m.write(&f, 0, b"hello ").unwrap();
        m.fsync(&f, Some(p("seg.log"))).unwrap();
        m.write(&f, 6, b"world").unwrap();
        let st = m.status().unwrap();
        assert_eq!(st.bytes_lost, 5);
        assert_eq!(st.files_truncated, 1);
        let r = m.power_loss();
        assert_eq!(read(&d, "seg.log"), b"hello ");
        assert_eq!(r.bytes_lost, 5);
        assert_eq!(r.files_truncated, 1);
        assert_eq!(r.files_removed, 0);
        assert_eq!(r.errors, 0);
    }

    #[test]
    fn overwrite_of_synced_bytes_is_restored() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            preexisting(d.path(), "idx", b"0123456789");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        let f = open_rw(&m, "idx");
        m.write(&f, 2, b"AB").unwrap();
        m.write(&f, 3, b"CDE").unwrap(); // partly over the first overwrite
        m.write(&f, 8, b"XYZW").unwrap(); // 2 synced bytes + 2 appended
        assert_eq!(read(&d, "idx"), b"01ACDE67XYZW");
        let r = m.power_loss();
        assert_eq!(read(&d, "idx"), b"0123456789");
        // overwritten: [2,6) = 4 bytes, [8,10) = 2 bytes; appended: 2 bytes
        assert_eq!(r.bytes_lost, 8);
        assert_eq!(r.files_truncated, 1);
    }

    #[test]
    fn truncation_below_synced_length_is_undone() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            preexisting(d.path(), "f", b"abcdefghij");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        let f = open_rw(&m, "f");
        m.set_len(&f, 4).unwrap();
        m.write(&f, 4, b"xy").unwrap(); // rewrites cut bytes: already saved
        m.set_len(&f, 20).unwrap(); // preallocation by length
        let r = m.power_loss();
        assert_eq!(read(&d, "f"), b"abcdefghij");
        assert_eq!(r.files_truncated, 1);
        // 10 bytes past the synced length + 6 cut-then-rewritten bytes in [4,10)
        assert_eq!(r.bytes_lost, 16);
    }

    #[test]
    fn new_never_synced_file_vanishes() {
        let (d, mut m) = setup();
        m.mkdir(p("topic-0"), 0o755).unwrap();
        let f = m.create_file(p("topic-0/new.log"), 0o644, 0).unwrap();
        m.write(&f, 0, b"1234567").unwrap();
        let st = m.status().unwrap();
        assert_eq!(
            (st.files_removed, st.bytes_lost, st.dirs_removed),
            (1, 7, 1)
        );
        let r = m.power_loss();
        assert!(!d.path().join("topic-0").exists());
        assert_eq!(r.files_removed, 1);
        assert_eq!(r.dirs_removed, 1);
        assert_eq!(r.bytes_lost, 7);
        assert_eq!(r.errors, 0);
    }

    #[test]
    fn file_fsynced_after_creation_survives_with_its_dir() {
        let (d, mut m) = setup();
        m.mkdir(p("dir"), 0o755).unwrap();
        let f = m.create_file(p("dir/a"), 0o644, 0).unwrap();
        m.write(&f, 0, b"data").unwrap();
        m.fsync(&f, Some(p("dir/a"))).unwrap();
        let g = m.create_file(p("dir/b"), 0o644, 0).unwrap();
        m.write(&g, 0, b"lost").unwrap();
        let r = m.power_loss();
        assert_eq!(read(&d, "dir/a"), b"data");
        assert!(!d.path().join("dir/b").exists());
        assert_eq!(
            (r.files_removed, r.bytes_lost, r.files_truncated),
            (1, 4, 0)
        );
    }

    #[test]
    fn unsynced_rename_is_reverted() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            preexisting(d.path(), "cp", b"old checkpoint");
            preexisting(d.path(), "other", b"x");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        // Kafka's checkpoint pattern: write cp.tmp, rename over cp, no fsync.
        let f = m.create_file(p("cp.tmp"), 0o644, 0).unwrap();
        m.write(&f, 0, b"new checkpoint").unwrap();
        m.rename(p("cp.tmp"), p("cp"), false).unwrap();
        m.rename(p("other"), p("moved"), false).unwrap();
        assert_eq!(read(&d, "cp"), b"new checkpoint");
        let st = m.status().unwrap();
        assert_eq!(
            (st.renames_reverted, st.unlinks_restored, st.files_removed),
            (1, 1, 1)
        );
        let r = m.power_loss();
        assert_eq!(read(&d, "cp"), b"old checkpoint");
        assert_eq!(read(&d, "other"), b"x");
        assert!(!d.path().join("moved").exists());
        assert!(!d.path().join("cp.tmp").exists());
        assert_eq!(r.renames_reverted, 1);
        assert_eq!(r.unlinks_restored, 1); // the replaced durable "cp"
        assert_eq!(r.files_removed, 1);
        assert_eq!(r.errors, 0);
        assert_eq!(fs::read_dir(d.path().join(GRAVEYARD)).unwrap().count(), 0);
    }

    #[test]
    fn fsynced_rename_survives() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            preexisting(d.path(), "cp", b"old");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        let f = m.create_file(p("cp.tmp"), 0o644, 0).unwrap();
        m.write(&f, 0, b"new").unwrap();
        m.fsync(&f, Some(p("cp.tmp"))).unwrap();
        m.rename(p("cp.tmp"), p("cp"), false).unwrap();
        m.fsync_path(p("cp")).unwrap();
        let r = m.power_loss();
        assert_eq!(read(&d, "cp"), b"new");
        assert_eq!(r, Report::default());
        // The replaced file was deleted for real.
        assert_eq!(fs::read_dir(d.path().join(GRAVEYARD)).unwrap().count(), 0);
    }

    #[test]
    fn unlink_and_dir_rename_are_undone_unless_dir_fsynced() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            fs::create_dir(d.path().join("t-0")).unwrap();
            preexisting(d.path(), "t-0/00.log", b"segment");
            preexisting(d.path(), "t-0/00.index", b"index");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        // Kafka's partition delete: rename dir to *-delete, unlink files, rmdir.
        m.rename(p("t-0"), p("t-0.abc-delete"), false).unwrap();
        m.unlink(p("t-0.abc-delete/00.log")).unwrap();
        m.unlink(p("t-0.abc-delete/00.index")).unwrap();
        m.rmdir(p("t-0.abc-delete")).unwrap();
        assert!(!d.path().join("t-0").exists());
        let r = m.power_loss();
        assert_eq!(read(&d, "t-0/00.log"), b"segment");
        assert_eq!(read(&d, "t-0/00.index"), b"index");
        assert!(!d.path().join("t-0.abc-delete").exists());
        assert_eq!(r.unlinks_restored, 3);
        assert_eq!(r.errors, 0);

        // Same again on a fresh mount, but with the parent dir fsynced.
        let mut m = Durability::new(d.path()).unwrap();
        m.rename(p("t-0"), p("t-0.abc-delete"), false).unwrap();
        m.unlink(p("t-0.abc-delete/00.log")).unwrap();
        m.unlink(p("t-0.abc-delete/00.index")).unwrap();
        m.rmdir(p("t-0.abc-delete")).unwrap();
        m.fsyncdir(p("")).unwrap();
        let r = m.power_loss();
        assert!(!d.path().join("t-0").exists());
        assert_eq!(r, Report::default());
        assert_eq!(fs::read_dir(d.path().join(GRAVEYARD)).unwrap().count(), 0);
    }

    #[test]
    fn fsyncdir_makes_creation_durable_but_not_content() {
        let (d, mut m) = setup();
        let f = m.create_file(p("a"), 0o644, 0).unwrap();
        m.write(&f, 0, b"abc").unwrap();
        m.fsyncdir(p("")).unwrap();
        let r = m.power_loss();
        assert_eq!(read(&d, "a"), b"");
        assert_eq!(
            (r.files_removed, r.files_truncated, r.bytes_lost),
            (0, 1, 3)
        );
    }

    #[test]
    fn writes_fail_with_eio_after_power_loss() {
        let (_d, mut m) = setup();
        let f = m.create_file(p("a"), 0o644, 0).unwrap();
        m.fsync(&f, Some(p("a"))).unwrap();
        m.power_loss();
        let e = m.write(&f, 0, b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert_eq!(
            m.create_file(p("b"), 0o644, 0).unwrap_err().raw_os_error(),
            Some(libc::EIO)
        );
        assert_eq!(
            m.fsync(&f, None).unwrap_err().raw_os_error(),
            Some(libc::EIO)
        );
    }

    #[test]
    fn clean_sync_all_keeps_everything() {
        let (d, mut m) = {
            let d = tempfile::tempdir().unwrap();
            preexisting(d.path(), "gone", b"x");
            let m = Durability::new(d.path()).unwrap();
            (d, m)
        };
        let f = m.create_file(p("a"), 0o644, 0).unwrap();
        m.write(&f, 0, b"abc").unwrap();
        m.unlink(p("gone")).unwrap();
        m.sync_all().unwrap();
        assert_eq!(read(&d, "a"), b"abc");
        assert!(!d.path().join("gone").exists());
        assert_eq!(fs::read_dir(d.path().join(GRAVEYARD)).unwrap().count(), 0);
    }
}
