//! What every fake platform shares: an actix server on a free port (stopped when dropped, or
//! stopped and started again on the same port, as a platform going away and coming back) and
//! the capture of one request (method, path, query, headers, body with gzip undone). Each fake
//! adds its protocol: what it answers and what it remembers.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, FromRequest, Handler, HttpRequest, HttpResponse, HttpServer, Responder};
use futures::StreamExt;

/// One request as a fake received it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// `POST`, `GET`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string as sent.
    pub raw_query: String,
    /// Header name (lower case) → value (repeated headers joined with ", ").
    pub headers: BTreeMap<String, String>,
    /// The body as sent.
    pub raw: Vec<u8>,
    /// The body with a gzip encoding undone (by its magic bytes, whatever the headers say).
    pub body: Vec<u8>,
}

/// Reads the whole request; `Err` answers 400 when the body cannot be read.
pub async fn capture(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Captured, HttpResponse> {
    let mut raw = Vec::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(bytes) => raw.extend_from_slice(&bytes),
            Err(_) => return Err(HttpResponse::BadRequest().finish()),
        }
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in req.headers() {
        let value = value.to_str().unwrap_or("<not text>").to_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        match flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => Vec::new(),
        }
    } else {
        raw.clone()
    };
    Ok(Captured {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        raw_query: req.query_string().to_owned(),
        headers,
        raw,
        body,
    })
}

/// A fake's HTTP server: every request goes to one handler, which gets `state` as
/// `web::Data<S>`.
pub struct FakeServer<S: 'static> {
    port: u16,
    state: web::Data<S>,
    serve: Box<dyn Fn(TcpListener) -> ServerHandle>,
    handle: Option<ServerHandle>,
}

impl<S: Send + Sync + 'static> FakeServer<S> {
    /// Serves on a free port; `handler` answers every request.
    pub fn start<F, Args>(state: S, handler: F) -> FakeServer<S>
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a fake platform");
        FakeServer::start_on_listener(listener, state, handler)
    }

    /// Serves on a given port (one that was closed before: "the platform comes back").
    pub fn start_on<F, Args>(port: u16, state: S, handler: F) -> FakeServer<S>
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind a fake platform's port");
        FakeServer::start_on_listener(listener, state, handler)
    }

    fn start_on_listener<F, Args>(listener: TcpListener, state: S, handler: F) -> FakeServer<S>
    where
        F: Handler<Args> + Send + Sync,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let port = listener.local_addr().expect("address").port();
        let state = web::Data::new(state);
        let data = state.clone();
        let serve = move |listener: TcpListener| {
            let (data, handler) = (data.clone(), handler.clone());
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(handler.clone()))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .expect("serve a fake platform")
            .run();
            let handle = server.handle();
            actix_rt::spawn(server);
            handle
        };
        let handle = serve(listener);
        FakeServer {
            port,
            state,
            serve: Box::new(serve),
            handle: Some(handle),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state its handler sees.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Stops listening and waits until the port answers nothing.
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the fake platform did not stop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Listens again on the same port, with the same state.
    pub fn restart(&mut self) {
        assert!(self.handle.is_none(), "the fake platform is running");
        let listener =
            TcpListener::bind(("127.0.0.1", self.port)).expect("bind the fake's port again");
        self.handle = Some((self.serve)(listener));
    }
}

impl<S: 'static> Drop for FakeServer<S> {
    fn drop(&mut self) {
        // Stops the accept loop and the worker; nothing to wait for.
        if let Some(handle) = self.handle.take() {
            drop(handle.stop(false));
        }
    }
}
