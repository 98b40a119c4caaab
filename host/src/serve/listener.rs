//! Listeners, connections and the server's life: bind, accept within the
//! connection cap, TLS when configured, hyper with a header-read timeout and
//! a head-size cap, hot reload on a timer and on `SIGHUP`, and graceful
//! shutdown on `SIGTERM` or `SIGINT` (stop accepting, let in-flight requests
//! finish within the grace period).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::config::ConfigError;
use super::{App, ServeConfig};
use crate::admin::LiveHost;

/// What the server printed on stdout once it listens: tests and scripts
/// read the bound addresses from it (useful with port 0).
#[derive(Debug, serde::Serialize)]
struct Listening {
    event: &'static str,
    public: String,
    ops: Option<String>,
    tls: bool,
}

/// Binds, serves until a shutdown signal, then drains.
///
/// # Errors
/// A configuration the server refuses, TLS files that cannot be read, or a
/// listener that cannot bind.
pub async fn run(config: ServeConfig, live: LiveHost) -> Result<(), ServeError> {
    config.check()?;
    if config.tokens.is_empty() {
        tracing::warn!(target: "kinga::http", "no API tokens are configured: every /v1 route except the OpenAPI document will answer 401");
    }
    let tls = match &config.tls {
        Some(files) => Some(tls_acceptor(&files.cert, &files.key)?),
        None => None,
    };
    let bind = |addr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|cause| ServeError::Bind { addr, cause })
    };
    let public = bind(config.listen).await?;
    let ops = match config.ops_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let app = App::new(config, live);
    let worker = match &app.config.primero {
        Some(primero) => {
            let dir = app.store.as_ref().map(|s| s.dir().to_path_buf());
            let primero = super::primero::Primero::new(primero, dir.as_deref())?;
            let _ = app.primero.set(Arc::new(primero));
            super::primero::spawn_worker(Arc::clone(&app))
        }
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let graceful = Arc::new(GracefulShutdown::new());
    let connections = Arc::new(tokio::sync::Semaphore::new(
        app.config.limits.max_connections,
    ));
    let announce = Listening {
        event: "listening",
        public: local(&public),
        ops: ops.as_ref().map(local),
        tls: tls.is_some(),
    };
    println!("{}", serde_json::to_string(&announce).unwrap_or_default());
    tracing::info!(target: "kinga::http", public = %announce.public, ops = ?announce.ops, tls = announce.tls, "listening");

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(accept_loop(
        public,
        super::public_router(Arc::clone(&app)),
        tls,
        Arc::clone(&app),
        Arc::clone(&graceful),
        Arc::clone(&connections),
        stop_rx.clone(),
    )));
    if let Some(ops) = ops {
        tasks.push(tokio::spawn(accept_loop(
            ops,
            super::ops_router(Arc::clone(&app)),
            None,
            Arc::clone(&app),
            Arc::clone(&graceful),
            Arc::clone(&connections),
            stop_rx.clone(),
        )));
    }
    let reloader = tokio::spawn(reload_loop(Arc::clone(&app), stop_rx.clone()));

    wait_for_shutdown(&app).await;
    app.draining.store(true, Ordering::SeqCst);
    tracing::info!(target: "kinga::http", "shutting down: no new connections; in-flight requests finish");
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    reloader.abort();
    if let Some(primero) = app.primero.get() {
        // The worker finishes the request in hand; what is left stays in
        // the outbox for the next start.
        primero.stop();
    }
    drop(worker);
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        unreachable!("the accept loops, the only other holders, have ended")
    };
    let grace = app.config.limits.shutdown_grace();
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!(target: "kinga::http", "stopped"),
        Err(_) => {
            tracing::warn!(target: "kinga::http", "stopped with requests still open after the grace period")
        }
    }
    let last = Arc::clone(&app);
    let _ = tokio::task::spawn_blocking(move || last.audit_due_refusals(true)).await;
    Ok(())
}

fn local(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// Waits for `SIGTERM`, `SIGINT` (or Ctrl-C); reloads on `SIGHUP`.
async fn wait_for_shutdown(app: &Arc<App>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = int.recv() => return,
                _ = hup.recv() => {
                    let app = Arc::clone(app);
                    let _ = tokio::task::spawn_blocking(move || {
                        if let Err(e) = app.reload() {
                            tracing::warn!(target: "kinga::http", error = %e, "reload on SIGHUP failed; the last good host stays");
                        }
                    }).await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Checks for a newer administration state every interval.
async fn reload_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let seconds = app.config.reload_interval_seconds;
    if seconds == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let app = Arc::clone(&app);
                let _ = tokio::task::spawn_blocking(move || {
                    app.reload_if_changed();
                    app.rate.forget_quiet();
                    app.audit_due_refusals(false);
                }).await;
            }
            _ = stop.changed() => return,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Arc<App>,
    graceful: Arc<GracefulShutdown>,
    connections: Arc<tokio::sync::Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(target: "kinga::http", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            // Over the connection cap: close at once rather than queue.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = TowerToHyperService::new(service);
        let limits = app.config.limits.clone();
        // A watcher per connection, so that only the accept loops hold the
        // shutdown handle and `run` gets it back when they end.
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout())
                .max_buf_size(limits.max_header_bytes)
                .keep_alive(true);
            match tls {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_timeout(), acceptor.accept(stream))
                            .await;
                    let Ok(Ok(stream)) = handshake else {
                        return;
                    };
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(connection).await;
                }
            }
        });
    }
}

/// A TLS acceptor from PEM files (HTTP/1.1 only).
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServeError::tls(cert, e))?;
    if chain.is_empty() {
        return Err(ServeError::tls(cert, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServeError::tls(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ServeError::TlsSetup)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(ServeError::TlsMismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Builds the host and serves, on a runtime of its own: the `kinga serve`
/// entry point.
///
/// # Errors
/// See [`run`].
pub fn serve_blocking(config: ServeConfig, live: LiveHost) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kinga-http")
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(run(config, live))
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener cannot bind its address.
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        cause: std::io::Error,
    },
    /// A TLS file cannot be read or holds no usable PEM.
    #[error("{path}: {problem}")]
    TlsFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The TLS library refused its own defaults (a bug).
    #[error("TLS set-up failed: {0}")]
    TlsSetup(rustls::Error),
    /// The certificate does not belong to the key.
    #[error("the TLS certificate and key do not fit: {0}")]
    TlsMismatch(rustls::Error),
    /// The async runtime cannot start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl ServeError {
    fn tls(path: &std::path::Path, problem: impl std::fmt::Display) -> Self {
        ServeError::TlsFile {
            path: path.display().to_string(),
            problem: problem.to_string(),
        }
    }
}
