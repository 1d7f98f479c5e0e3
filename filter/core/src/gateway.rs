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
use crate::models;
use crate::provider::Provider;
use crate::providers::openai;
use crate::routes::{self, Endpoint};
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

/// What to do once the body is complete.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyOutcome {
    /// Answer now.
    Reply(LocalReply),
    /// Send upstream with these changes.
    Forward(Forward),
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
        let principal = if endpoint.needs_auth() {
            match auth::authenticate(&self.config, header("authorization").as_deref()) {
                Ok(p) => p,
                Err(e) => return HeadersOutcome::Reply(e.into()),
            }
        } else {
            Principal::Anonymous
        };
        match endpoint {
            Endpoint::Health => {
                HeadersOutcome::Reply(json_reply(200, br#"{"status":"healthy"}"#.to_vec()))
            }
            Endpoint::Models => HeadersOutcome::Reply(json_reply(200, models::list(&self.config))),
            // Refusing on content-length answers before any body byte is buffered.
            Endpoint::ChatCompletions
                if header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .is_some_and(|n| n > self.config.max_request_bytes) =>
            {
                HeadersOutcome::Reply(ApiError::too_large(self.config.max_request_bytes).into())
            }
            Endpoint::ChatCompletions => HeadersOutcome::ReadBody(Pending {
                endpoint,
                query: query.to_string(),
                principal,
            }),
        }
    }

    /// Phase 2: the whole body is here. `rand` drives the weighted pick.
    pub fn on_request_body(&self, pending: &Pending, body: &[u8], rand: u64) -> BodyOutcome {
        match self.route_body(pending, body, rand) {
            Ok(f) => BodyOutcome::Forward(f),
            Err(e) => BodyOutcome::Reply(e.into()),
        }
    }

    fn route_body(&self, pending: &Pending, body: &[u8], rand: u64) -> Result<Forward, ApiError> {
        if body.len() > self.config.max_request_bytes {
            return Err(ApiError::too_large(self.config.max_request_bytes));
        }
        let head = body::read_head(body)?;
        let group = self
            .config
            .resolve_group(&head.model)
            .ok_or_else(|| ApiError::unknown_model(&head.model))?;
        let dep = routing::pick(&self.config, group, rand, |d| {
            d.provider == Provider::OpenAi && pending.endpoint == Endpoint::ChatCompletions
        })
        .ok_or_else(|| {
            ApiError::internal(
                501,
                format!("Model group `{group}` has no deployment that serves this endpoint yet."),
            )
        })?;
        let new_body = body::replace_model(body, &head, &dep.model);
        let timeout = if head.stream {
            dep.stream_timeout_ms
        } else {
            dep.timeout_ms
        };
        let mut set_headers = vec![
            (CLUSTER_HEADER, dep.upstream.cluster.clone()),
            (":path", openai::chat_path(dep, &pending.query)),
            (":authority", dep.upstream.authority.clone()),
            ("x-envoy-upstream-rq-timeout-ms", timeout.to_string()),
        ];
        let mut remove_headers = vec!["x-api-key"];
        match openai::auth_header(dep) {
            Some(h) => set_headers.push(h),
            None => remove_headers.push("authorization"),
        }
        if let Some(b) = &new_body {
            set_headers.push(("content-length", b.len().to_string()));
        }
        Ok(Forward {
            set_headers,
            remove_headers,
            body: new_body,
            response_headers: vec![
                ("x-litellm-model-group", group.to_string()),
                ("x-litellm-model-id", dep.id.clone()),
            ],
            deployment_id: dep.id.clone(),
            group: group.to_string(),
        })
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
