//! Start-up wiring: the engine, its store and the HTTP listeners, built once.
//!
//! `Application::build` binds the listeners (port 0 in tests) and returns something to
//! `run_until_stopped()`. The engine and every shared piece are created here, outside the
//! `HttpServer::new` factory, and cloned into the workers.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use simrelay_actors::store::Store;
use simrelay_actors::{Clock, Engine, EngineError};
use tracing_actix_web::TracingLogger;

use simrelay_actors::domain::PlatformName;

use crate::config::{CountryTable, FilteringMode, Settings, Side};
use crate::error::{not_found, JSON};
use crate::metrics::{Metrics, RequestMetrics};
use crate::platforms::onlinesim_v1::push_sms::PushSms;
use crate::platforms::onlinesim_v1::PullPlatform;
use crate::platforms::router::Router;
use crate::platforms::{onlinesim_v1, onlinesim_v2, PullRules};
use crate::state::{AppState, Readiness};
use crate::store::{MemoryStore, RedisStore};

/// A running simrelay: its listeners and engine.
pub struct Application {
    servers: Vec<Server>,
    port: u16,
    internal_port: Option<u16>,
    state: AppState,
    v2_syncs: Vec<Arc<onlinesim_v2::sync::ListSync>>,
}

impl Application {
    /// Builds simrelay with the store the settings name. Must run inside an actix System.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let store: Arc<dyn Store> = match &settings.store.redis_url {
            Some(url) => {
                let redis = Arc::new(RedisStore::open(
                    url.expose(),
                    &settings.store.key_prefix,
                    settings.store.command_timeout,
                    settings.store.lease,
                    settings.store.archive_ttl,
                )?);
                let check = Arc::clone(&redis);
                actix_web::rt::spawn(async move {
                    match check.check_persistence().await {
                        Ok(found) => tracing::info!(%found, "Redis persistence"),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not read Redis persistence settings (CONFIG GET)")
                        }
                    }
                });
                redis
            }
            None => {
                tracing::warn!(
                    "no store.redis_url: using the in-memory store, state is lost on restart"
                );
                Arc::new(MemoryStore::new())
            }
        };
        Application::build_with_store(settings, store, clock).await
    }

    /// Builds simrelay on a given store (tests, benches). The listeners serve at once; state is
    /// recovered from the store first, retried with backoff while the store is unreachable
    /// (readiness says why meanwhile).
    pub async fn build_with_store(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        for deprecation in &settings.deprecations {
            tracing::warn!("{deprecation}");
        }
        if settings
            .platforms
            .iter()
            .any(|p| p.name == PlatformName::onlinesim() && p.key.is_empty())
        {
            tracing::warn!("onlinesim.api_key is empty: every v1 request will be refused");
        }
        let countries = CountryTable::builtin()?;
        let sims = settings.sim_specs().to_vec();
        let mut engine_settings = settings.engine();
        if settings.filtering.mode == FilteringMode::Partner {
            engine_settings.filter = Some(settings.service_patterns().clone().into_filter());
        }
        let engine = Engine::new(Arc::clone(&store), Arc::clone(&clock), engine_settings);
        let metrics = Metrics::new().context("registering metrics")?;
        let countries = Arc::new(countries);
        let mut router = Router::default();
        let mut v2s = Vec::new();
        let mut batching = false;
        for platform in &settings.platforms {
            metrics.platform(platform.name.as_str());
            match (&platform.side, PullRules::of(platform.protocol)) {
                (
                    Side::Pull {
                        push_url: Some(url),
                        ..
                    },
                    Some(rules),
                ) => {
                    let push = PushSms::new(&settings, platform, rules, url, metrics.clone())?;
                    router.add(platform.name.clone(), Arc::new(push));
                }
                (Side::Pull { .. }, _) => tracing::warn!(
                    platform = %platform.name,
                    "no push_url (onlinesim.push_sms_url for the [onlinesim] section): SMS of this platform are stored but not delivered until it is set"
                ),
                (Side::Push(v2_settings), _) => {
                    batching |= v2_settings.batch_every.is_some();
                    let v2 = onlinesim_v2::start(
                        &settings,
                        platform,
                        v2_settings,
                        &engine,
                        Arc::clone(&clock),
                        &countries,
                        &metrics,
                    )?;
                    router.add(platform.name.clone(), v2.sink.clone());
                    v2s.push(v2);
                }
            }
        }
        if !router.is_empty() {
            let mut delivery = settings.delivery();
            if batching {
                // Every SMS of a batch waits for the batch: let a whole batch be in flight.
                delivery.concurrency = delivery.concurrency.max(512);
            }
            engine.attach_delivery(Arc::new(router), delivery);
        }
        let state = AppState {
            engine,
            operators: Arc::new(settings.operator_table().clone()),
            settings: Arc::new(settings),
            metrics,
            readiness: Readiness::not_ready("recovering state from the store"),
            countries,
            v2_health: v2s
                .iter()
                .map(|v| (v.platform.clone(), v.health.clone()))
                .collect(),
            store: Arc::clone(&store),
        };
        let server = &state.settings.server;
        let listener = TcpListener::bind(server.listen)
            .with_context(|| format!("cannot listen on server.listen = {}", server.listen))?;
        let port = listener.local_addr()?.port();
        if let Some(warning) = server.exposure_warning() {
            tracing::warn!("{warning}");
        }
        let mut servers = Vec::new();
        let internal_port = match server.internal_listen {
            Some(addr) => {
                let internal = TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on server.internal_listen = {addr}"))?;
                let internal_port = internal.local_addr()?.port();
                servers.push(serve(listener, &state, Surface::Platform)?);
                servers.push(serve(internal, &state, Surface::Internal)?);
                Some(internal_port)
            }
            None => {
                servers.push(serve(listener, &state, Surface::Both)?);
                None
            }
        };
        tracing::info!(port, ?internal_port, "simrelay listening");
        // Only the holder of the deployment's lease recovers and serves. A lone process takes
        // the lease at once; a standby serves /healthz and /readyz meanwhile and takes over
        // (recovering from the store) when the holder stops renewing.
        if tokio::time::timeout(LEASE_AT_START, store.until_leader())
            .await
            .is_ok()
        {
            match state.engine.recover(sims.clone()).await {
                Ok(_) => {
                    state.readiness.set_ready();
                    tracing::info!(sims = state.engine.sim_count(), "state recovered; ready");
                }
                // A store this simrelay cannot read: refuse to start.
                Err(EngineError::Schema(why)) => anyhow::bail!("{why}"),
                Err(e) => {
                    state
                        .readiness
                        .set_not_ready(format!("recovering state from the store: {e}"));
                    tracing::error!(error = %e, "recovery failed; retrying in the background");
                    actix_web::rt::spawn(keep_recovering(state.clone(), sims));
                }
            }
        } else {
            state
                .readiness
                .set_not_ready("standby: another process holds the lease");
            let (waiting, leader) = (state.clone(), store.until_leader());
            actix_web::rt::spawn(async move {
                leader.await;
                tracing::info!("took over the lease: recovering state from the store");
                waiting
                    .readiness
                    .set_not_ready("recovering state from the store");
                keep_recovering(waiting, sims).await;
            });
        }
        Ok(Application {
            servers,
            port,
            internal_port,
            state,
            v2_syncs: v2s.into_iter().map(|v| v.sync).collect(),
        })
    }

    /// The platform-facing port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The internal port, when `server.internal_listen` is set.
    pub fn internal_port(&self) -> Option<u16> {
        self.internal_port
    }

    /// The list task of the first v2 platform, for tests that drive its cadence.
    pub fn v2_sync(&self) -> Option<&Arc<onlinesim_v2::sync::ListSync>> {
        self.v2_syncs.first()
    }

    /// The list task of every v2 platform, in config order.
    pub fn v2_syncs(&self) -> &[Arc<onlinesim_v2::sync::ListSync>] {
        &self.v2_syncs
    }

    /// The engine, for tests.
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// The store (its role, its lease).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.state.store)
    }

    /// Serves until the listeners stop (a signal in production).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        futures::future::try_join_all(self.servers).await.map(drop)
    }
}

async fn recover(state: &AppState, sims: Vec<simrelay_actors::SimSpec>) -> Result<(), EngineError> {
    match state.engine.recover(sims).await {
        Ok(_) => {
            state.readiness.set_ready();
            tracing::info!(sims = state.engine.sim_count(), "state recovered; ready");
            Ok(())
        }
        Err(e) => {
            state
                .readiness
                .set_not_ready(format!("recovering state from the store: {e}"));
            Err(e)
        }
    }
}

/// How long a graceful stop waits for the SMS deliveries in flight: the longest attempt of any
/// platform (its timeout, and a batch's wait), one write of its outcome, and a second of margin.
pub fn drain_limit(settings: &Settings) -> Duration {
    let attempt = settings
        .platforms
        .iter()
        .map(|p| match &p.side {
            Side::Pull { .. } => settings.push_sms.timeout,
            Side::Push(v2) => v2.endpoint.timeout + v2.batch_every.unwrap_or_default(),
        })
        .max()
        .unwrap_or(settings.push_sms.timeout);
    attempt + settings.store.command_timeout + Duration::from_secs(1)
}

/// How long start-up waits for the lease before it serves as a standby (a lone process takes it
/// in one round trip).
const LEASE_AT_START: Duration = Duration::from_secs(2);

/// Retries recovery with exponential backoff (1 s up to 30 s) until it succeeds; the first
/// attempt at once.
async fn keep_recovering(state: AppState, sims: Vec<simrelay_actors::SimSpec>) {
    let mut delay = Duration::from_secs(1);
    match recover(&state, sims.clone()).await {
        Ok(()) => return,
        Err(EngineError::Schema(why)) => return tracing::error!("{why}; not retrying"),
        Err(_) => {}
    }
    loop {
        tokio::time::sleep(delay).await;
        match recover(&state, sims.clone()).await {
            Ok(()) => return,
            Err(EngineError::Schema(why)) => return tracing::error!("{why}; not retrying"),
            Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "recovery failed"),
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Which routes a listener serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Platform,
    Internal,
    Both,
}

fn serve(listener: TcpListener, state: &AppState, surface: Surface) -> anyhow::Result<Server> {
    let data = web::Data::new(state.clone());
    // One route per platform that calls us, with its key and rules; v2 platforms never call.
    let pulls: Vec<(String, web::Data<PullPlatform>)> = state
        .settings
        .platforms
        .iter()
        .filter_map(|p| {
            let rules = PullRules::of(p.protocol)?;
            let path = p.path()?.to_owned();
            let platform = PullPlatform {
                platform: p.clone(),
                rules,
            };
            Some((path, web::Data::new(platform)))
        })
        .collect();
    // One set of status page sessions per listener: only one listener serves /status.
    let sessions = web::Data::new(crate::status::Sessions::default());
    let workers = state.settings.server.workers;
    let nodelay = state.settings.server.tcp_nodelay;
    // Shares the series created once in `Metrics::new`; each worker gets a handle.
    let requests = state.metrics.requests().clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(Compress::default())
            .wrap(TracingLogger::default())
            // Outermost: counts every answer, errors and 404s included, by route pattern.
            .wrap(requests.middleware())
            .app_data(data.clone())
            .configure(|cfg| {
                if surface != Surface::Internal {
                    for (path, platform) in &pulls {
                        cfg.service(
                            web::resource(path.as_str())
                                .app_data(platform.clone())
                                .route(web::post().to(onlinesim_v1::endpoint)),
                        );
                    }
                }
                if surface != Surface::Platform {
                    crate::ops::routes(cfg);
                    crate::admin::routes(cfg);
                    crate::gateway::routes(cfg);
                    crate::status::routes(cfg, sessions.clone());
                }
            })
            .default_service(web::to(not_found))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    // actix's 5 s default can close a kept-alive connection right after a request that took
    // longer (a large bank list on a slow box), under a client about to reuse it.
    server = server.keep_alive(KEEP_ALIVE).tcp_nodelay(nodelay);
    Ok(server.listen(listener)?.run())
}

/// How long an idle kept-alive connection stays open (nginx's default).
const KEEP_ALIVE: Duration = Duration::from_secs(75);

/// The fixed GET_NUMBER answer of the ceiling server.
const CEILING_REPLY: &str = r#"{"number":79281234567,"activationId":355,"status":"SUCCESS"}"#;

/// The load driver's ceiling: the same actix-web stack and middleware as simrelay, answering a
/// fixed GET_NUMBER reply after reading the body, with the same listener options (keep-alive,
/// `tcp_nodelay`). What simrelay's engine costs is the gap between the two.
pub fn ceiling_server(
    listener: TcpListener,
    v1_path: &str,
    workers: usize,
    tcp_nodelay: bool,
) -> std::io::Result<Server> {
    let path = v1_path.to_owned();
    // The same request metrics as simrelay's listeners, in a registry of its own.
    let requests =
        RequestMetrics::new(&prometheus::Registry::new()).map_err(std::io::Error::other)?;
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(Compress::default())
            .wrap(TracingLogger::default())
            .wrap(requests.middleware())
            .route(
                &path,
                web::post().to(|body: web::Bytes| async move {
                    let _ = body.len();
                    HttpResponse::Ok().content_type(JSON).body(CEILING_REPLY)
                }),
            )
            .default_service(web::to(not_found))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    server = server.keep_alive(KEEP_ALIVE).tcp_nodelay(tcp_nodelay);
    Ok(server.listen(listener)?.run())
}
