//! OpenAI `/v1/embeddings` <-> Gemini `:embedContent` / `:batchEmbedContents`.

use serde_json::{json, Value};

use super::error::api_error_from_gemini;
use super::{unsupported, upstream_error};
use crate::error::ApiError;
use crate::translate::{RequestCtx, Usage};

/// Facts about the client's embeddings request that shape the answer; Gemini
/// echoes neither, so the caller keeps these between request and response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmbedOptions {
    /// The client asked for `encoding_format: "base64"`.
    pub base64: bool,
    /// Estimated prompt tokens (Gemini reports none for embeddings).
    pub prompt_tokens: u64,
}

impl EmbedOptions {
    /// Reads the options from an OpenAI embeddings request.
    pub fn from_request(req: &Value) -> EmbedOptions {
        let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
        let prompt_tokens = match req.get("input") {
            Some(Value::String(s)) => estimate_tokens(s),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(estimate_tokens)
                .sum(),
            _ => 0,
        };
        EmbedOptions {
            base64,
            prompt_tokens,
        }
    }
}

/// About four characters per token, at least one token per input.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

fn invalid(param: &'static str, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid '{param}': {what}")).with_param(param)
}

/// Translates an OpenAI embeddings request: returns the method suffix to
/// append to [`super::model_path`] (`:embedContent` for one string,
/// `:batchEmbedContents` for a list) and the Gemini body.
pub fn embeddings_to_gemini(req: &Value, ctx: &RequestCtx) -> Result<(String, Value), ApiError> {
    let obj = req
        .as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    let dims = match obj.get("dimensions") {
        None | Some(Value::Null) => None,
        Some(d) if d.as_u64().is_some_and(|d| d > 0) => Some(d.clone()),
        Some(_) => return Err(invalid("dimensions", "expected a positive integer")),
    };
    match obj.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") | Some("base64") => {}
        Some(_) => return Err(invalid("encoding_format", "expected float or base64")),
    }
    for key in obj.keys() {
        match key.as_str() {
            "model" | "input" | "dimensions" | "encoding_format" => {}
            "user" => unsupported("user", "Gemini", ctx)?,
            other if ctx.drop_params => {
                let _ = other;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unrecognized request argument supplied: {other} (Gemini deployments do \
                     not support it; set drop_params: true to drop it instead)"
                )))
            }
        }
    }
    let model = format!(
        "models/{}",
        ctx.model.strip_prefix("models/").unwrap_or(&ctx.model)
    );
    let request = |text: &str| {
        let mut r = json!({"model": model, "content": {"parts": [{"text": text}]}});
        if let Some(d) = &dims {
            r["outputDimensionality"] = d.clone();
        }
        r
    };
    let token_ids = "token-id inputs are not supported by Gemini; send text";
    match obj.get("input") {
        Some(Value::String(s)) => Ok((":embedContent".into(), request(s))),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut requests = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => requests.push(request(s)),
                    _ => return Err(invalid("input", token_ids)),
                }
            }
            Ok((
                ":batchEmbedContents".into(),
                json!({ "requests": requests }),
            ))
        }
        Some(Value::Array(_)) => Err(invalid("input", "must not be empty")),
        None | Some(Value::Null) => Err(invalid("input", "is required")),
        Some(_) => Err(invalid("input", "expected a string or an array of strings")),
    }
}

/// Translates `:embedContent` / `:batchEmbedContents` output into an OpenAI
/// embeddings list; usage is the estimate in `opts`.
pub fn gemini_to_embeddings(
    resp: &Value,
    opts: EmbedOptions,
    ctx: &RequestCtx,
) -> Result<(Value, Usage), ApiError> {
    if let Some(err) = resp.get("error") {
        return Err(api_error_from_gemini(err, 502));
    }
    let vectors: Vec<&Value> = match (resp.get("embedding"), resp.get("embeddings")) {
        (Some(one), _) => vec![one],
        (None, Some(Value::Array(many))) => many.iter().collect(),
        _ => return Err(upstream_error("Gemini returned no embeddings")),
    };
    let mut data = Vec::with_capacity(vectors.len());
    for (index, v) in vectors.into_iter().enumerate() {
        let values = v
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| upstream_error("Gemini returned an embedding without values"))?;
        let embedding = if opts.base64 {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            for x in values {
                // OpenAI's base64 format is little-endian f32.
                let f = x.as_f64().unwrap_or(0.0) as f32;
                bytes.extend_from_slice(&f.to_le_bytes());
            }
            Value::String(base64(&bytes))
        } else {
            Value::Array(values.clone())
        };
        data.push(json!({"object": "embedding", "index": index, "embedding": embedding}));
    }
    let usage = Usage {
        prompt_tokens: opts.prompt_tokens,
        ..Usage::default()
    };
    let body = json!({
        "object": "list",
        "data": data,
        "model": ctx.model,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total()},
    });
    Ok((body, usage))
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |n: u32| char::from(TABLE.get((n & 63) as usize).copied().unwrap_or(b'A'));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}
