//! Spawning a worker from one thread that lives as long as the harness (its death signal is
//! tied to the thread that forked it).

use super::*;

pub(super) type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Fork `command` from the one long-lived spawner thread, with the child set to die with us.
pub(super) fn spawn_child(mut command: Command) -> io::Result<Child> {
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
