//! What a forwarded request carries to its end: the admission to settle, and the
//! facts its spend record needs.

use super::*;
use crate::keys::KeyRecord;
use crate::limits::{self, Admission, LimitRequest};
use crate::routing::{stats, Strategy};
use crate::spend::{self, SpendRecord};
use crate::translate::Usage;

/// The caller's identity as spend records report it (never the plaintext key).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Caller {
    /// Key hash, when a virtual key was used.
    pub token: Option<String>,
    /// Key alias.
    pub key_alias: Option<String>,
    /// Team.
    pub team_id: Option<String>,
    /// User.
    pub user_id: Option<String>,
    /// Key metadata (department, project, cost_center).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl Caller {
    fn of(key: Option<&KeyRecord>) -> Caller {
        key.map_or_else(Caller::default, |k| Caller {
            token: Some(k.token.clone()),
            key_alias: k.key_alias.clone(),
            team_id: k.team_id.clone(),
            user_id: k.user_id.clone(),
            metadata: k.metadata.clone(),
        })
    }
}

/// Carried from admission to the end of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Reservations to settle.
    pub admission: Admission,
    /// Who called.
    pub caller: Caller,
    /// Index of the deployment in the config (for prices).
    pub deployment: usize,
    /// Model group.
    pub group: String,
    /// Route, e.g. `/v1/chat/completions`.
    pub call_type: String,
    /// Streamed response.
    pub stream: bool,
    /// Unix milliseconds at admission.
    pub start_ms: u64,
    /// Wire format to read usage from when the response passes through untranslated.
    pub format: Option<spend::tap::TapFormat>,
    /// Routing state the request registered (in-flight count, latency sample).
    pub tracked: stats::Tracked,
    /// Unix milliseconds of the first response body byte (a stream's latency).
    pub first_byte_ms: Option<u64>,
}

impl Ticket {
    /// Notes the first response body byte (kept for streams, whose latency is the
    /// time to it).
    pub fn first_byte(&mut self, now_ms: impl FnOnce() -> u64) {
        if self.stream && self.first_byte_ms.is_none() {
            self.first_byte_ms = Some(now_ms());
        }
    }

    /// The latency routing learns from: time to the first body byte for a stream,
    /// to the end of the response otherwise.
    pub fn latency_ms(&self, now_ms: u64) -> u64 {
        let end = self.first_byte_ms.filter(|_| self.stream).unwrap_or(now_ms);
        end.saturating_sub(self.start_ms)
    }
}

impl Gateway {
    /// Admits a request to `dep` for the caller, reserving limits and budget.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn admit(
        &self,
        key: Option<&KeyRecord>,
        group: &str,
        dep_index: usize,
        call_type: &str,
        body: &[u8],
        stream: bool,
        env: &Env<'_>,
    ) -> Result<Ticket, ApiError> {
        let dep = self
            .config
            .deployments
            .get(dep_index)
            .ok_or_else(|| ApiError::internal(500, "deployment index out of range"))?;
        let prompt = spend::estimate_prompt_tokens(body);
        let max_out =
            spend::max_output_tokens_of(body, dep.max_tokens.unwrap_or(DEFAULT_OUTPUT_ESTIMATE))
                .unwrap_or(DEFAULT_OUTPUT_ESTIMATE);
        let admission = limits::admit(
            env.store,
            &LimitRequest {
                key,
                group,
                deployment: dep,
                est_tokens: prompt.saturating_add(max_out),
                worst_cost_micros: spend::worst_case_micros(dep, prompt, max_out),
                now: env.now,
                count_deployment_tokens: self.config.routing.strategy == Strategy::UsageBased,
            },
        )?;
        let tracked = stats::begin(env.store, &self.config.routing, &dep.id);
        Ok(Ticket {
            admission,
            caller: Caller::of(key),
            deployment: dep_index,
            group: group.to_string(),
            call_type: call_type.to_string(),
            stream,
            start_ms: env.now.saturating_mul(1000),
            format: None,
            tracked,
            first_byte_ms: None,
        })
    }

    /// A failover attempt moves the request to another deployment: the first one's
    /// in-flight count is returned (without a latency sample: it failed), the new
    /// one's taken, and latency is measured from now. Spend goes to the new one.
    pub fn reroute(
        &self,
        ticket: &mut Ticket,
        dep_index: usize,
        store: &dyn KeyStore,
        now_ms: u64,
    ) {
        let Some(new) = self.config.deployments.get(dep_index) else {
            return;
        };
        if let Some(old) = self.config.deployments.get(ticket.deployment) {
            stats::end(
                store,
                &self.config.routing,
                &old.id,
                ticket.tracked,
                None,
                now_ms / 1000,
            );
        }
        ticket.tracked = stats::begin(store, &self.config.routing, &new.id);
        ticket.deployment = dep_index;
        ticket.start_ms = now_ms;
        ticket.first_byte_ms = None;
    }

    /// Cost of `usage` on the ticket's deployment, in micro-dollars.
    pub fn cost_micros(&self, ticket: &Ticket, usage: &Usage) -> u64 {
        self.config
            .deployments
            .get(ticket.deployment)
            .map_or(0, |d| spend::cost_micros(d, usage))
    }

    /// Settles the request (limits, budget, parallel slot, routing stats) and returns its spend
    /// record and the key's spend in its current period (micro-dollars).
    pub fn settle(
        &self,
        ticket: &Ticket,
        usage: Option<Usage>,
        response_id: Option<String>,
        status: u16,
        store: &dyn KeyStore,
        now_ms: u64,
    ) -> (SpendRecord, u64) {
        let (record, key_spend, _) =
            self.settle_encoded(ticket, usage, response_id, status, store, now_ms);
        (record, key_spend)
    }

    /// [`Gateway::settle`], also returning the record as the JSON the spend log
    /// keeps (encoded once, for the log and the access log; empty if encoding failed).
    pub fn settle_encoded(
        &self,
        ticket: &Ticket,
        usage: Option<Usage>,
        response_id: Option<String>,
        status: u16,
        store: &dyn KeyStore,
        now_ms: u64,
    ) -> (SpendRecord, u64, Vec<u8>) {
        let cost = usage.as_ref().map_or(0, |u| self.cost_micros(ticket, u));
        let key_spend = limits::settle(
            store,
            &ticket.admission,
            usage.as_ref().map(Usage::total),
            cost,
            now_ms / 1000,
        );
        let latency = (200..300)
            .contains(&status)
            .then(|| ticket.latency_ms(now_ms));
        let routed = self
            .config
            .deployments
            .get(ticket.deployment)
            .map_or(ticket.admission.deployment_id.as_str(), |d| d.id.as_str());
        stats::end(
            store,
            &self.config.routing,
            routed,
            ticket.tracked,
            latency,
            now_ms / 1000,
        );
        let dep = self.config.deployments.get(ticket.deployment);
        let u = usage.unwrap_or_default();
        let record = SpendRecord {
            request_id: response_id.unwrap_or_default(),
            api_key: ticket.caller.token.clone().unwrap_or_default(),
            key_alias: ticket.caller.key_alias.clone(),
            team_id: ticket.caller.team_id.clone(),
            user_id: ticket.caller.user_id.clone(),
            metadata: ticket.caller.metadata.clone(),
            model_group: ticket.group.clone(),
            model: dep.map(|d| d.model.clone()).unwrap_or_default(),
            model_id: dep.map(|d| d.id.clone()).unwrap_or_default(),
            provider: dep
                .map(|d| d.provider.name().to_string())
                .unwrap_or_default(),
            call_type: ticket.call_type.clone(),
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total(),
            cached_tokens: u.cached_tokens,
            cache_creation_tokens: u.cache_creation_tokens,
            reasoning_tokens: u.reasoning_tokens,
            spend: cost as f64 / 1e6,
            spend_micros: cost,
            start_time: ticket.start_ms,
            end_time: now_ms,
            status,
            stream: ticket.stream,
        };
        // The access log still carries the record if the ring write lost its retries.
        let json = match serde_json::to_vec(&record) {
            Ok(json) => {
                let kept = spend::ring::append_encoded(store, &json, self.config.spend_log_size);
                if let Err(e) = kept {
                    log::warn!("spend record not kept in the ring: {}", e.message);
                }
                json
            }
            Err(e) => {
                log::warn!("spend record could not be encoded: {e}");
                Vec::new()
            }
        };
        (record, key_spend, json)
    }
}

/// Output tokens assumed for the worst-case reservation when neither the request
/// nor the deployment names a max_tokens.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 4096;
