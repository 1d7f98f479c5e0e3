//! The request half: which path, headers and body a deployment receives.
//!
//! Same-format pairs (OpenAI client to openai/, Anthropic client to anthropic/,
//! Gemini client to gemini/) pass the client's bytes through with only the model
//! replaced; every other pair goes through OpenAI chat, the pivot.

use super::response::{ResponsePlan, Translation};
use crate::body::{self, RequestHead};
use crate::config::{Config, Deployment};
use crate::error::ApiError;
use crate::provider::Provider;
use crate::providers::{anthropic, gemini, openai};
use crate::routes::{ClientApi, Endpoint};
use crate::translate::responses::{check_request, responses_to_chat};
use crate::translate::RequestCtx;
use serde_json::Value;

/// Client credentials that must never reach a provider.
pub const CLIENT_CREDENTIALS: [&str; 3] = ["authorization", "x-api-key", "x-goog-api-key"];

/// max_tokens sent to providers that require it when neither client nor deployment set one.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The request as the deployment receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    /// `:path`, query included.
    pub path: String,
    /// Provider headers to set (credential, version).
    pub headers: Vec<(&'static str, String)>,
    /// Replacement body; None keeps the client's bytes.
    pub body: Option<Vec<u8>>,
}

/// True when `dep` can serve requests in `api` (natively or translated).
pub fn serves(dep: &Deployment, api: ClientApi) -> bool {
    !matches!(
        (api, dep.provider),
        (_, Provider::Azure) | (ClientApi::Embeddings, Provider::Anthropic)
    )
}

/// Builds the upstream request and response plan for one deployment.
pub fn prepare(
    cfg: &Config,
    dep: &Deployment,
    endpoint: &Endpoint,
    query: &str,
    raw: &[u8],
    head: &RequestHead,
) -> Result<(UpstreamRequest, ResponsePlan), ApiError> {
    let api = endpoint.api();
    let stream = match endpoint {
        Endpoint::Inference {
            path_stream: true, ..
        } => true,
        _ => head.stream,
    };
    let native = matches!(
        (api, dep.provider),
        (
            ClientApi::Chat | ClientApi::Responses | ClientApi::Embeddings,
            Provider::OpenAi
        ) | (ClientApi::Anthropic, Provider::Anthropic)
            | (ClientApi::Gemini, Provider::Gemini)
    );
    if native {
        return Ok((
            native_request(dep, api, query, raw, head, stream)?,
            ResponsePlan::Passthrough,
        ));
    }
    let client: Value = serde_json::from_slice(raw).map_err(|e| {
        ApiError::bad_request(format!(
            "We could not parse the JSON body of your request ({e})."
        ))
    })?;
    let include_usage = match api {
        ClientApi::Chat => client
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        _ => true,
    };
    let ctx = RequestCtx {
        model: dep.model.clone(),
        client_model: head.model.clone(),
        stream,
        include_usage,
        drop_params: cfg.drop_params,
        default_max_tokens: dep.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    };
    let mut embed = None;
    let mut responses_request = None;
    let (path, body) = if api == ClientApi::Embeddings {
        let opts = gemini::EmbedOptions::from_request(&client);
        embed = Some(opts);
        let (suffix, body) = gemini::embeddings_to_gemini(&client, &ctx)?;
        (
            format!(
                "{}{suffix}",
                gemini::model_path(&dep.upstream.base_path, &dep.model)
            ),
            body,
        )
    } else {
        let mut chat = match api {
            ClientApi::Chat => client,
            ClientApi::Responses => {
                check_request(&client)?;
                let chat = responses_to_chat(&client, &ctx)?;
                responses_request = Some(client);
                chat
            }
            ClientApi::Anthropic => anthropic::messages_to_chat_request(&client, &ctx)?,
            ClientApi::Gemini => gemini::gemini_to_chat_request(&client, &ctx)?,
            ClientApi::Embeddings => {
                return Err(ApiError::internal(500, "unreachable embeddings branch"))
            }
        };
        if let Some(obj) = chat.as_object_mut() {
            obj.insert("model".into(), Value::String(dep.model.clone()));
            obj.insert("stream".into(), Value::Bool(stream));
            if stream {
                // Usage is needed for the client's final event even if it did not ask.
                obj.insert(
                    "stream_options".into(),
                    serde_json::json!({"include_usage": true}),
                );
            } else {
                obj.remove("stream_options");
            }
        }
        match dep.provider {
            Provider::Anthropic => (
                anthropic::upstream_path(&dep.upstream.base_path),
                anthropic::chat_to_messages(&chat, &ctx)?,
            ),
            Provider::Gemini => (
                gemini::upstream_path(&dep.upstream.base_path, &dep.model, stream),
                gemini::chat_to_gemini(&chat, &ctx)?,
            ),
            Provider::OpenAi | Provider::Azure => {
                (openai::path(dep, "/chat/completions", ""), chat)
            }
        }
    };
    let plan = ResponsePlan::Translate(Translation {
        client: api,
        provider: dep.provider,
        stream,
        ctx,
        responses_request,
        embed,
    });
    Ok((
        UpstreamRequest {
            path,
            headers: provider_headers(dep, None),
            body: Some(body.to_string().into_bytes()),
        },
        plan,
    ))
}

fn native_request(
    dep: &Deployment,
    api: ClientApi,
    query: &str,
    raw: &[u8],
    head: &RequestHead,
    stream: bool,
) -> Result<UpstreamRequest, ApiError> {
    let query = crate::routes::strip_key_param(query);
    let (path, body) = match api {
        ClientApi::Gemini => {
            // The model is in the path; the body has none to replace.
            let mut path = gemini::model_path(&dep.upstream.base_path, &dep.model);
            path.push_str(if stream {
                ":streamGenerateContent"
            } else {
                ":generateContent"
            });
            if !query.is_empty() {
                path.push('?');
                path.push_str(&query);
            }
            (path, None)
        }
        ClientApi::Anthropic => {
            let mut path = anthropic::upstream_path(&dep.upstream.base_path);
            if !query.is_empty() {
                path.push('?');
                path.push_str(&query);
            }
            (path, body::replace_model(raw, head, &dep.model))
        }
        ClientApi::Chat => (
            openai::path(dep, "/chat/completions", &query),
            with_stream_usage(raw, head, &dep.model),
        ),
        ClientApi::Responses => {
            if let Ok(v) = serde_json::from_slice::<Value>(raw) {
                check_request(&v)?;
            }
            (
                openai::path(dep, "/responses", &query),
                body::replace_model(raw, head, &dep.model),
            )
        }
        ClientApi::Embeddings => (
            openai::path(dep, "/embeddings", &query),
            body::replace_model(raw, head, &dep.model),
        ),
    };
    Ok(UpstreamRequest {
        path,
        headers: provider_headers(dep, Some(api)),
        body,
    })
}

/// Native OpenAI chat: the model replaced and, for streams, usage requested
/// (`stream_options.include_usage`) so tokens and spend are metered; the client
/// then also receives the standard final usage chunk.
fn with_stream_usage(raw: &[u8], head: &RequestHead, model: &str) -> Option<Vec<u8>> {
    if !head.stream {
        return body::replace_model(raw, head, model);
    }
    let mut v: Value = serde_json::from_slice(raw).ok()?;
    let asked = v
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if asked {
        return body::replace_model(raw, head, model);
    }
    let obj = v.as_object_mut()?;
    obj.insert("model".into(), Value::String(model.to_string()));
    match obj.get_mut("stream_options").and_then(Value::as_object_mut) {
        Some(so) => {
            so.insert("include_usage".into(), Value::Bool(true));
        }
        None => {
            obj.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true}),
            );
        }
    }
    serde_json::to_vec(&v).ok()
}

/// A provider-prefixed passthrough: the client's path under the deployment's base,
/// the client's body with only a matched model replaced.
pub fn passthrough(
    dep: &Deployment,
    rest: &str,
    query: &str,
    raw: &[u8],
    head: Option<&RequestHead>,
) -> UpstreamRequest {
    let query = crate::routes::strip_key_param(query);
    let mut path = format!("{}{rest}", dep.upstream.base_path);
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query);
    }
    let native = match dep.provider {
        Provider::Anthropic => ClientApi::Anthropic,
        _ => ClientApi::Gemini,
    };
    UpstreamRequest {
        path,
        headers: provider_headers(dep, Some(native)),
        body: head.and_then(|h| body::replace_model(raw, h, &dep.model)),
    }
}

/// The deployment's credential (and Anthropic's version header).
fn provider_headers(dep: &Deployment, native: Option<ClientApi>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match dep.provider {
        Provider::Anthropic => {
            if let Some(k) = &dep.api_key {
                out.push(("x-api-key", k.clone()));
            }
            // A native Anthropic client keeps its own anthropic-version header.
            if native != Some(ClientApi::Anthropic) {
                out.push((
                    "anthropic-version",
                    anthropic::ANTHROPIC_VERSION.to_string(),
                ));
            }
        }
        Provider::Gemini => out.extend(gemini::auth_header(dep)),
        Provider::OpenAi | Provider::Azure => out.extend(openai::auth_header(dep)),
    }
    out
}
