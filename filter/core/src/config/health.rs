//! The health-check settings of config.yaml: `general_settings.background_health_checks`,
//! `health_check_interval`, `health_check_timeout` and, per deployment,
//! `model_info.health_check_model` / `disable_background_health_check`.

use super::raw::GeneralSettings;
use super::{seconds, ConfigError};
use crate::health::{Settings, MIN_INTERVAL_MS};
use crate::provider::Provider;

/// Reads and checks the general_settings part.
pub(super) fn settings(gs: &GeneralSettings) -> Result<Settings, ConfigError> {
    let mut s = Settings {
        background: gs.background_health_checks.unwrap_or(false),
        ..Settings::default()
    };
    if let Some(t) = gs.health_check_interval {
        let path = "general_settings.health_check_interval";
        let ms = seconds(path, t)?;
        if ms < MIN_INTERVAL_MS {
            return Err(ConfigError::at(
                path,
                format!("{t} is too short (at least 1 second)"),
            ));
        }
        s.interval_ms = ms;
    }
    if let Some(t) = gs.health_check_timeout {
        s.timeout_ms = seconds("general_settings.health_check_timeout", t)?;
    }
    Ok(s)
}

/// `model_info.health_check_model` without the deployment's provider prefix.
pub(super) fn check_model(
    path: &str,
    provider: Provider,
    model: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let Some(model) = model else {
        return Ok(None);
    };
    let model = model.trim();
    let bare = match Provider::split_model(model) {
        Ok((p, rest)) if p == provider => rest,
        Ok((p, _)) => {
            return Err(ConfigError::at(
                path,
                format!("{model:?} names provider {p}, but the deployment is {provider}"),
            ))
        }
        // No known provider prefix: a model id as the provider spells it
        // (`meta-llama/Llama-3.1-8B` on an OpenAI-compatible server).
        Err(_) => model,
    };
    if bare.is_empty() {
        return Err(ConfigError::at(path, "must not be empty"));
    }
    Ok(Some(bare.to_string()))
}
