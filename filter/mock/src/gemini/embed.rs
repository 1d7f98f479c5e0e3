//! `:embedContent` and `:batchEmbedContents`: small deterministic unit vectors.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{error, JSON_UTF8};
use crate::reply::Reply;
use crate::util::{fnv1a, splitmix64};

/// Vector length when the request has no outputDimensionality.
pub const DEFAULT_DIMENSIONS: usize = 8;
const MAX_DIMENSIONS: u64 = 3072;

/// A unit vector derived from the text, so equal inputs embed equally.
fn vector(text: &str, dims: usize) -> Vec<f32> {
    let mut state = fnv1a(text.as_bytes());
    let raw: Vec<f64> = (0..dims)
        .map(|_| {
            state = splitmix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

/// The embedding of one EmbedContentRequest, or the 400 Gemini gives.
fn embed_one(req: &Value) -> Result<Value, Box<Reply>> {
    let parts = req.pointer("/content/parts").and_then(Value::as_array);
    let Some(parts) = parts.filter(|p| !p.is_empty()) else {
        let msg = "* EmbedContentRequest.content: contents is not specified\n";
        return Err(Box::new(error(StatusCode::BAD_REQUEST, msg)));
    };
    let text: String = parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    let dims = match req.get("outputDimensionality") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(d) => match d.as_u64().filter(|d| (1..=MAX_DIMENSIONS).contains(d)) {
            Some(d) => d as usize,
            None => {
                let msg = format!("outputDimensionality must be between 1 and {MAX_DIMENSIONS}");
                return Err(Box::new(error(StatusCode::BAD_REQUEST, &msg)));
            }
        },
    };
    Ok(json!({ "values": vector(&text, dims) }))
}

/// `:embedContent`.
pub(super) fn single(body: &Map<String, Value>) -> Reply {
    match embed_one(&Value::Object(body.clone())) {
        Ok(e) => Reply::raw(
            StatusCode::OK,
            JSON_UTF8,
            json!({ "embedding": e }).to_string(),
        ),
        Err(reply) => *reply,
    }
}

/// `:batchEmbedContents`.
pub(super) fn batch(body: &Map<String, Value>) -> Reply {
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        let msg = "* BatchEmbedContentsRequest.requests: requests is not specified\n";
        return error(StatusCode::BAD_REQUEST, msg);
    };
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        match embed_one(r) {
            Ok(e) => out.push(e),
            Err(reply) => return *reply,
        }
    }
    Reply::raw(
        StatusCode::OK,
        JSON_UTF8,
        json!({ "embeddings": out }).to_string(),
    )
}
