//! The FUSE side: a passthrough filesystem over the backing directory whose
//! every change goes through the [`Durability`] model.
//!
//! FUSE inode numbers are our own, handed out on lookup and never reused, so a
//! backing inode number recycled after a delete can never alias a stale kernel
//! inode (that would mix page caches). No `direct_io`: the kernel page cache
//! serves Kafka's shared writable mmaps and flushes their dirty pages to us as
//! ordinary write requests. No writeback cache either, so every write(2)
//! reaches the model at once.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use crate::durability::{Durability, GRAVEYARD};

/// Short attribute TTL: the backing dir changes under the kernel on power loss.
const TTL: Duration = Duration::from_secs(1);

type Res<T> = Result<T, Errno>;

fn errno(e: io::Error) -> Errno {
    match e.raw_os_error() {
        Some(n) => Errno::from_i32(n),
        None => Errno::EIO,
    }
}

/// FUSE inode number <-> path relative to the backing root.
struct Inodes {
    next: u64,
    paths: HashMap<u64, PathBuf>,
    by_backing: HashMap<u64, u64>,
}

impl Inodes {
    fn path(&self, ino: INodeNo) -> Res<PathBuf> {
        self.paths.get(&ino.0).cloned().ok_or(Errno::ENOENT)
    }

    fn assign(&mut self, backing: u64, rel: PathBuf) -> u64 {
        let ino = *self.by_backing.entry(backing).or_insert_with(|| {
            self.next += 1;
            self.next
        });
        if ino != INodeNo::ROOT.0 {
            self.paths.insert(ino, rel);
        }
        ino
    }

    fn forget_backing(&mut self, backing: u64) {
        if let Some(ino) = self.by_backing.remove(&backing) {
            self.paths.remove(&ino);
        }
    }

    /// A rename moves the node and everything below it.
    fn renamed(&mut self, from: &Path, to: &Path) {
        for p in self.paths.values_mut() {
            if let Ok(rest) = p.strip_prefix(from) {
                *p = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
            }
        }
    }
}

struct Handle {
    file: Arc<File>,
    ino: INodeNo,
    /// Opened with O_SYNC/O_DSYNC: every write is followed by an fsync.
    sync: bool,
}

pub struct LazyFs {
    model: Arc<Mutex<Durability>>,
    root: PathBuf,
    inodes: Mutex<Inodes>,
    handles: Mutex<HashMap<u64, Handle>>,
    next_fh: AtomicU64,
    /// Whether created nodes should be chowned to the caller (we run as root).
    chown: bool,
}

fn ts(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nsecs as u64)
    }
}

fn kind_of(ft: fs::FileType) -> FileType {
    FileType::from_std(ft).unwrap_or(FileType::RegularFile)
}

fn attr(ino: u64, md: &Metadata) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: md.len(),
        blocks: md.blocks(),
        atime: ts(md.atime(), md.atime_nsec()),
        mtime: ts(md.mtime(), md.mtime_nsec()),
        ctime: ts(md.ctime(), md.ctime_nsec()),
        crtime: UNIX_EPOCH,
        kind: kind_of(md.file_type()),
        perm: (md.mode() & 0o7777) as u16,
        nlink: md.nlink() as u32,
        uid: md.uid(),
        gid: md.gid(),
        rdev: md.rdev() as u32,
        blksize: md.blksize() as u32,
        flags: 0,
    }
}

fn cpath(p: &Path) -> Res<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

fn timespec(t: Option<TimeOrNow>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(TimeOrNow::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(TimeOrNow::SpecificTime(t)) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => libc::timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos() as i64,
            },
            Err(e) => libc::timespec {
                tv_sec: -(e.duration().as_secs() as i64),
                tv_nsec: 0,
            },
        },
    }
}

/// Flags the backing open must not see: creation/truncation go through the
/// model, O_APPEND is dropped because the kernel already turns appends into
/// writes at the end offset (and pwrite on an O_APPEND fd ignores the offset),
/// O_DIRECT because we serve through the page cache.
const STRIP_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_DIRECT
    | libc::O_NOCTTY;

impl LazyFs {
    pub fn new(model: Arc<Mutex<Durability>>) -> io::Result<Self> {
        let root = model
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .root()
            .to_path_buf();
        let root_backing = fs::metadata(&root)?.ino();
        let mut inodes = Inodes {
            next: INodeNo::ROOT.0,
            paths: HashMap::new(),
            by_backing: HashMap::new(),
        };
        inodes.paths.insert(INodeNo::ROOT.0, PathBuf::new());
        inodes.by_backing.insert(root_backing, INodeNo::ROOT.0);
        Ok(LazyFs {
            model,
            root,
            inodes: Mutex::new(inodes),
            handles: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            chown: unsafe { libc::geteuid() } == 0,
        })
    }

    fn model(&self) -> MutexGuard<'_, Durability> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// unlink and rmdir: the model removes the entry, and its backing inode is forgotten.
    fn remove(&self, parent: INodeNo, name: &OsStr, reply: ReplyEmpty, op: fn(&mut Durability, &Path) -> io::Result<()>) {
        let r = self.child(parent, name).and_then(|rel| {
            let b = self.backing_ino(&rel);
            op(&mut self.model(), &rel).map_err(errno)?;
            if let Some(b) = b {
                self.inodes().forget_backing(b);
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn inodes(&self) -> MutexGuard<'_, Inodes> {
        self.inodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Res<PathBuf> {
        if parent == INodeNo::ROOT && name == GRAVEYARD {
            return Err(Errno::ENOENT);
        }
        Ok(self.inodes().path(parent)?.join(name))
    }

    fn entry_for(&self, rel: PathBuf) -> Res<FileAttr> {
        let md = fs::symlink_metadata(self.abs(&rel)).map_err(errno)?;
        let ino = self.inodes().assign(md.ino(), rel);
        Ok(attr(ino, &md))
    }

    fn handle(&self, fh: FileHandle) -> Res<(Arc<File>, INodeNo, bool)> {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fh.0)
            .map(|h| (h.file.clone(), h.ino, h.sync))
            .ok_or(Errno::EBADF)
    }

    fn add_handle(&self, file: File, ino: INodeNo, flags: i32) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        let sync = flags & (libc::O_SYNC | libc::O_DSYNC) != 0;
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                fh,
                Handle {
                    file: Arc::new(file),
                    ino,
                    sync,
                },
            );
        FileHandle(fh)
    }

    fn give_to_caller(&self, req: &Request, rel: &Path) {
        if self.chown && (req.uid() != 0 || req.gid() != 0) {
            let _ = std::os::unix::fs::lchown(self.abs(rel), Some(req.uid()), Some(req.gid()));
        }
    }

    fn check_power(&self) -> Res<()> {
        self.model().check_power().map_err(errno)
    }

    fn open_backing(&self, rel: &Path, flags: i32) -> Res<File> {
        let acc = flags & libc::O_ACCMODE;
        OpenOptions::new()
            .read(acc == libc::O_RDONLY || acc == libc::O_RDWR)
            .write(acc == libc::O_WRONLY || acc == libc::O_RDWR)
            .custom_flags((flags & !STRIP_FLAGS) | libc::O_CLOEXEC)
            .open(self.abs(rel))
            .map_err(errno)
    }

    #[allow(clippy::too_many_arguments)]
    fn do_setattr(
        &self,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        fh: Option<FileHandle>,
    ) -> Res<FileAttr> {
        let rel = self.inodes().path(ino)?;
        let abs = self.abs(&rel);
        let file = fh.and_then(|fh| self.handle(fh).ok()).map(|h| h.0);
        if mode.is_some() || uid.is_some() || gid.is_some() || atime.is_some() || mtime.is_some() {
            self.check_power()?;
        }
        if let Some(mode) = mode {
            let perm = fs::Permissions::from_mode(mode & 0o7777);
            match &file {
                Some(f) => f.set_permissions(perm),
                None => fs::set_permissions(&abs, perm),
            }
            .map_err(errno)?;
        }
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::lchown(&abs, uid, gid).map_err(errno)?;
        }
        if let Some(size) = size {
            let f = match &file {
                Some(f) => f.clone(),
                None => Arc::new(OpenOptions::new().write(true).open(&abs).map_err(errno)?),
            };
            self.model().set_len(&f, size).map_err(errno)?;
        }
        if atime.is_some() || mtime.is_some() {
            let times = [timespec(atime), timespec(mtime)];
            let c = cpath(&abs)?;
            let r = unsafe {
                libc::utimensat(
                    libc::AT_FDCWD,
                    c.as_ptr(),
                    times.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            if r != 0 {
                return Err(errno(io::Error::last_os_error()));
            }
        }
        let md = match &file {
            Some(f) => f.metadata(),
            None => fs::symlink_metadata(&abs),
        }
        .map_err(errno)?;
        Ok(attr(ino.0, &md))
    }

    fn do_open(&self, ino: INodeNo, flags: i32) -> Res<FileHandle> {
        let rel = self.inodes().path(ino)?;
        let file = self.open_backing(&rel, flags)?;
        if flags & libc::O_TRUNC != 0 && flags & libc::O_ACCMODE != libc::O_RDONLY {
            self.model().set_len(&file, 0).map_err(errno)?;
        }
        Ok(self.add_handle(file, ino, flags))
    }

    fn do_create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Res<(FileAttr, FileHandle)> {
        let rel = self.child(parent, name)?;
        let created = self.model().create_file(&rel, mode, flags);
        let file = match created {
            Ok(f) => {
                self.give_to_caller(req, &rel);
                f
            }
            // Raced with another creator and O_EXCL not asked: plain open.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && flags & libc::O_EXCL == 0 => {
                let f = self.open_backing(&rel, flags)?;
                if flags & libc::O_TRUNC != 0 {
                    self.model().set_len(&f, 0).map_err(errno)?;
                }
                f
            }
            Err(e) => return Err(errno(e)),
        };
        let md = file.metadata().map_err(errno)?;
        let ino = self.inodes().assign(md.ino(), rel);
        let fh = self.add_handle(file, INodeNo(ino), flags);
        Ok((attr(ino, &md), fh))
    }

    fn do_readdir(&self, ino: INodeNo) -> Res<Vec<(u64, FileType, std::ffi::OsString)>> {
        let rel = self.inodes().path(ino)?;
        let mut out = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        let rd = fs::read_dir(self.abs(&rel)).map_err(errno)?;
        for e in rd {
            let e = e.map_err(errno)?;
            let name = e.file_name();
            if ino == INodeNo::ROOT && name == GRAVEYARD {
                continue;
            }
            let ft = e.file_type().map_err(errno)?;
            let backing = e.metadata().map(|m| m.ino()).unwrap_or(0);
            let child = self.inodes().assign(backing, rel.join(&name));
            out.push((child, kind_of(ft), name));
        }
        Ok(out)
    }

    fn backing_ino(&self, rel: &Path) -> Option<u64> {
        fs::symlink_metadata(self.abs(rel)).ok().map(|m| m.ino())
    }
}

impl Filesystem for LazyFs {
    fn destroy(&mut self) {
        // Clean unmount: keep everything, make pending unlinks real.
        if let Err(e) = self.model().sync_all() {
            eprintln!("kafka-chaos-lazyfs: cleanup at unmount: {e}");
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.child(parent, name).and_then(|rel| self.entry_for(rel)) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let r = (|| {
            if let Some(Ok((f, _, _))) = fh.map(|fh| self.handle(fh)) {
                return f.metadata().map_err(errno);
            }
            let rel = self.inodes().path(ino)?;
            fs::symlink_metadata(self.abs(&rel)).map_err(errno)
        })();
        match r {
            Ok(md) => reply.attr(&TTL, &attr(ino.0, &md)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        match self.do_setattr(ino, mode, uid, gid, size, atime, mtime, fh) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self.child(parent, name).and_then(|rel| {
            self.model()
                .mkdir(&rel, mode & !umask & 0o7777)
                .map_err(errno)?;
            self.give_to_caller(req, &rel);
            self.entry_for(rel)
        });
        match r {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, reply, Durability::unlink)
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, reply, Durability::rmdir)
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = (|| {
            if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
                return Err(Errno::EINVAL);
            }
            let from = self.child(parent, name)?;
            let to = self.child(newparent, newname)?;
            let victim = self.backing_ino(&to);
            let src = self.backing_ino(&from);
            self.model()
                .rename(&from, &to, flags.contains(RenameFlags::RENAME_NOREPLACE))
                .map_err(errno)?;
            let mut inodes = self.inodes();
            if let Some(v) = victim.filter(|v| Some(*v) != src) {
                inodes.forget_backing(v);
            }
            inodes.renamed(&from, &to);
            Ok(())
        })();
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.do_open(ino, flags.0) {
            Ok(fh) => reply.opened(fh, FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.do_create(req, parent, name, mode & !umask & 0o7777, flags) {
            Ok((a, fh)) => reply.created(&TTL, &a, Generation(0), fh, FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let r = (|| {
            let (f, _, _) = self.handle(fh)?;
            let mut buf = vec![0u8; size as usize];
            let mut n = 0;
            while n < buf.len() {
                match f.read_at(&mut buf[n..], offset + n as u64) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(errno(e)),
                }
            }
            buf.truncate(n);
            Ok(buf)
        })();
        match r {
            Ok(b) => reply.data(&b),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let r = (|| {
            let (f, ino, sync) = self.handle(fh)?;
            let mut model = self.model();
            let n = model.write(&f, offset, data).map_err(errno)?;
            if sync {
                let rel = self.inodes().path(ino).ok();
                model.fsync(&f, rel.as_deref()).map_err(errno)?;
            }
            Ok(n)
        })();
        match r {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lo: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = (|| {
            let (f, _, _) = self.handle(fh)?;
            // A real sync of the backing file too, so that what fsync costs (the price of
            // `flush.messages = 1`) is a disk's, not only this model's bookkeeping.
            if datasync { f.sync_data() } else { f.sync_all() }.map_err(errno)?;
            let rel = self.inodes().path(ino).ok();
            self.model().fsync(&f, rel.as_deref()).map_err(errno)
        })();
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.do_readdir(ino) {
            Ok(entries) => {
                for (i, (child, kind, name)) in
                    entries.into_iter().enumerate().skip(offset as usize)
                {
                    if reply.add(INodeNo(child), (i + 1) as u64, kind, &name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = self
            .inodes()
            .path(ino)
            .and_then(|rel| self.model().fsyncdir(&rel).map_err(errno));
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let c = match cpath(&self.root) {
            Ok(c) => c,
            Err(e) => return reply.error(e),
        };
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return reply.error(errno(io::Error::last_os_error()));
        }
        reply.statfs(
            s.f_blocks,
            s.f_bfree,
            s.f_bavail,
            s.f_files,
            s.f_ffree,
            s.f_bsize as u32,
            s.f_namemax as u32,
            s.f_frsize as u32,
        );
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        // default_permissions: the kernel checks modes itself.
        reply.ok();
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let r = self.handle(fh).and_then(|(f, _, _)| {
            self.model()
                .fallocate(&f, mode, offset, length)
                .map_err(errno)
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}
