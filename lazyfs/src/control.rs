//! Control channel: a unix socket, one request line in, one JSON line out.
//! Requests: `power-loss`, `status`, `ping`.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::durability::{Durability, Report};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no lazyfs daemon answered on {path} within {secs} s: {source}")]
    NoAnswer {
        path: PathBuf,
        secs: u64,
        #[source]
        source: io::Error,
    },
    #[error("lazyfs daemon on {path} returned an error: {msg}")]
    Daemon { path: PathBuf, msg: String },
}

/// `status` answer: what a power cut would discard now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    #[serde(flatten)]
    pub would_lose: Report,
    pub powered_off: bool,
}

fn answer(model: &Mutex<Durability>, req: &str) -> String {
    let mut m = model.lock().unwrap_or_else(|e| e.into_inner());
    let r = match req.trim() {
        "power-loss" => serde_json::to_string(&m.power_loss()),
        "status" => match m.status() {
            Ok(r) => serde_json::to_string(&Status {
                would_lose: r,
                powered_off: m.is_powered_off(),
            }),
            Err(e) => return format!("{{\"error\":{}}}", serde_json::json!(e.to_string())),
        },
        "ping" => return "{\"ok\":true}".into(),
        other => {
            return format!(
                "{{\"error\":{}}}",
                serde_json::json!(format!("unknown request {other:?}"))
            )
        }
    };
    r.unwrap_or_else(|e| format!("{{\"error\":{}}}", serde_json::json!(e.to_string())))
}

fn serve_one(model: &Mutex<Durability>, s: UnixStream) -> io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line)?;
    let mut out = answer(model, &line);
    out.push('\n');
    (&s).write_all(out.as_bytes())
}

/// Binds `path` (replacing a stale socket) and answers requests on a thread.
pub fn serve(path: &Path, model: Arc<Mutex<Durability>>) -> io::Result<JoinHandle<()>> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    thread::Builder::new()
        .name("lazyfs-control".into())
        .spawn(move || {
            for s in listener.incoming() {
                match s {
                    Ok(s) => {
                        if let Err(e) = serve_one(&model, s) {
                            eprintln!("kafka-chaos-lazyfs: control request failed: {e}");
                        }
                    }
                    Err(e) => eprintln!("kafka-chaos-lazyfs: control accept failed: {e}"),
                }
            }
        })
}

/// Sends one request and returns the daemon's JSON line. Retries connecting
/// until `timeout` (the daemon may still be starting).
pub fn request(path: &Path, req: &str, timeout: Duration) -> Result<String, ControlError> {
    let deadline = Instant::now() + timeout;
    let no_answer = |source| ControlError::NoAnswer {
        path: path.to_path_buf(),
        secs: timeout.as_secs(),
        source,
    };
    let s = loop {
        match UnixStream::connect(path) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => return Err(no_answer(e)),
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    };
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    let io = (|| {
        s.set_read_timeout(Some(left))?;
        (&s).write_all(format!("{req}\n").as_bytes())?;
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line)?;
        if line.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed without an answer",
            ));
        }
        Ok(line.trim_end().to_string())
    })();
    let line = io.map_err(no_answer)?;
    if line.starts_with("{\"error\"") {
        return Err(ControlError::Daemon {
            path: path.to_path_buf(),
            msg: line,
        });
    }
    Ok(line)
}
