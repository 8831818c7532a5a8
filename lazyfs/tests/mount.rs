//! Really mounts the filesystem (needs root and /dev/fuse) and checks a power
//! cut end to end through the CLI.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kafka-chaos-lazyfs");

fn is_mounted(mnt: &Path) -> bool {
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let m = mnt.to_string_lossy();
    mi.lines().any(|l| l.split(' ').nth(4) == Some(&*m))
}

/// Stops the daemon (SIGTERM) and makes sure nothing stays mounted, even when
/// the test fails half-way.
struct Daemon {
    child: Child,
    mnt: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if is_mounted(&self.mnt) {
            let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        }
    }
}

fn start(backing: &Path, mnt: &Path, ctl: &Path) -> Daemon {
    let mut child = Command::new(BIN)
        .args(["mount", "--backing"])
        .arg(backing)
        .arg("--mountpoint")
        .arg(mnt)
        .arg("--control")
        .arg(ctl)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kafka-chaos-lazyfs");
    let stderr = child.stderr.take().unwrap();
    let daemon = Daemon {
        child,
        mnt: mnt.to_path_buf(),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[daemon] {line}");
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.contains("ready") => break,
            Ok(_) => continue,
            Err(_) => panic!("daemon did not report ready within 20 s (see [daemon] lines above)"),
        }
    }
    assert!(
        is_mounted(mnt),
        "daemon said ready but {} is not mounted",
        mnt.display()
    );
    daemon
}

fn cli(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Writes through a shared writable mapping; msync(MS_SYNC) if asked (which
/// the kernel turns into a FUSE fsync, as Kafka's MappedByteBuffer.force()).
fn mmap_write(f: &File, offset: usize, data: &[u8], len: usize, msync: bool) {
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(
            p,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        std::ptr::copy_nonoverlapping(data.as_ptr(), (p as *mut u8).add(offset), data.len());
        if msync {
            assert_eq!(
                libc::msync(p, len, libc::MS_SYNC),
                0,
                "msync: {}",
                std::io::Error::last_os_error()
            );
        }
        libc::munmap(p, len);
    }
}

#[test]
fn power_loss_through_a_real_mount() {
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is missing: this test needs the fuse device (and root) to mount kafka-chaos-lazyfs; \
         it does not skip silently"
    );
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test must run as root to mount FUSE without fusermount"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (backing, mnt, ctl) = (
        tmp.path().join("backing"),
        tmp.path().join("mnt"),
        tmp.path().join("ctl.sock"),
    );
    fs::create_dir_all(&backing).unwrap();
    fs::write(backing.join("pre-existing"), b"durable at mount").unwrap();
    let daemon = start(&backing, &mnt, &ctl);
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;

    // A file with a synced prefix and an unsynced tail.
    let mut a = File::create(mnt.join("synced.log")).unwrap();
    a.write_all(b"AAAA").unwrap();
    a.sync_all().unwrap();
    a.write_all(b"BBBB").unwrap();
    drop(a);
    // A file never synced.
    fs::write(mnt.join("unsynced.log"), b"CCCCCC").unwrap();
    // An index-like file: preallocated, synced, then written through mmap:
    // once with msync (durable), once without (dirty page written back at close).
    let idx = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(mnt.join("0.index"))
        .unwrap();
    idx.set_len(page as u64).unwrap();
    idx.sync_all().unwrap();
    mmap_write(&idx, 0, b"MMAP", page, true);
    mmap_write(&idx, 8, b"LATE", page, false);
    drop(idx); // close: FUSE flush writes the dirty page back
    assert_eq!(
        &fs::read(backing.join("0.index")).unwrap()[..12],
        b"MMAP\0\0\0\0LATE",
        "mmap writes did not reach the backing file"
    );
    // A synced file renamed without a directory fsync (Kafka's checkpoint pattern).
    let mut c = File::create(mnt.join("cp.tmp")).unwrap();
    c.write_all(b"checkpoint").unwrap();
    c.sync_all().unwrap();
    drop(c);
    fs::rename(mnt.join("cp.tmp"), mnt.join("cp")).unwrap();
    // Everything is written through at once.
    assert_eq!(fs::read(backing.join("synced.log")).unwrap(), b"AAAABBBB");
    assert_eq!(
        fs::read(mnt.join("pre-existing")).unwrap(),
        b"durable at mount"
    );
    let names: Vec<_> = fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !names.iter().any(|n| n == ".lazyfs-graveyard"),
        "graveyard visible: {names:?}"
    );

    let st = cli(&["status", "--control", ctl.to_str().unwrap()]);
    assert_eq!(st["powered_off"], false, "{st}");
    assert_eq!(st["files_removed"], 1, "{st}");

    let r = cli(&["power-loss", "--control", ctl.to_str().unwrap()]);
    eprintln!("power-loss: {r}");
    // 4 unsynced bytes + 6 in the never-synced file + the page written back
    // without msync.
    assert_eq!(r["bytes_lost"], (4 + 6 + page) as u64, "{r}");
    assert_eq!(r["files_truncated"], 2, "{r}");
    assert_eq!(r["files_removed"], 1, "{r}");
    assert_eq!(r["renames_reverted"], 1, "{r}");
    assert_eq!(r["errors"], 0, "{r}");

    assert_eq!(fs::read(backing.join("synced.log")).unwrap(), b"AAAA");
    assert!(!backing.join("unsynced.log").exists());
    let mut want = vec![0u8; page];
    want[..4].copy_from_slice(b"MMAP");
    assert_eq!(
        fs::read(backing.join("0.index")).unwrap(),
        want,
        "msync'd bytes kept, later ones undone"
    );
    assert_eq!(fs::read(backing.join("cp.tmp")).unwrap(), b"checkpoint");
    assert!(!backing.join("cp").exists());
    assert_eq!(
        fs::read(backing.join("pre-existing")).unwrap(),
        b"durable at mount"
    );

    // The power is off: writes through the mount fail with EIO.
    let e = OpenOptions::new()
        .write(true)
        .open(mnt.join("synced.log"))
        .and_then(|mut f| f.write_all(b"late"))
        .expect_err("write after power loss must fail");
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    assert_eq!(fs::read(backing.join("synced.log")).unwrap(), b"AAAA");
    let st = cli(&["status", "--control", ctl.to_str().unwrap()]);
    assert_eq!(st["powered_off"], true, "{st}");

    drop(daemon);
    assert!(!is_mounted(&mnt), "still mounted after the daemon stopped");

    // No daemon: the CLI must fail, not hang or pretend.
    let out = Command::new(BIN)
        .args(["status", "--control", ctl.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lazyfs daemon answered"));
}
