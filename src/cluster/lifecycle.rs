//! A cluster's life around the work done on it: started or connected, the body run as a task
//! that Ctrl-C or SIGTERM ends, and everything of the run removed afterwards whatever happened.

use super::*;

/// Start a cluster, run `body` on it, and remove everything of the run afterwards, whatever
/// happened: success, error, Ctrl-C/SIGTERM (Error::Interrupted) or a panic in `body`.
pub async fn with_cluster<F, Fut, T>(spec: &ClusterSpec, body: F) -> Result<T>
where
    F: FnOnce(Arc<ContainerCluster>) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let docker = docker::connect().await?;
    let run_id = docker::new_run_id();
    let outcome = guarded(async { Ok(Arc::new(ContainerCluster::start(&docker, spec, &run_id).await?)) }, body).await;
    let removed = docker::remove_labelled(&docker, Some(&run_id)).await;
    match (&outcome, removed) {
        (_, Ok(r)) => tracing::info!(run = %run_id, containers = r.containers.len(), networks = r.networks.len(), "removed the run's containers"),
        (Ok(_), Err(e)) => return Err(e),
        (Err(_), Err(e)) => eprintln!("warning: clean-up failed: {e}; run `kafka-chaos clean --run {run_id}`"),
    }
    outcome
}

/// Connect to an external cluster, run `body` on it, and afterwards delete every topic the
/// harness created there and did not delete, whatever happened. Nothing else is touched.
pub async fn with_external<F, Fut, T>(spec: &crate::model::environment::External, body: F) -> Result<T>
where
    F: FnOnce(Arc<ExternalCluster>) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let held: std::sync::Mutex<Option<Arc<ExternalCluster>>> = std::sync::Mutex::new(None);
    let connect = async {
        let cluster = Arc::new(ExternalCluster::connect(spec).await?);
        *held.lock().unwrap() = Some(cluster.clone());
        Ok(cluster)
    };
    let outcome = guarded(connect, body).await;
    let cluster = held.lock().unwrap().take();
    if let Some(cluster) = cluster {
        cluster.remove_own_topics().await;
    }
    outcome
}

/// Get a cluster, then run `body` on it as a task, ending early on Ctrl-C or SIGTERM (with
/// Error::Interrupted) and turning a panic into an error. Clean-up is the caller's.
async fn guarded<C, G, F, Fut, T>(get: G, body: F) -> Result<T>
where
    G: std::future::Future<Output = Result<Arc<C>>>,
    F: FnOnce(Arc<C>) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    // One listener for the whole run: a signal that arrives between two listeners would be lost.
    let interrupt = interrupted();
    tokio::pin!(interrupt);
    let cluster = tokio::select! {
        got = get => got?,
        _ = &mut interrupt => return Err(Error::Interrupted),
    };
    let mut task = tokio::spawn(body(cluster));
    tokio::select! {
        joined = &mut task => match joined {
            Ok(result) => result,
            Err(e) => Err(Error::infra(format!("internal error (a bug; please report it): {e}"))),
        },
        _ = &mut interrupt => {
            task.abort();
            Err(Error::Interrupted)
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
