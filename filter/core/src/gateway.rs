//! The request pipeline: what the shim asks at each phase and what it is told to do.
//!
//! Phases (the shim maps each to one proxy-wasm callback):
//! 1. [`Gateway::on_request_headers`]: route, authenticate; reply now or read the body.
//! 2. [`Gateway::on_request_body`]: parse once, resolve the model, pick a deployment
//!    and produce a [`Forward`] (headers to set, body to replace) or a reply.
//! 3. Response headers: the shim adds [`Forward::response_headers`] to upstream answers.

use crate::auth::{self, Principal};
use crate::body;
use crate::config::Config;
use crate::error::ApiError;
use crate::exchange::{self, ResponsePlan};
use crate::models;
use crate::routes::{self, ClientApi, Endpoint};
use crate::routing;

/// Request header naming the Envoy cluster; the route table reads it.
pub const CLUSTER_HEADER: &str = "x-tollgate-cluster";

/// A response the gateway makes itself, without an upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u16,
    /// Headers besides content-type.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

impl From<ApiError> for LocalReply {
    fn from(e: ApiError) -> Self {
        LocalReply {
            status: e.status,
            body: e.openai_body(),
            headers: e.headers,
        }
    }
}

impl LocalReply {
    /// An error in the format of the client's API (Anthropic and Gemini routes
    /// answer in their own error shapes).
    pub fn error(api: ClientApi, e: ApiError) -> Self {
        let body = exchange::from_openai_error(api, e.status, &e.openai_body());
        LocalReply {
            status: e.status,
            body,
            headers: e.headers,
        }
    }
}

/// What to do after the request headers.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadersOutcome {
    /// Answer now.
    Reply(LocalReply),
    /// Hold the headers, buffer the body, then call [`Gateway::on_request_body`].
    ReadBody(Pending),
}

/// State carried from the headers phase to the body phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    endpoint: Endpoint,
    query: String,
    principal: Principal,
}

impl Pending {
    /// The client API, for replies in its error format.
    pub fn api(&self) -> ClientApi {
        self.endpoint.api()
    }
}

/// What to do once the body is complete.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyOutcome {
    /// Answer now.
    Reply(LocalReply),
    /// Send upstream with these changes.
    Forward(Box<Forward>),
}

/// Instructions to send a request to a deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// Request headers to set (pseudo-headers included), replacing existing values.
    pub set_headers: Vec<(&'static str, String)>,
    /// Request headers to remove.
    pub remove_headers: Vec<&'static str>,
    /// Replacement body; None keeps the client's bytes.
    pub body: Option<Vec<u8>>,
    /// Headers to add to the upstream's response.
    pub response_headers: Vec<(&'static str, String)>,
    /// Deployment chosen.
    pub deployment_id: String,
    /// Model group it belongs to.
    pub group: String,
    /// How to treat the response.
    pub plan: ResponsePlan,
}

/// The loaded gateway: immutable after configuration, shared by all requests of a worker.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The validated configuration.
    pub config: Config,
}

impl Gateway {
    /// Wraps a loaded configuration.
    pub fn new(config: Config) -> Self {
        Gateway { config }
    }

    /// Largest request body accepted, in bytes.
    pub fn max_request_bytes(&self) -> usize {
        self.config.max_request_bytes
    }

    /// Phase 1: routes and authenticates. `header` looks up a request header by lower-case name.
    pub fn on_request_headers(
        &self,
        method: &str,
        full_path: &str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> HeadersOutcome {
        let (path, query) = routes::split_path(full_path);
        let endpoint = match routes::classify(method, path) {
            Ok(e) => e,
            Err(e) => return HeadersOutcome::Reply(e.into()),
        };
        let api = endpoint.api();
        let principal = if endpoint.needs_auth() {
            let key = match auth::presented_key(header, query) {
                Ok(k) => k,
                Err(e) => return HeadersOutcome::Reply(LocalReply::error(api, e)),
            };
            match auth::authenticate(&self.config, key.as_deref()) {
                Ok(p) => p,
                Err(e) => return HeadersOutcome::Reply(LocalReply::error(api, e)),
            }
        } else {
            Principal::Anonymous
        };
        let limit = self.config.max_request_bytes;
        match endpoint {
            Endpoint::Health => {
                HeadersOutcome::Reply(json_reply(200, br#"{"status":"healthy"}"#.to_vec()))
            }
            Endpoint::Models => HeadersOutcome::Reply(json_reply(200, models::list(&self.config))),
            // Refusing on content-length answers before any body byte is buffered.
            Endpoint::Inference { .. } | Endpoint::Passthrough { .. }
                if header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .is_some_and(|n| n > limit) =>
            {
                HeadersOutcome::Reply(LocalReply::error(api, ApiError::too_large(limit)))
            }
            Endpoint::Inference { .. } | Endpoint::Passthrough { .. } => {
                HeadersOutcome::ReadBody(Pending {
                    endpoint,
                    query: query.to_string(),
                    principal,
                })
            }
        }
    }

    /// Phase 2: the whole body is here. `rand` drives the weighted pick.
    pub fn on_request_body(&self, pending: &Pending, body: &[u8], rand: u64) -> BodyOutcome {
        match self.route_body(pending, body, rand) {
            Ok(f) => BodyOutcome::Forward(Box::new(f)),
            Err(e) => BodyOutcome::Reply(LocalReply::error(pending.api(), e)),
        }
    }

    fn route_body(&self, pending: &Pending, body: &[u8], rand: u64) -> Result<Forward, ApiError> {
        if body.len() > self.config.max_request_bytes {
            return Err(ApiError::too_large(self.config.max_request_bytes));
        }
        let path_model = match &pending.endpoint {
            Endpoint::Passthrough { provider, rest } => {
                return self.passthrough(pending, *provider, rest, body, rand)
            }
            Endpoint::Inference { path_model, .. } => path_model.clone(),
            _ => None,
        };
        let api = pending.api();
        let mut head = match &path_model {
            Some(_) => body::read_head_model_optional(body)?,
            None => body::read_head(body)?,
        };
        if let Some(m) = path_model {
            head.model = m;
        }
        let group = self
            .config
            .resolve_group(&head.model)
            .ok_or_else(|| ApiError::unknown_model(&head.model))?;
        let dep = routing::pick(&self.config, group, rand, |d| {
            exchange::request::serves(d, api)
        })
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Model group `{group}` has no deployment that serves this endpoint."
            ))
            .with_param("model")
        })?;
        let (upstream, plan) = exchange::prepare(
            &self.config,
            dep,
            &pending.endpoint,
            &pending.query,
            body,
            &head,
        )?;
        Ok(forward(dep, group, upstream, plan, head.stream))
    }

    /// `/anthropic/*`, `/gemini/*`: the body's model (if it names a group served by
    /// that provider) picks the deployment, else the provider's first deployment.
    fn passthrough(
        &self,
        pending: &Pending,
        provider: crate::provider::Provider,
        rest: &str,
        body: &[u8],
        rand: u64,
    ) -> Result<Forward, ApiError> {
        let head = body::read_head(body).ok();
        let by_model = head.as_ref().and_then(|h| {
            let group = self.config.resolve_group(&h.model)?;
            let dep = routing::pick(&self.config, group, rand, |d| d.provider == provider)?;
            Some((dep, group))
        });
        let (dep, group) = match by_model {
            Some(found) => found,
            None => self
                .config
                .deployments
                .iter()
                .find(|d| d.provider == provider)
                .map(|d| (d, d.group.as_str()))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("No {provider} deployment is configured."))
                })?,
        };
        let model_head = head.filter(|_| by_model.is_some());
        let upstream =
            exchange::request::passthrough(dep, rest, &pending.query, body, model_head.as_ref());
        let stream = model_head.is_some_and(|h| h.stream);
        Ok(forward(
            dep,
            group,
            upstream,
            ResponsePlan::Passthrough,
            stream,
        ))
    }
}

/// The header and body changes that send a request to `dep`.
fn forward(
    dep: &crate::config::Deployment,
    group: &str,
    upstream: exchange::UpstreamRequest,
    plan: ResponsePlan,
    stream: bool,
) -> Forward {
    let timeout = if stream {
        dep.stream_timeout_ms
    } else {
        dep.timeout_ms
    };
    let mut set_headers = vec![
        (CLUSTER_HEADER, dep.upstream.cluster.clone()),
        (":path", upstream.path),
        (":authority", dep.upstream.authority.clone()),
        ("x-envoy-upstream-rq-timeout-ms", timeout.to_string()),
    ];
    set_headers.extend(upstream.headers);
    if let Some(b) = &upstream.body {
        set_headers.push(("content-length", b.len().to_string()));
        set_headers.push(("content-type", "application/json".to_string()));
    }
    // Client credentials never reach a provider; compressed answers could not be
    // translated or metered, so ask for identity encoding.
    let mut remove_headers: Vec<&'static str> = exchange::request::CLIENT_CREDENTIALS
        .iter()
        .copied()
        .filter(|h| !set_headers.iter().any(|(k, _)| k == h))
        .collect();
    remove_headers.push("accept-encoding");
    Forward {
        set_headers,
        remove_headers,
        body: upstream.body,
        response_headers: vec![
            ("x-litellm-model-group", group.to_string()),
            ("x-litellm-model-id", dep.id.clone()),
        ],
        deployment_id: dep.id.clone(),
        group: group.to_string(),
        plan,
    }
}

fn json_reply(status: u16, body: Vec<u8>) -> LocalReply {
    LocalReply {
        status,
        headers: Vec::new(),
        body,
    }
}

#[cfg(test)]
mod tests;
