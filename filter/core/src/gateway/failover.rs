//! Failover for forwarded requests: choosing a usable deployment (skipping cooling
//! ones), and after a failed attempt the next one — another deployment of the same
//! group first, then the fallback groups in order — as an HTTP callout.

use super::*;
use crate::body::RequestHead;
use crate::failover::{breaker, Failure, Kind, RetryPolicy};

/// What a forwarded request keeps so a failed attempt can be made again elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    endpoint: Endpoint,
    query: String,
    body: Vec<u8>,
    head: RequestHead,
    /// The requested group, then its fallback groups.
    groups: Vec<String>,
    pos: usize,
    /// Context-window fallback groups of the requested group.
    context: Vec<String>,
    context_pos: usize,
    policy: Option<RetryPolicy>,
    in_group: u32,
    tried: Vec<String>,
    /// Retries made so far (other deployments of a group, and Envoy's own).
    pub retries: u32,
    /// Fallback groups moved to.
    pub fallbacks: u32,
    /// The deployment of the current attempt.
    pub deployment: String,
    /// Its model group.
    pub group: String,
    /// The current attempt holds its deployment's half-open probe.
    pub probe: bool,
    /// Deployments whose breaker a failure of this request opened (the shim
    /// drains it into the cooldowns metric).
    pub opened: Vec<String>,
    /// Client headers a provider reads (API version, beta flags), for callouts:
    /// the routed request carries them, a callout is built from scratch.
    client_headers: Vec<(String, String)>,
}

/// Client request headers that callouts repeat (never credentials).
pub const CALLOUT_CLIENT_HEADERS: [&str; 5] = [
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    "openai-organization",
    "openai-project",
];

/// A failover attempt to make with an HTTP callout.
#[derive(Debug, Clone, PartialEq)]
pub struct Callout {
    /// Envoy cluster.
    pub cluster: String,
    /// Request headers, pseudo-headers included.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// Time allowed for the whole answer.
    pub timeout_ms: u64,
    /// How to treat the answer.
    pub plan: ResponsePlan,
    /// Index of the deployment in the config (spend is charged to it).
    pub deployment_index: usize,
    /// The deployment's credential, scrubbed from its error bodies.
    pub secrets: Vec<String>,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Try this.
    Call(Box<Callout>),
    /// Nothing left to try: answer with the last failure.
    GiveUp,
}

/// A deployment chosen for an attempt.
pub(super) struct Choice<'a> {
    pub dep: &'a crate::config::Deployment,
    pub probe: bool,
}

/// Why the groups had nothing usable (for the client's error).
pub(super) struct Skipped {
    pub reasons: Vec<String>,
    pub retry_after_ms: Option<u64>,
    pub only_capacity: bool,
}

impl Default for Skipped {
    fn default() -> Self {
        Skipped {
            reasons: Vec::new(),
            retry_after_ms: None,
            only_capacity: true,
        }
    }
}

impl Gateway {
    /// A usable deployment of `group` for `api`, not among `exclude`: serving the API,
    /// under its rpm/tpm, breaker closed (or this caller wins the half-open probe).
    pub(super) fn pick_usable(
        &self,
        group: &str,
        api: ClientApi,
        exclude: &[String],
        env: &Env<'_>,
    ) -> Option<Choice<'_>> {
        let mut lost_probe: Vec<String> = Vec::new();
        loop {
            let load = routing::StoreLoad::new(env.store, &self.config.routing, env.now);
            // Each breaker is read once per pick: the chosen one's state is the one
            // its eligibility was judged on.
            let seen: std::cell::RefCell<Vec<(String, breaker::Status)>> = Default::default();
            let dep = routing::pick(&self.config, group, env.pick, &load, |d| {
                exchange::request::serves(d, api)
                    && !exclude.contains(&d.id)
                    && !lost_probe.contains(&d.id)
                    && !limits::deployment_full(env.store, d, env.now)
                    && {
                        let st = breaker::status(env.store, &d.id, env.now_ms);
                        seen.borrow_mut().push((d.id.clone(), st));
                        st.usable()
                    }
            })?;
            let known = seen
                .borrow()
                .iter()
                .find(|(id, _)| *id == dep.id)
                .map(|(_, st)| *st);
            match known.unwrap_or_else(|| breaker::status(env.store, &dep.id, env.now_ms)) {
                breaker::Status::HalfOpen => {
                    if breaker::claim(env.store, &dep.id, env.now_ms) {
                        return Some(Choice { dep, probe: true });
                    }
                    lost_probe.push(dep.id.clone());
                }
                _ => return Some(Choice { dep, probe: false }),
            }
        }
    }

    /// Why no deployment of `group` was usable, for the client's error.
    pub(super) fn explain_unusable(
        &self,
        group: &str,
        api: ClientApi,
        env: &Env<'_>,
        out: &mut Skipped,
    ) {
        let Some(members) = self.config.groups.get(group) else {
            return;
        };
        for d in members
            .iter()
            .filter_map(|&i| self.config.deployments.get(i))
        {
            if !exchange::request::serves(d, api) {
                continue;
            }
            match breaker::status(env.store, &d.id, env.now_ms) {
                breaker::Status::Open(until) => {
                    out.only_capacity = false;
                    let wait = until.saturating_sub(env.now_ms);
                    out.reasons.push(format!(
                        "{group}/{} is cooling down for {} s",
                        d.id,
                        wait.div_ceil(1000).max(1)
                    ));
                    out.retry_after_ms = Some(out.retry_after_ms.map_or(wait, |w| w.min(wait)));
                }
                breaker::Status::Probing => {
                    out.only_capacity = false;
                    out.reasons.push(format!(
                        "{group}/{} is being probed after its cooldown",
                        d.id
                    ));
                }
                _ if limits::deployment_full(env.store, d, env.now) => {
                    out.reasons
                        .push(format!("{group}/{} is at its rpm/tpm capacity", d.id));
                }
                _ => {}
            }
        }
    }

    /// Counts a failed attempt against its deployment; true when it opened the breaker.
    pub fn record_failure(
        &self,
        deployment: &str,
        failure: &Failure,
        now_ms: u64,
        store: &dyn KeyStore,
    ) -> bool {
        if !failure.kind.counts_against_deployment() {
            return false;
        }
        matches!(
            breaker::failure(
                store,
                deployment,
                self.config.allowed_fails,
                self.config.cooldown_ms,
                now_ms
            ),
            Ok(breaker::Tripped::Opened)
        )
    }

    /// A successful answer: a deployment on probation recovers.
    pub fn record_success(&self, deployment: &str, probe: bool, now_ms: u64, store: &dyn KeyStore) {
        if probe {
            breaker::success(store, deployment, now_ms);
        }
    }

    /// After `failure` of the current attempt: records it and says what to try next.
    pub fn next_attempt(&self, fo: &mut Failover, failure: &Failure, env: &Env<'_>) -> Next {
        let current = fo.deployment.clone();
        if self.record_failure(&current, failure, env.now_ms, env.store) {
            fo.opened.push(current.clone());
        }
        if !fo.tried.contains(&current) {
            fo.tried.push(current);
        }
        if failure.kind == Kind::ContextWindow {
            while fo.context_pos < fo.context.len() {
                let g = fo.context[fo.context_pos].clone();
                fo.context_pos += 1;
                if let Some(c) = self.attempt_in(fo, &g, env) {
                    fo.fallbacks += 1;
                    fo.in_group = 0;
                    fo.group = g;
                    return Next::Call(c);
                }
            }
            return Next::GiveUp;
        }
        if !failure.kind.counts_against_deployment() {
            return Next::GiveUp;
        }
        let policy = fo.policy.unwrap_or_else(|| self.retry_policy(&fo.group));
        if fo.in_group < policy.retries(failure.kind) {
            let g = fo.group.clone();
            if let Some(c) = self.attempt_in(fo, &g, env) {
                fo.in_group += 1;
                fo.retries += 1;
                return Next::Call(c);
            }
        }
        while fo.pos + 1 < fo.groups.len() {
            fo.pos += 1;
            let g = fo.groups[fo.pos].clone();
            if let Some(c) = self.attempt_in(fo, &g, env) {
                fo.fallbacks += 1;
                fo.in_group = 0;
                fo.group = g;
                return Next::Call(c);
            }
        }
        Next::GiveUp
    }

    /// The retry policy of a group.
    pub fn retry_policy(&self, group: &str) -> RetryPolicy {
        self.config
            .group_retry_policy
            .get(group)
            .copied()
            .unwrap_or(self.config.retry_policy)
    }

    fn attempt_in(&self, fo: &mut Failover, group: &str, env: &Env<'_>) -> Option<Box<Callout>> {
        let api = fo.endpoint.api();
        loop {
            let choice = self.pick_usable(group, api, &fo.tried, env)?;
            let dep = choice.dep;
            fo.tried.push(dep.id.clone());
            // A deployment that cannot take this request (a feature its provider
            // lacks) is passed over like an unusable one.
            let Ok((upstream, plan)) = exchange::prepare(
                &self.config,
                dep,
                &fo.endpoint,
                &fo.query,
                &fo.body,
                &fo.head,
            ) else {
                continue;
            };
            fo.deployment = dep.id.clone();
            fo.probe = choice.probe;
            let stream = fo.stream();
            let mut headers: Vec<(String, String)> = vec![
                (":method".into(), "POST".into()),
                (":path".into(), upstream.path),
                (":authority".into(), dep.upstream.authority.clone()),
                ("content-type".into(), "application/json".into()),
            ];
            headers.extend(
                upstream
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            );
            for (k, v) in &fo.client_headers {
                if !headers.iter().any(|(h, _)| h == k) {
                    headers.push((k.clone(), v.clone()));
                }
            }
            return Some(Box::new(Callout {
                cluster: dep.upstream.cluster.clone(),
                headers,
                body: upstream.body.unwrap_or_else(|| fo.body.clone()),
                // A callout's answer arrives whole: it gets the whole-answer timeout.
                timeout_ms: timeouts(dep, stream).1,
                plan,
                deployment_index: self.index_of(dep),
                secrets: dep.api_key.iter().cloned().collect(),
            }));
        }
    }
}

impl Failover {
    /// Starts failover state for a request first sent to `deployment` of `groups[pos]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        endpoint: Endpoint,
        query: String,
        body: Vec<u8>,
        head: RequestHead,
        groups: Vec<String>,
        pos: usize,
        context: Vec<String>,
        policy: Option<RetryPolicy>,
        deployment: String,
        probe: bool,
    ) -> Self {
        let group = groups.get(pos).cloned().unwrap_or_default();
        Failover {
            endpoint,
            query,
            body,
            head,
            groups,
            pos,
            context,
            context_pos: 0,
            policy,
            in_group: 0,
            tried: Vec::new(),
            client_headers: Vec::new(),
            retries: 0,
            fallbacks: u32::try_from(pos).unwrap_or(u32::MAX),
            deployment,
            group,
            probe,
            opened: Vec::new(),
        }
    }

    fn stream(&self) -> bool {
        self.head.stream
            || matches!(
                self.endpoint,
                Endpoint::Inference {
                    path_stream: true,
                    ..
                }
            )
    }

    /// Keeps the client headers callouts repeat ([`CALLOUT_CLIENT_HEADERS`]).
    pub fn keep_client_headers(&mut self, header: &dyn Fn(&str) -> Option<String>) {
        self.client_headers = CALLOUT_CLIENT_HEADERS
            .iter()
            .filter_map(|n| header(n).map(|v| (n.to_string(), v)))
            .collect();
    }

    /// Whether a context-window refusal has somewhere to go (so 400s are held).
    pub fn has_context_chain(&self) -> bool {
        self.context_pos < self.context.len()
    }

    /// Deployments tried so far, in order.
    pub fn tried(&self) -> &[String] {
        &self.tried
    }

    /// The response headers that report what failover did.
    pub fn report_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x-litellm-attempted-retries", self.retries.to_string()),
            ("x-litellm-attempted-fallbacks", self.fallbacks.to_string()),
        ]
    }
}

/// Longest total wait Envoy's retry backoff may add (rendered as the route's
/// retry_back_off / rate_limited_retry_back_off maximum).
pub const RETRY_BACKOFF_BUDGET_MS: u64 = 30_000;

/// Request headers asking Envoy's router to retry the same deployment with
/// exponential backoff and jitter (retry-after honoured by the rendered route's
/// rate_limited_retry_back_off), for the classes the policy retries.
pub fn envoy_retry_headers(
    policy: &RetryPolicy,
    first_byte_ms: u64,
    total_ms: u64,
) -> Vec<(&'static str, String)> {
    let n = policy.max();
    if n == 0 {
        return Vec::new();
    }
    let mut on = vec!["retriable-status-codes"];
    let mut codes: Vec<&str> = Vec::new();
    if policy.server > 0 {
        on.extend(["connect-failure", "refused-stream", "reset"]);
        codes.extend(["500", "502", "503", "404"]);
    }
    if policy.timeout > 0 {
        codes.extend(["408", "504"]);
    }
    if policy.rate_limit > 0 {
        codes.extend(["429", "529"]);
    }
    if policy.auth > 0 {
        codes.extend(["401", "403"]);
    }
    let total = total_ms
        .saturating_mul(u64::from(n) + 1)
        .saturating_add(RETRY_BACKOFF_BUDGET_MS);
    vec![
        ("x-envoy-max-retries", n.to_string()),
        ("x-envoy-retry-on", on.join(",")),
        ("x-envoy-retriable-status-codes", codes.join(",")),
        (
            "x-envoy-upstream-rq-per-try-timeout-ms",
            first_byte_ms.to_string(),
        ),
        ("x-envoy-upstream-rq-timeout-ms", total.to_string()),
    ]
}

/// A deployment's (time to response headers, whole answer) timeouts in ms. A
/// stream waits `stream_timeout` for its first byte and may then run for the
/// longer of `timeout` and `stream_timeout`; anything else has `timeout` for both.
pub fn timeouts(dep: &crate::config::Deployment, stream: bool) -> (u64, u64) {
    if stream {
        (
            dep.stream_timeout_ms,
            dep.timeout_ms.max(dep.stream_timeout_ms),
        )
    } else {
        (dep.timeout_ms, dep.timeout_ms)
    }
}

/// Client-sent Envoy retry and timeout headers: the gateway decides those, so a
/// caller cannot multiply provider calls or stretch timeouts.
pub const ENVOY_CONTROL_HEADERS: [&str; 7] = [
    "x-envoy-max-retries",
    "x-envoy-retry-on",
    "x-envoy-retriable-status-codes",
    "x-envoy-retriable-header-names",
    "x-envoy-retry-grpc-on",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-hedge-on-per-try-timeout",
];
