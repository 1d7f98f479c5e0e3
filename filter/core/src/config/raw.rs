//! The config.yaml schema as written by users (LiteLLM field names).
//!
//! Every struct denies unknown fields so a typo is refused at load instead of
//! silently ignored.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Top level of config.yaml.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Deployments; several entries may share a model_name (a model group).
    #[serde(default)]
    pub model_list: Vec<RawDeployment>,
    /// Routing, retries, fallbacks and aliases.
    #[serde(default)]
    pub router_settings: RouterSettings,
    /// LiteLLM's global settings subset that applies to a gateway.
    #[serde(default)]
    pub litellm_settings: LitellmSettings,
    /// Proxy-wide settings: master key, request size limit.
    #[serde(default)]
    pub general_settings: GeneralSettings,
    /// Virtual keys declared in config (GitOps); read-only through the key API.
    #[serde(default)]
    pub keys: Vec<RawKey>,
}

/// A declared virtual key: the plaintext (normally `os.environ/VAR`) or its hash,
/// plus the same fields as `/key/generate`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Plaintext `sk-...` key.
    pub key: Option<String>,
    /// Hex SHA-256 of the key, when the plaintext is not given.
    pub token: Option<String>,
    /// Human name.
    pub key_alias: Option<String>,
    /// Models the key may use.
    #[serde(default)]
    pub models: Vec<String>,
    /// Spend cap in USD.
    pub max_budget: Option<f64>,
    /// Budget reset period.
    pub budget_duration: Option<String>,
    /// Alerting threshold in USD.
    pub soft_budget: Option<f64>,
    /// Requests per minute.
    pub rpm_limit: Option<u64>,
    /// Tokens per minute.
    pub tpm_limit: Option<u64>,
    /// Concurrent requests.
    pub max_parallel_requests: Option<u64>,
    /// Requests per minute per model.
    #[serde(default)]
    pub model_rpm_limit: BTreeMap<String, u64>,
    /// Tokens per minute per model.
    #[serde(default)]
    pub model_tpm_limit: BTreeMap<String, u64>,
    /// Free-form tags (department, project, cost_center).
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Owning team.
    pub team_id: Option<String>,
    /// Owning user.
    pub user_id: Option<String>,
    /// Paths the key may call.
    #[serde(default)]
    pub allowed_routes: Vec<String>,
    /// Access tier.
    pub role: Option<String>,
    /// Per-key model aliases.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Refuse the key.
    #[serde(default)]
    pub blocked: bool,
}

/// One model_list entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    /// Public name clients request; shared by the deployments of a group.
    pub model_name: String,
    /// How to reach the provider.
    pub litellm_params: LitellmParams,
    /// Identity and prices.
    #[serde(default)]
    pub model_info: ModelInfo,
}

/// `litellm_params` of a deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LitellmParams {
    /// `provider/model-id`.
    pub model: String,
    /// Base URL; provider default when absent.
    pub api_base: Option<String>,
    /// Provider credential (normally `os.environ/VAR`).
    pub api_key: Option<String>,
    /// Azure API version query parameter.
    pub api_version: Option<String>,
    /// Relative share of traffic within the group.
    pub weight: Option<f64>,
    /// Deployment requests-per-minute capacity.
    pub rpm: Option<u64>,
    /// Deployment tokens-per-minute capacity.
    pub tpm: Option<u64>,
    /// Priority: lower orders are used first.
    pub order: Option<u32>,
    /// Request timeout in seconds.
    pub timeout: Option<f64>,
    /// Timeout in seconds for streaming requests.
    pub stream_timeout: Option<f64>,
    /// max_tokens sent when the client gives none and the provider requires one.
    pub max_tokens: Option<u64>,
    /// Retries for this deployment (overrides router num_retries).
    pub max_retries: Option<u32>,
    /// Price per input token in USD (LiteLLM also accepts it here).
    pub input_cost_per_token: Option<f64>,
    /// Price per output token in USD.
    pub output_cost_per_token: Option<f64>,
}

/// `model_info` of a deployment.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    /// Stable deployment id reported in headers and spend records.
    pub id: Option<String>,
    /// Price per input token in USD.
    pub input_cost_per_token: Option<f64>,
    /// Price per output token in USD.
    pub output_cost_per_token: Option<f64>,
    /// Price per prompt token read from the provider's cache, in USD.
    pub cache_read_input_token_cost: Option<f64>,
    /// Price per prompt token written to the provider's cache, in USD.
    pub cache_creation_input_token_cost: Option<f64>,
    /// Context window, for context-window fallbacks.
    pub max_input_tokens: Option<u64>,
    /// Largest completion the model produces.
    pub max_output_tokens: Option<u64>,
    /// LiteLLM's model mode (chat, embedding, ...).
    pub mode: Option<String>,
    /// Model used for pricing lookups.
    pub base_model: Option<String>,
    /// Model access groups a key can be granted by name (LiteLLM's access_groups).
    #[serde(default)]
    pub access_groups: Vec<String>,
    /// Only admin and internal_user keys may use this model.
    #[serde(default)]
    pub internal_only: bool,
    /// Model the background health check asks for instead of the deployment's own
    /// (`openai/gpt-4o-mini`, or without the provider prefix).
    pub health_check_model: Option<String>,
    /// Leave this deployment out of the background health checks.
    #[serde(default)]
    pub disable_background_health_check: bool,
}

/// A list of single-entry maps: `[{"gpt-4o": ["claude", "gemini"]}]`.
pub type FallbackList = Vec<BTreeMap<String, Vec<String>>>;

/// `router_settings`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RouterSettings {
    /// Deployment selection strategy within a group.
    pub routing_strategy: Option<String>,
    /// Arguments of the strategy.
    pub routing_strategy_args: Option<RoutingStrategyArgs>,
    /// Retries per request.
    pub num_retries: Option<u32>,
    /// Default request timeout in seconds.
    pub timeout: Option<f64>,
    /// Failures within a minute before a deployment cools down.
    pub allowed_fails: Option<u32>,
    /// Cooldown length in seconds.
    pub cooldown_time: Option<f64>,
    /// Fallback chains per model group.
    pub fallbacks: Option<FallbackList>,
    /// Fallbacks for context-window errors.
    pub context_window_fallbacks: Option<FallbackList>,
    /// Fallbacks for any group without its own chain.
    pub default_fallbacks: Option<Vec<String>>,
    /// Public aliases for model groups.
    pub model_group_alias: Option<BTreeMap<String, AliasTarget>>,
    /// Most fallback model groups tried for one request (LiteLLM's default is 5).
    pub max_fallbacks: Option<usize>,
    /// Retries per failure class, overriding num_retries.
    pub retry_policy: Option<RawRetryPolicy>,
    /// Retry policies per model group.
    pub model_group_retry_policy: Option<BTreeMap<String, RawRetryPolicy>>,
}

/// LiteLLM's `RetryPolicy`: retries per exception class.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct RawRetryPolicy {
    /// 400s (never retried here: a bad request fails on every deployment; accepted for compatibility).
    pub BadRequestErrorRetries: Option<u32>,
    /// 401/403 from the provider.
    pub AuthenticationErrorRetries: Option<u32>,
    /// Timeouts (and 408).
    pub TimeoutErrorRetries: Option<u32>,
    /// 429 and overloaded.
    pub RateLimitErrorRetries: Option<u32>,
    /// Content-policy refusals (client errors here: accepted for compatibility).
    pub ContentPolicyViolationErrorRetries: Option<u32>,
    /// 5xx, 404 and connection failures.
    pub InternalServerErrorRetries: Option<u32>,
}

/// `router_settings.routing_strategy_args` (LiteLLM's RoutingArgs).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoutingStrategyArgs {
    /// latency-based-routing: pick among deployments within (1 + buffer) × the lowest latency.
    pub lowest_latency_buffer: Option<f64>,
    /// Seconds a deployment's latency sample stays valid.
    pub ttl: Option<f64>,
    /// Latency samples averaged (sets the moving average's weight).
    pub max_latency_list_size: Option<u32>,
}

/// An alias target: a group name, or `{model, hidden}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AliasTarget {
    /// `"best": "gpt-4o"`.
    Name(String),
    /// `"best": {"model": "gpt-4o", "hidden": true}`.
    Detailed(DetailedAlias),
}

/// The long alias form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailedAlias {
    /// Target model group.
    pub model: String,
    /// Hidden aliases work but are not listed by /v1/models.
    #[serde(default)]
    pub hidden: bool,
}

/// `litellm_settings`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LitellmSettings {
    /// Fallback chains (merged with router_settings.fallbacks).
    pub fallbacks: Option<FallbackList>,
    /// Context-window fallbacks.
    pub context_window_fallbacks: Option<FallbackList>,
    /// Default fallbacks.
    pub default_fallbacks: Option<Vec<String>>,
    /// Retries per request.
    pub num_retries: Option<u32>,
    /// Default request timeout in seconds.
    pub request_timeout: Option<f64>,
    /// Drop parameters a provider does not support instead of refusing them.
    pub drop_params: Option<bool>,
}

/// `general_settings`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GeneralSettings {
    /// Admin credential; clients send it as `Authorization: Bearer`.
    pub master_key: Option<String>,
    /// Largest accepted request body, in MB (LiteLLM's name).
    pub max_request_size_mb: Option<f64>,
    /// Most virtual keys the key API may create (memory bound).
    pub max_keys: Option<usize>,
    /// Spend records kept in Envoy shared data for /spend/logs (a ring; oldest dropped).
    pub spend_log_size: Option<usize>,
    /// Seconds a client has to send its complete request, headers and body
    /// (Envoy's `request_timeout`); a stalled upload gets a 408.
    pub request_receive_timeout: Option<f64>,
    /// Check every deployment in the background with a one-token request.
    pub background_health_checks: Option<bool>,
    /// Seconds between two rounds of background checks.
    pub health_check_interval: Option<f64>,
    /// Seconds a background check may take before it counts as failed.
    pub health_check_timeout: Option<f64>,
    /// What names a key in the metrics' `key` label: key_alias (default),
    /// team_id, user_id, metadata.<field> or none.
    pub metrics_key_label: Option<String>,
    /// Most distinct `key` label values; later ones count as `other`.
    pub metrics_key_label_limit: Option<usize>,
}
