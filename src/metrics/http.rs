//! HTTP request metrics: a middleware every listener wraps, counting requests and timing them
//! by route *pattern* (never the raw path: `"unmatched"` for what no route serves), method and
//! status, so the label sets stay bounded whatever clients send.

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, StatusCode};
use futures::future::LocalBoxFuture;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

const HTTP_REQUESTS: &str = "simrelay_http_requests_total";
const HTTP_SECONDS: &str = "simrelay_http_request_duration_seconds";

/// The route label of a request no route matched (404s, probes of random paths).
const UNMATCHED: &str = "unmatched";

/// Request counters and latencies; cheap to clone (the series are shared).
#[derive(Clone)]
pub struct RequestMetrics {
    requests: IntCounterVec,
    seconds: HistogramVec,
}

impl RequestMetrics {
    /// Creates the request metrics and registers them.
    pub fn new(registry: &Registry) -> Result<RequestMetrics, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                HTTP_REQUESTS,
                "HTTP requests answered, by route pattern (\"unmatched\" when no route), method and status",
            ),
            &["route", "method", "status"],
        )?;
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                HTTP_SECONDS,
                "Time from a request's arrival to its response head, by route pattern and method",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        Ok(RequestMetrics { requests, seconds })
    }

    /// The middleware that records every request of a listener into these metrics.
    pub fn middleware(&self) -> RecordRequests {
        RecordRequests(self.clone())
    }

    fn observe(&self, route: &str, method: &str, status: StatusCode, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.seconds
            .with_label_values(&[route, method])
            .observe(seconds);
    }
}

/// A closed set of method labels: any other method a client invents is `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The middleware factory (see [`RequestMetrics::middleware`]).
pub struct RecordRequests(RequestMetrics);

impl<S, B> Transform<S, ServiceRequest> for RecordRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RecordRequestsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordRequestsService {
            service,
            metrics: self.0.clone(),
        }))
    }
}

/// The middleware itself, one per worker.
pub struct RecordRequestsService<S> {
    service: S,
    metrics: RequestMetrics,
}

impl<S, B> Service<ServiceRequest> for RecordRequestsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        // The pattern of the resource that serves this path (the app's resource map, known
        // before routing); none for the default service.
        let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
        let method = method_label(req.method());
        let metrics = self.metrics.clone();
        let answer = self.service.call(req);
        Box::pin(async move {
            let result = answer.await;
            let status = match &result {
                Ok(response) => response.status(),
                Err(e) => e.as_response_error().status_code(),
            };
            metrics.observe(&route, method, status, started.elapsed().as_secs_f64());
            result
        })
    }
}
