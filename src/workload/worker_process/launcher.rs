//! Where each client's worker lives and how it is started.

use super::*;

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
