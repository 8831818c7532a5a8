//! CLI: `mount` runs the daemon in the foreground; `power-loss` and `status`
//! talk to it over the control socket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use fuser::{Config, MountOption, Session, SessionACL};
use kafka_chaos_lazyfs::{control, fs::LazyFs, Durability};

#[derive(Parser)]
#[command(
    name = "kafka-chaos-lazyfs",
    version,
    about = "FUSE filesystem that loses unsynced writes on command, like a power cut"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Mount BACKING at MOUNTPOINT and serve in the foreground until SIGTERM/SIGINT.
    Mount {
        #[arg(long)]
        backing: PathBuf,
        #[arg(long)]
        mountpoint: PathBuf,
        /// Unix socket for `power-loss` / `status`.
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// Discard every unsynced change now and refuse further writes; prints JSON totals.
    PowerLoss {
        #[arg(long)]
        control: PathBuf,
    },
    /// Print what a power cut would discard now, as JSON.
    Status {
        #[arg(long)]
        control: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Mount {
            backing,
            mountpoint,
            control,
        } => run_mount(&backing, &mountpoint, control.as_deref()),
        Cmd::PowerLoss { control } => ask(&control, "power-loss"),
        Cmd::Status { control } => ask(&control, "status"),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafka-chaos-lazyfs: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ask(path: &Path, req: &str) -> Result<(), Box<dyn std::error::Error>> {
    let line = control::request(path, req, Duration::from_secs(10))?;
    println!("{line}");
    Ok(())
}

/// Blocks the termination signals in this thread and every thread spawned
/// later, so the main thread alone receives them through sigtimedwait.
fn block_signals() -> libc::sigset_t {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Kafka keeps a file descriptor per segment and index: lift the fd limit.
fn raise_nofile() {
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn run_mount(
    backing: &Path,
    mountpoint: &Path,
    ctl: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(backing)?;
    std::fs::create_dir_all(mountpoint)?;
    if !Path::new("/dev/fuse").exists() {
        return Err(
            "/dev/fuse is missing (run the container with --device /dev/fuse --cap-add SYS_ADMIN)"
                .into(),
        );
    }
    let sigs = block_signals();
    raise_nofile();

    let model = Arc::new(Mutex::new(Durability::new(backing)?));
    let fs = LazyFs::new(model.clone())?;
    if let Some(p) = ctl {
        control::serve(p, model.clone())?;
    }

    let mut cfg = Config::default();
    cfg.mount_options = vec![
        MountOption::FSName("kafka-chaos-lazyfs".into()),
        MountOption::Subtype("lazyfs".into()),
        MountOption::DefaultPermissions,
    ];
    cfg.acl = SessionACL::All; // allow_other: the broker may run as another user
                               // As root this is a direct mount(2) of type fuse.lazyfs; fuser only falls
                               // back to the fusermount helper (absent in the container) on EPERM.
    let session = Session::new(fs, mountpoint, &cfg).map_err(|e| {
        format!(
            "mounting FUSE at {}: {e} (needs root with CAP_SYS_ADMIN and /dev/fuse)",
            mountpoint.display()
        )
    })?;
    let bg = session.spawn()?;
    eprintln!(
        "kafka-chaos-lazyfs: mounted {} at {} (control: {}), ready",
        backing.display(),
        mountpoint.display(),
        ctl.map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into())
    );

    // Wait for a signal, or for the session to end (unmounted from outside).
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    loop {
        let sig = unsafe { libc::sigtimedwait(&sigs, std::ptr::null_mut(), &ts) };
        if sig > 0 {
            eprintln!(
                "kafka-chaos-lazyfs: signal {sig}, unmounting {}",
                mountpoint.display()
            );
            break;
        }
        if bg.guard.is_finished() {
            eprintln!("kafka-chaos-lazyfs: unmounted from outside");
            break;
        }
    }

    if !bg.guard.is_finished() {
        // A plain umount fails with EBUSY while the broker still holds files;
        // detach lazily then, so the mountpoint is free at once.
        if let Ok(c) = std::ffi::CString::new(mountpoint.as_os_str().as_encoded_bytes()) {
            if unsafe { libc::umount2(c.as_ptr(), 0) } != 0 {
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }
    // The session thread ends when the kernel sends DESTROY (last user gone).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bg.guard.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if bg.guard.is_finished() {
        if let Err(e) = bg.join() {
            eprintln!("kafka-chaos-lazyfs: session ended with: {e}");
        }
    } else {
        eprintln!("kafka-chaos-lazyfs: files still open on the detached mount; exiting anyway");
        let _ = model.lock().unwrap_or_else(|e| e.into_inner()).sync_all();
    }
    if let Some(p) = ctl {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("kafka-chaos-lazyfs: unmounted");
    Ok(())
}
