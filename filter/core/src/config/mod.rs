//! Loading and validating config.yaml into the resolved [`Config`] the gateway runs on.
//!
//! Loading happens once per plugin start; every error names the field path so
//! `tollgate validate` and the filter's log say exactly what to fix.

pub mod env;
mod health;
pub mod raw;

use crate::keys::record::{hash_key, mask_key, parse_duration, KeyRecord, Role};
use crate::provider::Provider;
use crate::upstream::Upstream;
use raw::{AliasTarget, FallbackList, RawConfig};
use std::collections::BTreeMap;
use std::fmt;

/// Request body limit when general_settings.max_request_size_mb is absent.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Spend records kept when general_settings.spend_log_size is absent.
pub const DEFAULT_SPEND_LOG_SIZE: usize = 1_000;
/// Key API capacity when general_settings.max_keys is absent.
pub const DEFAULT_MAX_KEYS: usize = 10_000;
/// Fallback groups tried per request unless router_settings.max_fallbacks says otherwise (LiteLLM's default).
pub const DEFAULT_MAX_FALLBACKS: usize = 5;

/// Upstream timeout when neither deployment nor router sets one (LiteLLM's default).
pub const DEFAULT_TIMEOUT_MS: u64 = 600_000;
/// Time to receive a complete request when general_settings.request_receive_timeout is absent.
pub const DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS: u64 = 60_000;

/// A config problem, located by field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path with indices, e.g. `model_list[2].litellm_params.model`; empty for the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "config: {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// One routable deployment of a model group.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// model_info.id, or a stable id derived from the entry.
    pub id: String,
    /// Model group (model_name) it serves.
    pub group: String,
    /// Provider family.
    pub provider: Provider,
    /// Provider's model id (the part after the prefix).
    pub model: String,
    /// Cluster, authority and base path.
    pub upstream: Upstream,
    /// Resolved provider credential.
    pub api_key: Option<String>,
    /// Azure api-version.
    pub api_version: Option<String>,
    /// Explicit weight, if given.
    pub weight: Option<f64>,
    /// Requests per minute capacity.
    pub rpm: Option<u64>,
    /// Tokens per minute capacity.
    pub tpm: Option<u64>,
    /// Priority; lower first. Deployments without order come after ordered ones.
    pub order: u32,
    /// Upstream timeout in ms.
    pub timeout_ms: u64,
    /// Timeout for streaming requests in ms.
    pub stream_timeout_ms: u64,
    /// USD per prompt token.
    pub input_cost_per_token: f64,
    /// USD per completion token.
    pub output_cost_per_token: f64,
    /// USD per cached prompt token read; 0 = derive from the built-in price table.
    pub cache_read_input_token_cost: f64,
    /// USD per prompt token written to cache; 0 = derive from the built-in price table.
    pub cache_creation_input_token_cost: f64,
    /// model_info.base_model: the model whose list price applies (Azure deployment names).
    pub base_model: Option<String>,
    /// Context window, when known.
    pub max_input_tokens: Option<u64>,
    /// Default max_tokens for providers that require one.
    pub max_tokens: Option<u64>,
    /// Access groups this deployment's model group belongs to.
    pub access_groups: Vec<String>,
    /// Restricted to admin and internal_user keys.
    pub internal_only: bool,
    /// model_info.mode as written (chat, embedding, ...).
    pub mode: Option<String>,
    /// Model the background health check asks for, when not the deployment's own.
    pub health_check_model: Option<String>,
    /// False when model_info.disable_background_health_check is set.
    pub health_check: bool,
}

/// A public alias for a model group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Model group it resolves to.
    pub target: String,
    /// Hidden aliases are not listed by /v1/models.
    pub hidden: bool,
}

/// Validated, environment-resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// All deployments in config order.
    pub deployments: Vec<Deployment>,
    /// Model group name -> indices into `deployments`, in config order.
    pub groups: BTreeMap<String, Vec<usize>>,
    /// Alias name -> target group.
    pub aliases: BTreeMap<String, Alias>,
    /// Admin key; None leaves the LLM routes open (LiteLLM's behaviour without a master key).
    pub master_key: Option<String>,
    /// Largest accepted request body in bytes.
    pub max_request_bytes: usize,
    /// Retries per request.
    pub num_retries: u32,
    /// Routing strategy within a model group, and its arguments.
    pub routing: crate::routing::Routing,
    /// Default upstream timeout in ms.
    pub timeout_ms: u64,
    /// Failures per minute before cooldown.
    pub allowed_fails: u32,
    /// Cooldown in ms.
    pub cooldown_ms: u64,
    /// Fallback chain per group.
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// Context-window fallback chain per group.
    pub context_window_fallbacks: BTreeMap<String, Vec<String>>,
    /// Fallbacks for groups without their own chain.
    pub default_fallbacks: Vec<String>,
    /// Most fallback groups tried per request.
    pub max_fallbacks: usize,
    /// Retries per failure class (num_retries where unset).
    pub retry_policy: crate::failover::RetryPolicy,
    /// Retry policy per model group.
    pub group_retry_policy: BTreeMap<String, crate::failover::RetryPolicy>,
    /// Drop unsupported params instead of refusing them.
    pub drop_params: bool,
    /// Keys declared in config, by token hash.
    pub declared_keys: BTreeMap<String, KeyRecord>,
    /// Most keys the key API may create.
    pub max_keys: usize,
    /// Spend records kept for /spend/logs.
    pub spend_log_size: usize,
    /// Time a client has to send its complete request, in ms (rendered into Envoy).
    pub request_receive_timeout_ms: u64,
    /// Background health checks.
    pub health: crate::health::Settings,
    /// Metric labels (the `key` label and its cap).
    pub metrics: crate::metrics::Settings,
}

impl Config {
    /// Parses, resolves `os.environ/` references with `lookup` and validates.
    pub fn load(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut doc = parse_document(text)?;
        env::resolve(&mut doc, "", lookup).map_err(|(p, m)| ConfigError::at(p, m))?;
        let raw: RawConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            ConfigError::at(path, e.into_inner().to_string())
        })?;
        build(raw)
    }

    /// Lists `os.environ/` references without resolving them (for rendering).
    pub fn env_refs(text: &str) -> Result<Vec<env::EnvRef>, ConfigError> {
        Ok(env::collect(&parse_document(text)?))
    }

    /// Resolves a requested name (group or alias) to its model group.
    pub fn resolve_group(&self, name: &str) -> Option<&str> {
        if let Some((group, _)) = self.groups.get_key_value(name) {
            return Some(group);
        }
        self.aliases.get(name).map(|a| a.target.as_str())
    }

    /// Distinct upstreams in first-use order: one Envoy cluster each.
    pub fn upstreams(&self) -> Vec<&Upstream> {
        let mut seen: Vec<&Upstream> = Vec::new();
        for d in &self.deployments {
            if !seen.iter().any(|u| u.cluster == d.upstream.cluster) {
                seen.push(&d.upstream);
            }
        }
        seen
    }
}

/// Parses the YAML (or JSON) text into a document, refusing non-mappings.
pub fn parse_document(text: &str) -> Result<serde_yaml::Value, ConfigError> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| ConfigError::at("", format!("not valid YAML: {e}")))?;
    match doc {
        serde_yaml::Value::Mapping(_) => Ok(doc),
        serde_yaml::Value::Null => Ok(serde_yaml::Value::Mapping(Default::default())),
        _ => Err(ConfigError::at("", "top level must be a mapping")),
    }
}

/// `general_settings.metrics_key_label` and `metrics_key_label_limit`.
fn metrics_settings(gs: &raw::GeneralSettings) -> Result<crate::metrics::Settings, ConfigError> {
    let mut s = crate::metrics::Settings::default();
    if let Some(label) = &gs.metrics_key_label {
        s.key_label = crate::metrics::KeyLabel::parse(label)
            .map_err(|m| ConfigError::at("general_settings.metrics_key_label", m))?;
    }
    match gs.metrics_key_label_limit {
        Some(n) if (1..=10_000).contains(&n) => s.key_limit = n,
        Some(n) => {
            return Err(ConfigError::at(
                "general_settings.metrics_key_label_limit",
                format!("{n} is out of range (1..=10000)"),
            ))
        }
        None => {}
    }
    Ok(s)
}

fn build(raw: RawConfig) -> Result<Config, ConfigError> {
    let rs = &raw.router_settings;
    let ls = &raw.litellm_settings;
    let timeout_ms = match (rs.timeout, ls.request_timeout) {
        (Some(t), _) => seconds("router_settings.timeout", t)?,
        (None, Some(t)) => seconds("litellm_settings.request_timeout", t)?,
        (None, None) => DEFAULT_TIMEOUT_MS,
    };
    let mut cfg = Config {
        master_key: raw.general_settings.master_key.clone(),
        max_request_bytes: match raw.general_settings.max_request_size_mb {
            Some(mb) if mb > 0.0 && mb.is_finite() && mb <= 4096.0 => {
                (mb * 1024.0 * 1024.0) as usize
            }
            Some(mb) => {
                return Err(ConfigError::at(
                    "general_settings.max_request_size_mb",
                    format!("{mb} is out of range (0 < MB <= 4096)"),
                ))
            }
            None => DEFAULT_MAX_REQUEST_BYTES,
        },
        num_retries: rs.num_retries.or(ls.num_retries).unwrap_or(0),
        routing: crate::routing::settings::from_settings(rs)?,
        timeout_ms,
        allowed_fails: rs.allowed_fails.unwrap_or(3),
        cooldown_ms: match rs.cooldown_time {
            Some(t) => seconds("router_settings.cooldown_time", t)?,
            None => 5_000,
        },
        drop_params: ls.drop_params.unwrap_or(false),
        max_fallbacks: match rs.max_fallbacks {
            Some(n) if n <= 100 => n,
            Some(n) => {
                return Err(ConfigError::at(
                    "router_settings.max_fallbacks",
                    format!("{n} is out of range (0..=100)"),
                ))
            }
            None => DEFAULT_MAX_FALLBACKS,
        },
        max_keys: raw.general_settings.max_keys.unwrap_or(DEFAULT_MAX_KEYS),
        spend_log_size: match raw.general_settings.spend_log_size {
            Some(n) if (1..=1_000_000).contains(&n) => n,
            Some(n) => {
                return Err(ConfigError::at(
                    "general_settings.spend_log_size",
                    format!("{n} is out of range (1..=1000000)"),
                ))
            }
            None => DEFAULT_SPEND_LOG_SIZE,
        },
        request_receive_timeout_ms: match raw.general_settings.request_receive_timeout {
            Some(t) => seconds("general_settings.request_receive_timeout", t)?,
            None => DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
        },
        health: health::settings(&raw.general_settings)?,
        metrics: metrics_settings(&raw.general_settings)?,
        ..Config::default()
    };
    if matches!(cfg.master_key.as_deref(), Some("")) {
        return Err(ConfigError::at(
            "general_settings.master_key",
            "must not be empty",
        ));
    }
    if let Some(k) = &cfg.master_key {
        header_safe("general_settings.master_key", k)?;
    }
    for (i, d) in raw.model_list.iter().enumerate() {
        let dep = build_deployment(i, d, timeout_ms)?;
        if cfg.deployments.iter().any(|o| o.id == dep.id) {
            return Err(ConfigError::at(
                format!("model_list[{i}].model_info.id"),
                format!("duplicate deployment id {:?}", dep.id),
            ));
        }
        cfg.groups.entry(dep.group.clone()).or_default().push(i);
        cfg.deployments.push(dep);
    }
    if let Some(aliases) = &rs.model_group_alias {
        for (name, target) in aliases {
            let path = format!("router_settings.model_group_alias.{name}");
            let alias = match target {
                AliasTarget::Name(t) => Alias {
                    target: t.clone(),
                    hidden: false,
                },
                AliasTarget::Detailed(d) => Alias {
                    target: d.model.clone(),
                    hidden: d.hidden,
                },
            };
            if !cfg.groups.contains_key(&alias.target) {
                return Err(ConfigError::at(
                    path,
                    format!("unknown model group {:?}", alias.target),
                ));
            }
            if cfg.groups.contains_key(name) {
                return Err(ConfigError::at(
                    path,
                    "alias shadows a model group of the same name",
                ));
            }
            cfg.aliases.insert(name.clone(), alias);
        }
    }
    for (section, list) in [
        ("router_settings.fallbacks", &rs.fallbacks),
        ("litellm_settings.fallbacks", &ls.fallbacks),
    ] {
        let chains = fallback_chains(&cfg, section, list)?;
        cfg.fallbacks.extend(chains);
    }
    for (section, list) in [
        (
            "router_settings.context_window_fallbacks",
            &rs.context_window_fallbacks,
        ),
        (
            "litellm_settings.context_window_fallbacks",
            &ls.context_window_fallbacks,
        ),
    ] {
        let chains = fallback_chains(&cfg, section, list)?;
        cfg.context_window_fallbacks.extend(chains);
    }
    for (section, list) in [
        ("router_settings.default_fallbacks", &rs.default_fallbacks),
        ("litellm_settings.default_fallbacks", &ls.default_fallbacks),
    ] {
        for (j, name) in list.iter().flatten().enumerate() {
            check_known(&cfg, &format!("{section}[{j}]"), name)?;
            cfg.default_fallbacks.push(name.clone());
        }
    }
    let retries = cfg.num_retries;
    cfg.retry_policy = crate::failover::RetryPolicy::from_raw(rs.retry_policy.as_ref(), retries);
    for (group, p) in rs.model_group_retry_policy.iter().flatten() {
        check_known(
            &cfg,
            &format!("router_settings.model_group_retry_policy.{group}"),
            group,
        )?;
        let target = cfg.resolve_group(group).unwrap_or(group).to_string();
        let base = cfg.retry_policy;
        cfg.group_retry_policy.insert(target, base.overlay(p));
    }
    for (i, k) in raw.keys.iter().enumerate() {
        let rec = declared_key(i, k, &cfg)?;
        if cfg.declared_keys.contains_key(&rec.token) {
            return Err(ConfigError::at(format!("keys[{i}]"), "duplicate key"));
        }
        cfg.declared_keys.insert(rec.token.clone(), rec);
    }
    Ok(cfg)
}

/// Credentials travel in header values, which cannot hold control characters: a
/// provider key with an embedded newline would fail every request at Envoy (503),
/// a master key with one could never be presented. U+FFFD is what the filter reads
/// for header bytes that are not UTF-8, so a key holding it could be matched by them.
fn header_safe(path: impl Into<String>, value: &str) -> Result<(), ConfigError> {
    if value.chars().any(|c| c.is_control() || c == '\u{FFFD}') {
        return Err(ConfigError::at(
            path,
            "contains a control character (a line break?) or U+FFFD; it must fit in an HTTP header",
        ));
    }
    Ok(())
}

fn declared_key(i: usize, k: &raw::RawKey, cfg: &Config) -> Result<KeyRecord, ConfigError> {
    let base = format!("keys[{i}]");
    let (token, key_name) =
        match (&k.key, &k.token) {
            (Some(key), None)
                if key.starts_with("sk-")
                    && key.len() >= 8
                    && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                (hash_key(key), mask_key(key))
            }
            (Some(_), None) => return Err(ConfigError::at(
                format!("{base}.key"),
                "must start with sk- and have at least 8 printable ASCII characters without spaces",
            )),
            (None, Some(t)) if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) => {
                (t.to_ascii_lowercase(), "sk-...????".to_string())
            }
            (None, Some(_)) => {
                return Err(ConfigError::at(
                    format!("{base}.token"),
                    "must be a 64-character hex SHA-256",
                ))
            }
            _ => return Err(ConfigError::at(base, "give exactly one of key or token")),
        };
    let role = match k.role.as_deref() {
        None => Role::InternalUser,
        Some(r) => {
            serde_json::from_value(serde_json::Value::String(r.to_string())).map_err(|_| {
                ConfigError::at(
                    format!("{base}.role"),
                    format!("unknown role {r:?} (proxy_admin, internal_user, customer)"),
                )
            })?
        }
    };
    if role == Role::Customer && k.models.is_empty() {
        return Err(ConfigError::at(
            format!("{base}.models"),
            "customer keys must list their models",
        ));
    }
    if let Some(d) = &k.budget_duration {
        if parse_duration(d).is_none() {
            return Err(ConfigError::at(
                format!("{base}.budget_duration"),
                format!("invalid duration {d:?} (e.g. 30d, 1h)"),
            ));
        }
    }
    for (alias, target) in &k.aliases {
        if cfg.resolve_group(target).is_none() {
            return Err(ConfigError::at(
                format!("{base}.aliases.{alias}"),
                format!("unknown model group {target:?}"),
            ));
        }
    }
    Ok(KeyRecord {
        token,
        key_name,
        key_alias: k.key_alias.clone(),
        models: k.models.clone(),
        max_budget: k.max_budget,
        budget_duration: k.budget_duration.clone(),
        soft_budget: k.soft_budget,
        rpm_limit: k.rpm_limit,
        tpm_limit: k.tpm_limit,
        max_parallel_requests: k.max_parallel_requests,
        model_rpm_limit: k.model_rpm_limit.clone(),
        model_tpm_limit: k.model_tpm_limit.clone(),
        metadata: k.metadata.clone(),
        team_id: k.team_id.clone(),
        user_id: k.user_id.clone(),
        expires_at: None,
        allowed_routes: k.allowed_routes.clone(),
        role,
        aliases: k.aliases.clone(),
        blocked: k.blocked,
        created_at: 0,
        updated_at: 0,
        spend: 0.0,
        declared: true,
    })
}

fn fallback_chains(
    cfg: &Config,
    section: &str,
    list: &Option<FallbackList>,
) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let mut out = Vec::new();
    for (i, entry) in list.iter().flatten().enumerate() {
        for (from, targets) in entry {
            let path = format!("{section}[{i}].{from}");
            check_known(cfg, &path, from)?;
            for (j, t) in targets.iter().enumerate() {
                check_known(cfg, &format!("{path}[{j}]"), t)?;
            }
            out.push((from.clone(), targets.clone()));
        }
    }
    Ok(out)
}

fn check_known(cfg: &Config, path: &str, name: &str) -> Result<(), ConfigError> {
    if cfg.resolve_group(name).is_none() {
        return Err(ConfigError::at(
            path,
            format!("unknown model group {name:?}"),
        ));
    }
    Ok(())
}

fn seconds(path: &str, s: f64) -> Result<u64, ConfigError> {
    if !(s > 0.0 && s.is_finite() && s <= 86_400.0) {
        return Err(ConfigError::at(
            path,
            format!("{s} is out of range (0 < seconds <= 86400)"),
        ));
    }
    Ok((s * 1000.0).ceil() as u64)
}

fn build_deployment(
    i: usize,
    d: &raw::RawDeployment,
    default_timeout_ms: u64,
) -> Result<Deployment, ConfigError> {
    let base = format!("model_list[{i}]");
    let lp = &d.litellm_params;
    if d.model_name.trim().is_empty() {
        return Err(ConfigError::at(
            format!("{base}.model_name"),
            "must not be empty",
        ));
    }
    let (provider, model) = Provider::split_model(&lp.model)
        .map_err(|m| ConfigError::at(format!("{base}.litellm_params.model"), m))?;
    let api_base_path = format!("{base}.litellm_params.api_base");
    let api_base = match (&lp.api_base, provider.default_api_base()) {
        (Some(b), _) => b.as_str(),
        (None, Some(default)) => default,
        (None, None) => {
            return Err(ConfigError::at(
                api_base_path,
                format!("required for {provider} deployments"),
            ))
        }
    };
    let upstream = Upstream::parse(api_base).map_err(|m| ConfigError::at(&api_base_path, m))?;
    if let Some(w) = lp.weight {
        if !(w >= 0.0 && w.is_finite()) {
            return Err(ConfigError::at(
                format!("{base}.litellm_params.weight"),
                format!("{w} must be >= 0"),
            ));
        }
    }
    let timeout_ms = match lp.timeout {
        Some(t) => seconds(&format!("{base}.litellm_params.timeout"), t)?,
        None => default_timeout_ms,
    };
    let stream_timeout_ms = match lp.stream_timeout {
        Some(t) => seconds(&format!("{base}.litellm_params.stream_timeout"), t)?,
        None => timeout_ms,
    };
    let price = |path: &str, a: Option<f64>, b: Option<f64>| -> Result<f64, ConfigError> {
        let v = a.or(b).unwrap_or(0.0);
        if !(v >= 0.0 && v.is_finite()) {
            return Err(ConfigError::at(
                format!("{base}.model_info.{path}"),
                format!("{v} must be >= 0"),
            ));
        }
        Ok(v)
    };
    let mi = &d.model_info;
    let id = match &mi.id {
        Some(id) if id.trim().is_empty() => {
            return Err(ConfigError::at(
                format!("{base}.model_info.id"),
                "must not be empty",
            ))
        }
        Some(id) => id.clone(),
        None => derived_id(&d.model_name, &lp.model, api_base, i),
    };
    if let Some(k) = &lp.api_key {
        header_safe(format!("{base}.litellm_params.api_key"), k)?;
    }
    Ok(Deployment {
        id,
        group: d.model_name.clone(),
        provider,
        model: model.to_string(),
        upstream,
        api_key: lp.api_key.clone().filter(|k| !k.is_empty()),
        api_version: lp.api_version.clone(),
        weight: lp.weight,
        rpm: lp.rpm,
        tpm: lp.tpm,
        order: lp.order.unwrap_or(u32::MAX),
        timeout_ms,
        stream_timeout_ms,
        input_cost_per_token: price(
            "input_cost_per_token",
            mi.input_cost_per_token,
            lp.input_cost_per_token,
        )?,
        output_cost_per_token: price(
            "output_cost_per_token",
            mi.output_cost_per_token,
            lp.output_cost_per_token,
        )?,
        cache_read_input_token_cost: price(
            "cache_read_input_token_cost",
            mi.cache_read_input_token_cost,
            None,
        )?,
        cache_creation_input_token_cost: price(
            "cache_creation_input_token_cost",
            mi.cache_creation_input_token_cost,
            None,
        )?,
        base_model: mi.base_model.clone().filter(|m| !m.trim().is_empty()),
        max_input_tokens: mi.max_input_tokens,
        max_tokens: lp.max_tokens,
        access_groups: mi.access_groups.clone(),
        internal_only: mi.internal_only,
        mode: mi.mode.clone(),
        health_check_model: health::check_model(
            &format!("{base}.model_info.health_check_model"),
            provider,
            mi.health_check_model.as_deref(),
        )?,
        health_check: !mi.disable_background_health_check,
    })
}

/// FNV-1a of the entry's identity: stable across restarts and worker VMs.
fn derived_id(group: &str, model: &str, api_base: &str, index: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{group}|{model}|{api_base}|{index}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests;
