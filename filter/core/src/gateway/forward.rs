//! Turning a chosen deployment into header and body changes, and the
//! provider-prefixed passthrough routes.

use super::*;

impl Gateway {
    /// `/anthropic/*`, `/gemini/*`: the body's model (if it names a group served by
    /// that provider) picks the deployment, else the provider's first deployment.
    pub(super) fn passthrough(
        &self,
        pending: &Pending,
        provider: crate::provider::Provider,
        rest: &str,
        body: &[u8],
        env: &Env<'_>,
    ) -> Result<Forward, ApiError> {
        let rand = env.pick;
        let head = body::read_head(body).ok();
        let by_model = head.as_ref().and_then(|h| {
            let group = self.config.resolve_group(&h.model)?;
            let load = routing::StoreLoad::new(env.store, &self.config.routing, env.now);
            let dep = routing::pick(&self.config, group, rand, &load, |d| d.provider == provider)?;
            Some((dep, group))
        });
        // A restricted key may not use the provider credential for arbitrary models.
        if let Principal::Key(k) = &pending.principal {
            let restricted = k.role == crate::keys::Role::Customer || !k.models.is_empty();
            let allowed = match (&head, by_model) {
                (Some(h), Some((_, g))) => access::may_use(&self.config, k, &h.model, g),
                _ => false,
            };
            if restricted && !allowed {
                let requested = head.as_ref().map_or("(none)", |h| h.model.as_str());
                return Err(access::model_denied(k, requested));
            }
        }
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
        let key = match &pending.principal {
            Principal::Key(k) => Some(k.as_ref()),
            _ => None,
        };
        let mut ticket = self.admit(
            key,
            group,
            self.index_of(dep),
            &pending.path,
            body,
            stream,
            env,
        )?;
        ticket.format = Some(match provider {
            crate::provider::Provider::Anthropic => crate::spend::tap::TapFormat::Anthropic,
            _ => crate::spend::tap::TapFormat::Gemini,
        });
        let mut f = forward(dep, group, upstream, ResponsePlan::Passthrough, stream);
        f.ticket = Some(ticket);
        Ok(f)
    }
}

/// The header and body changes that send a request to `dep`.
pub(super) fn forward(
    dep: &crate::config::Deployment,
    group: &str,
    upstream: exchange::UpstreamRequest,
    plan: ResponsePlan,
    stream: bool,
) -> Forward {
    let (first_byte, total) = super::failover::timeouts(dep, stream);
    // Envoy's per-try timeout ends at the response headers: for a stream it is the
    // time to first byte, and the whole stream gets the route timeout.
    let mut set_headers = vec![
        (CLUSTER_HEADER, dep.upstream.cluster.clone()),
        (":path", upstream.path),
        (":authority", dep.upstream.authority.clone()),
        (
            "x-envoy-upstream-rq-per-try-timeout-ms",
            first_byte.to_string(),
        ),
        ("x-envoy-upstream-rq-timeout-ms", total.to_string()),
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
    remove_headers.extend(super::failover::ENVOY_CONTROL_HEADERS);
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
        ticket: None,
        secrets: dep.api_key.iter().cloned().collect(),
        failover: None,
        probe: false,
        fallbacks_before: 0,
    }
}
