//! `POST .../embeddings`: small deterministic unit vectors derived from each input.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{invalid, missing, parse_object, require_model};
use crate::faces::ProviderRequest;
use crate::reply::Reply;
use crate::util::{base64, fnv1a, splitmix64};

/// Vector length when the request does not ask for `dimensions`.
pub const DEFAULT_DIMENSIONS: usize = 8;
const MAX_DIMENSIONS: u64 = 3072;

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

/// Floats serialise as f32 so they print as short as the API's (0.017608326).
#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// Answers one embeddings request.
pub fn answer(req: &ProviderRequest<'_>) -> Reply {
    let body = match parse_object(req.body) {
        Ok(body) => body,
        Err(reply) => return *reply,
    };
    let model = match require_model(&body) {
        Ok(model) => model,
        Err(reply) => return *reply,
    };
    let inputs = match body.get("input") {
        None | Some(Value::Null) => return missing("input"),
        Some(input) => match inputs_of(input) {
            Some(inputs) => inputs,
            None => {
                return invalid(
                    "'input' must be a string or a list of strings or token arrays.".into(),
                )
            }
        },
    };
    let dims = match body.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(d) => match d.as_u64().filter(|d| (1..=MAX_DIMENSIONS).contains(d)) {
            Some(d) => d as usize,
            None if d.as_f64().is_some_and(|d| d > MAX_DIMENSIONS as f64) => {
                return invalid(format!(
                    "{d} is greater than the maximum of {MAX_DIMENSIONS} - 'dimensions'"
                ));
            }
            None => return invalid(format!("{d} is less than the minimum of 1 - 'dimensions'")),
        },
    };
    let base64_format = match body.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            let msg = format!("'{other}' is not one of ['float', 'base64'] - 'encoding_format'");
            return invalid(msg);
        }
    };
    let prompt_tokens: u64 = inputs
        .iter()
        .map(|i| (i.chars().count() as u64 / 4).max(1))
        .sum();
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = vector(input, dims);
            let embedding = if base64_format {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                Vector::Base64(base64(&bytes))
            } else {
                Vector::Floats(vector)
            };
            Embedding {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    let list = List {
        object: "list",
        data,
        model: &model,
        usage: Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    Reply::json(StatusCode::OK, &list).with_header("openai-model", &model)
}

/// Each input as text; token arrays are hashed through their JSON form.
fn inputs_of(input: &Value) -> Option<Vec<String>> {
    match input {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) if items.iter().all(Value::is_u64) => Some(vec![input.to_string()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Array(_) => Some(item.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A unit-length vector that depends only on the text, like a real embedding would.
pub fn vector(text: &str, dims: usize) -> Vec<f32> {
    let seed = fnv1a(text.as_bytes());
    let raw: Vec<f64> = (0..dims as u64)
        .map(|i| (splitmix64(seed.wrapping_add(i)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    fn call(body: &str) -> (StatusCode, Value) {
        let req = ProviderRequest {
            method: &Method::POST,
            path: "/v1/embeddings",
            body: body.as_bytes(),
            headers: &hyper::HeaderMap::new(),
            name: "t",
        };
        let reply = answer(&req);
        (
            reply.status,
            serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn single_string_gives_one_deterministic_unit_vector() {
        let (status, a) = call(r#"{"model":"text-embedding-3-small","input":"hello"}"#);
        let (_, b) = call(r#"{"model":"text-embedding-3-small","input":"hello"}"#);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(a, b);
        assert_eq!(a["object"], "list");
        assert_eq!(a["data"][0]["object"], "embedding");
        let v: Vec<f64> = a["data"][0]["embedding"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        assert_eq!(v.len(), DEFAULT_DIMENSIONS);
        let norm: f64 = v.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-3);
    }

    #[test]
    fn list_input_and_base64_and_dimensions() {
        let (_, list) = call(r#"{"model":"m","input":["a","b"],"dimensions":4}"#);
        assert_eq!(list["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(list["data"][1]["index"], 1);
        assert_eq!(
            list["data"][1]["embedding"].as_array().map(Vec::len),
            Some(4)
        );
        assert_ne!(list["data"][0]["embedding"], list["data"][1]["embedding"]);
        let (_, b64) = call(r#"{"model":"m","input":"a","encoding_format":"base64"}"#);
        // 8 floats * 4 bytes = 32 bytes -> 44 base64 characters.
        assert_eq!(b64["data"][0]["embedding"].as_str().map(str::len), Some(44));
    }

    #[test]
    fn errors_match_the_api() {
        assert_eq!(call(r#"{"model":"m"}"#).0, StatusCode::BAD_REQUEST);
        let (status, bad) = call(r#"{"model":"m","input":"a","dimensions":-1}"#);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            bad["error"]["message"],
            "-1 is less than the minimum of 1 - 'dimensions'"
        );
        assert_eq!(bad["error"]["param"], Value::Null);
        assert_eq!(bad["error"]["code"], Value::Null);
        assert_eq!(
            call(r#"{"model":"nonexistent","input":"a"}"#).0,
            StatusCode::NOT_FOUND
        );
    }
}
