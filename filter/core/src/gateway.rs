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
use crate::keys::{access, api::KeyApi, KeyStore};
use crate::limits;
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
    /// Headers; content-type is application/json unless one is given here.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
    /// The key limit that refused the request ([`ApiError::limit`]).
    pub limit: Option<&'static str>,
}

impl From<ApiError> for LocalReply {
    fn from(e: ApiError) -> Self {
        LocalReply {
            status: e.status,
            body: e.openai_body(),
            headers: e.headers,
            limit: e.limit,
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
            limit: e.limit,
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
    method: String,
    path: String,
    endpoint: Endpoint,
    query: String,
    principal: Principal,
}

impl Pending {
    /// The client API, for replies in its error format.
    pub fn api(&self) -> ClientApi {
        self.endpoint.api()
    }

    /// The caller's virtual key, if one was used.
    pub fn key(&self) -> Option<&crate::keys::KeyRecord> {
        match &self.principal {
            Principal::Key(k) => Some(k),
            _ => None,
        }
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
    /// Admission to settle when the request ends.
    pub ticket: Option<ticket::Ticket>,
    /// The deployment's provider credential: never shown to the client, so it is
    /// scrubbed from upstream error bodies ([`exchange::response::scrub_secrets`]).
    pub secrets: Vec<String>,
    /// Where to go if this deployment fails (None: nowhere, or not an inference call).
    pub failover: Option<Box<Failover>>,
    /// This request is the deployment's half-open probe.
    pub probe: bool,
    /// Fallback groups passed over before this deployment was chosen.
    pub fallbacks_before: u32,
}

/// Host services a phase may need besides the request itself.
pub struct Env<'a> {
    /// Virtual key storage (Envoy shared data in the filter).
    pub store: &'a dyn KeyStore,
    /// Unix seconds.
    pub now: u64,
    /// Fills a buffer with secure random bytes (key generation).
    pub random: &'a mut dyn FnMut(&mut [u8]),
    /// A cheap uniformly random value for the weighted deployment pick.
    pub pick: u64,
    /// Unix milliseconds (cooldowns are timed in ms).
    pub now_ms: u64,
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
        env: &mut Env<'_>,
    ) -> HeadersOutcome {
        let (path, query) = routes::split_path(full_path);
        let endpoint = match routes::classify(method, path) {
            Ok(e) => e,
            Err(e) => return HeadersOutcome::Reply(e.into()),
        };
        let api = endpoint.api();
        let principal = if endpoint.needs_auth() {
            // `?key=` is how Gemini SDKs send a key; elsewhere (e.g. /key/info) it names data.
            let gemini = matches!(
                &endpoint,
                Endpoint::Inference {
                    api: ClientApi::Gemini,
                    ..
                } | Endpoint::Passthrough {
                    provider: crate::provider::Provider::Gemini,
                    ..
                }
            );
            let key = match auth::presented_key(header, query, gemini) {
                Ok(k) => k,
                Err(e) => return HeadersOutcome::Reply(LocalReply::error(api, e)),
            };
            match auth::authenticate(&self.config, env.store, key.as_deref(), env.now) {
                Ok(p) => p,
                Err(e) => return HeadersOutcome::Reply(LocalReply::error(api, e)),
            }
        } else {
            Principal::Anonymous
        };
        if let Principal::Key(k) = &principal {
            if let Err(e) = access::check_route(k, path.trim_end_matches('/')) {
                return HeadersOutcome::Reply(LocalReply::error(api, e));
            }
        }
        let limit = self.config.max_request_bytes;
        match endpoint {
            Endpoint::Health(route) => {
                let r = crate::health::routes::reply(
                    route,
                    &principal,
                    &self.config,
                    env.store,
                    env.now_ms,
                );
                HeadersOutcome::Reply(match r {
                    Ok((status, v)) => json_reply(status, v.to_string().into_bytes()),
                    Err(e) => e.into(),
                })
            }
            Endpoint::Ui => HeadersOutcome::Reply(crate::ui::reply()),
            Endpoint::Models => {
                let cfg = &self.config;
                let body = match &principal {
                    Principal::Key(k) => models::list(cfg, &|n| access::visible(cfg, k, n)),
                    _ => models::list(cfg, &|_| true),
                };
                HeadersOutcome::Reply(json_reply(200, body))
            }
            Endpoint::Spend => {
                let api = crate::spend::report::SpendApi {
                    store: env.store,
                    config: &self.config,
                    capacity: self.config.spend_log_size,
                    now: env.now,
                };
                HeadersOutcome::Reply(match api.handle(&principal, method, path, query) {
                    Ok((status, v)) => json_reply(status, v.to_string().into_bytes()),
                    Err(e) => e.into(),
                })
            }
            Endpoint::Keys if method == "GET" || method == "DELETE" => {
                HeadersOutcome::Reply(self.keys(&principal, method, path, query, b"", env))
            }
            // Refusing on content-length answers before any body byte is buffered.
            Endpoint::Inference { .. } | Endpoint::Passthrough { .. } | Endpoint::Keys
                if header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .is_some_and(|n| n > limit) =>
            {
                HeadersOutcome::Reply(LocalReply::error(api, ApiError::too_large(limit)))
            }
            Endpoint::Inference { .. } | Endpoint::Passthrough { .. } | Endpoint::Keys => {
                HeadersOutcome::ReadBody(Pending {
                    method: method.to_string(),
                    path: path.to_string(),
                    endpoint,
                    query: query.to_string(),
                    principal,
                })
            }
        }
    }

    /// Serves a key-management call as a local reply.
    fn keys(
        &self,
        principal: &Principal,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        env: &mut Env<'_>,
    ) -> LocalReply {
        let api = KeyApi {
            store: env.store,
            config: &self.config,
            now: env.now,
        };
        match api.handle(principal, method, path, query, body, env.random) {
            Ok((status, mut v)) => {
                if path.trim_end_matches('/') == "/key/info" {
                    self.add_spend(&mut v, env);
                }
                json_reply(status, v.to_string().into_bytes())
            }
            Err(e) => e.into(),
        }
    }

    /// /key/info shows live spend and the budget reset time from the limits state.
    fn add_spend(&self, v: &mut serde_json::Value, env: &Env<'_>) {
        let Some(token) = v.get("key").and_then(|t| t.as_str()) else {
            return;
        };
        let Some(rec) = crate::keys::lookup(env.store, &self.config, token) else {
            return;
        };
        let s = limits::key_spend(env.store, &rec, env.now);
        if let Some(info) = v.get_mut("info").and_then(|i| i.as_object_mut()) {
            info.insert(
                "spend".into(),
                serde_json::json!(s.period_micros as f64 / 1e6),
            );
            info.insert(
                "total_spend".into(),
                serde_json::json!(s.total_micros as f64 / 1e6),
            );
            info.insert(
                "budget_reset_at".into(),
                s.reset_at.map_or(serde_json::Value::Null, |t| {
                    crate::keys::time::iso8601(t).into()
                }),
            );
        }
    }

    /// Phase 2: the whole body is here.
    pub fn on_request_body(
        &self,
        pending: &Pending,
        body: &[u8],
        env: &mut Env<'_>,
    ) -> BodyOutcome {
        if pending.endpoint == Endpoint::Keys {
            return BodyOutcome::Reply(self.keys(
                &pending.principal,
                &pending.method,
                &pending.path,
                &pending.query,
                body,
                env,
            ));
        }
        match self.route_body(pending, body, env) {
            Ok(f) => BodyOutcome::Forward(Box::new(f)),
            Err(e) => BodyOutcome::Reply(LocalReply::error(pending.api(), e)),
        }
    }

    fn route_body(
        &self,
        pending: &Pending,
        body: &[u8],
        env: &Env<'_>,
    ) -> Result<Forward, ApiError> {
        let rand = env.pick;
        if body.len() > self.config.max_request_bytes {
            return Err(ApiError::too_large(self.config.max_request_bytes));
        }
        let path_model = match &pending.endpoint {
            Endpoint::Passthrough { provider, rest } => {
                return self.passthrough(pending, *provider, rest, body, env)
            }
            Endpoint::Inference { path_model, .. } => path_model.clone(),
            _ => None,
        };
        let api = pending.api();
        // LiteLLM's per-request failover fields are for the gateway, not providers.
        let (overrides, cleaned) = crate::failover::Overrides::extract(body)?;
        let body: &[u8] = cleaned.as_deref().unwrap_or(body);
        let mut head = match &path_model {
            Some(_) => body::read_head_model_optional(body)?,
            None => body::read_head(body)?,
        };
        if let Some(m) = path_model {
            head.model = m;
        }
        let key = match &pending.principal {
            Principal::Key(k) => Some(k.as_ref()),
            _ => None,
        };
        let group = access::resolve(&self.config, key, &head.model)
            .ok_or_else(|| ApiError::unknown_model(&head.model))?;
        if let Some(k) = key {
            if !access::may_use(&self.config, k, &head.model, group) {
                return Err(access::model_denied(k, &head.model));
            }
        }
        if routing::pick(&self.config, group, rand, &routing::NoLoad, |d| {
            exchange::request::serves(d, api)
        })
        .is_none()
        {
            return Err(ApiError::bad_request(format!(
                "Model group `{group}` has no deployment that serves this endpoint."
            ))
            .with_param("model"));
        }
        // Fallback groups are limited to models the caller may use.
        let allow = |name: &str| -> Option<String> {
            let g = access::resolve(&self.config, key, name)?;
            match key {
                Some(k) if !access::may_use(&self.config, k, name, g) => None,
                _ => Some(g.to_string()),
            }
        };
        let mut groups = vec![group.to_string()];
        groups.extend(crate::failover::fallback_chain(
            &self.config,
            group,
            &overrides,
            &allow,
        ));
        let context = crate::failover::context_chain(&self.config, group, &overrides, &allow);
        // Cooling or full deployments are skipped; a group with none left hands the
        // request to its first fallback that has one.
        let mut chosen = None;
        for (pos, g) in groups.iter().enumerate() {
            if let Some(c) = self.pick_usable(g, api, &[], env) {
                chosen = Some((pos, c));
                break;
            }
        }
        let Some((pos, choice)) = chosen else {
            return Err(self.nothing_usable(&groups, api, env));
        };
        let dep = choice.dep;
        let group = groups[pos].as_str();
        let (upstream, plan) = exchange::prepare(
            &self.config,
            dep,
            &pending.endpoint,
            &pending.query,
            body,
            &head,
        )?;
        let policy = overrides
            .num_retries
            .map(crate::failover::RetryPolicy::uniform);
        // Another deployment of the group is retried by the filter; with none, Envoy
        // retries this one with backoff (honouring retry-after) before any byte is sent.
        let alone = self
            .pick_usable(group, api, std::slice::from_ref(&dep.id), env)
            .is_none();
        let envoy_retries = if alone {
            policy.unwrap_or_else(|| self.retry_policy(group))
        } else {
            crate::failover::RetryPolicy::uniform(0)
        };
        let room = groups.len() > pos + 1 || !alone || !context.is_empty();
        let fo = room.then(|| {
            Box::new(Failover::new(
                pending.endpoint.clone(),
                pending.query.clone(),
                body.to_vec(),
                head.clone(),
                groups.clone(),
                pos,
                context,
                policy,
                dep.id.clone(),
                choice.probe,
            ))
        });
        let mut ticket = self.admit(
            key,
            group,
            self.index_of(dep),
            &pending.path,
            body,
            head.stream,
            env,
        )?;
        ticket.format = Some(match api {
            ClientApi::Chat => crate::spend::tap::TapFormat::OpenAiChat,
            ClientApi::Responses => crate::spend::tap::TapFormat::OpenAiResponses,
            ClientApi::Embeddings => crate::spend::tap::TapFormat::OpenAiEmbeddings,
            ClientApi::Anthropic => crate::spend::tap::TapFormat::Anthropic,
            ClientApi::Gemini => crate::spend::tap::TapFormat::Gemini,
        });
        let mut f = forward(dep, group, upstream, plan, head.stream);
        if f.body.is_none() && cleaned.is_some() {
            f.set_headers
                .push(("content-length", body.len().to_string()));
            f.body = Some(body.to_vec());
        }
        let (first_byte, total) = self::failover::timeouts(dep, head.stream);
        f.set_headers.extend(self::failover::envoy_retry_headers(
            &envoy_retries,
            first_byte,
            total,
        ));
        f.ticket = Some(ticket);
        f.failover = fo;
        f.probe = choice.probe;
        f.fallbacks_before = u32::try_from(pos).unwrap_or(u32::MAX);
        Ok(f)
    }

    /// The error when no group in the chain has a usable deployment: 429 when they
    /// are all at capacity, else 503 naming every deployment and why it was skipped.
    fn nothing_usable(&self, groups: &[String], api: ClientApi, env: &Env<'_>) -> ApiError {
        let mut skipped = self::failover::Skipped::default();
        for g in groups {
            self.explain_unusable(g, api, env, &mut skipped);
        }
        if skipped.only_capacity {
            let group = groups.first().map_or("", String::as_str);
            let mut e = ApiError::rate_limited(
                "requests",
                format!(
                    "No deployment of model group `{group}` has capacity left this minute (rpm/tpm)."
                ),
            );
            e.headers
                .push(("retry-after", (60 - env.now % 60).max(1).to_string()));
            return e;
        }
        let mut e = ApiError::internal(
            503,
            format!(
                "No deployment is available for model group `{}`: {}.",
                groups.first().map_or("", String::as_str),
                skipped.reasons.join("; ")
            ),
        );
        if let Some(ms) = skipped.retry_after_ms {
            e.headers
                .push(("retry-after", ms.div_ceil(1000).max(1).to_string()));
        }
        e
    }

    fn index_of(&self, dep: &crate::config::Deployment) -> usize {
        self.config
            .deployments
            .iter()
            .position(|d| d.id == dep.id)
            .unwrap_or(usize::MAX)
    }
}

fn json_reply(status: u16, body: Vec<u8>) -> LocalReply {
    LocalReply {
        status,
        headers: Vec::new(),
        body,
        limit: None,
    }
}

pub mod failover;
mod forward;
pub mod ticket;
pub use self::failover::{Callout, Failover, Next};
use forward::forward;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod failover_tests;
