use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::*;

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

fn keyed() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-goog-api-key", HeaderValue::from_static("k"));
    h
}

fn call_with(path: &str, query: &str, headers: &HeaderMap, body: &Value) -> Reply {
    let text = body.to_string();
    let req = ProviderRequest {
        method: &Method::POST,
        path,
        body: text.as_bytes(),
        headers,
        name: "g",
    };
    answer(&req, &RequestMeta { query, headers })
}

fn call(path: &str, query: &str, body: &Value) -> Reply {
    call_with(path, query, &keyed(), body)
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null)
}

fn user(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}],
        "systemInstruction": {"parts": [{"text": "be brief"}]}})
}

fn sse_objects(reply: &Reply) -> Vec<Value> {
    let text = reply.body_text();
    assert!(text.ends_with("\r\n\r\n"));
    text.split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

#[test]
fn paths_pick_the_gemini_face() {
    assert!(matches(GEN));
    assert!(matches("/gemini/v1beta/models/x:embedContent"));
    assert!(matches("/v1beta/models"));
    assert!(!matches("/v1/chat/completions"));
    assert!(!matches("/v1/models"));
}

#[test]
fn generate_content_echoes_the_last_user_text() {
    let reply = call(GEN, "", &user("Hello there"));
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).unwrap(),
        "application/json; charset=UTF-8"
    );
    let v = json_of(&reply);
    let cand = &v["candidates"][0];
    assert_eq!(
        cand["content"],
        json!({"parts": [{"text": "[g] Hello there"}], "role": "model"})
    );
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    let u = &v["usageMetadata"];
    assert_eq!(u["candidatesTokenCount"], 3);
    assert_eq!(
        u["totalTokenCount"].as_u64(),
        Some(u["promptTokenCount"].as_u64().unwrap() + 3)
    );
    assert!(v["responseId"].as_str().is_some_and(|id| id.len() == 23));
}

#[test]
fn api_key_is_required_in_header_or_query() {
    let reply = call_with(GEN, "", &HeaderMap::new(), &user("hi"));
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&reply)["error"]["status"], "PERMISSION_DENIED");
    let reply = call_with(GEN, "alt=sse&key=abc", &HeaderMap::new(), &user("hi"));
    assert_eq!(reply.status, StatusCode::OK);
}

#[test]
fn nonexistent_model_is_404_like_the_recording() {
    let reply = call(
        "/v1beta/models/nonexistent-1:generateContent",
        "",
        &user("hi"),
    );
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        json_of(&reply),
        json!({"error": {"code": 404, "status": "NOT_FOUND", "message":
            "models/nonexistent-1 is not found for API version v1beta, or is not supported for \
             generateContent. Call ModelService.ListModels to see the list of available models \
             and their supported methods."}})
    );
}

#[test]
fn bad_requests_are_400_invalid_argument() {
    let req = ProviderRequest {
        method: &Method::POST,
        path: GEN,
        body: b"{nope",
        headers: &keyed(),
        name: "g",
    };
    let h = keyed();
    let reply = answer(
        &req,
        &RequestMeta {
            query: "",
            headers: &h,
        },
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&reply)["error"]["status"], "INVALID_ARGUMENT");
    let reply = call(GEN, "", &json!({"contents": []}));
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = call("/v1beta/models/x:frobnicate", "", &user("x"));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[test]
fn sse_stream_has_one_event_per_word_and_cumulative_usage() {
    let reply = call(STREAM, "alt=sse", &user("The capital of France"));
    assert!(reply.streaming);
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).unwrap(),
        "text/event-stream"
    );
    let objs = sse_objects(&reply);
    assert_eq!(objs.len(), 5);
    assert_eq!(reply.chunks.len(), 5);
    let text: String = objs
        .iter()
        .map(|o| {
            o["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(text, "[g] The capital of France");
    assert!(objs[..4]
        .iter()
        .all(|o| o["candidates"][0].get("finishReason").is_none()));
    assert_eq!(objs[4]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(objs[4]["usageMetadata"]["candidatesTokenCount"], 5);
    assert_eq!(objs[1]["usageMetadata"]["candidatesTokenCount"], 2);
}

#[test]
fn stream_without_alt_sse_is_a_json_array() {
    let reply = call(STREAM, "", &user("two words"));
    let text = reply.body_text();
    assert!(text.starts_with("[{\n  \"candidates\""));
    assert!(text.contains("}\n,\r\n{"));
    assert!(text.ends_with("}\n]"));
    let objs: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(objs.len(), 3);
    assert_eq!(reply.chunks.len(), 4);
}

#[test]
fn function_call_when_tools_and_the_word_tool() {
    let mut body = user("please use the tool");
    body["tools"] =
        json!([{"functionDeclarations": [{"name": "lookup", "parameters": {"type": "OBJECT"}}]}]);
    let v = json_of(&call(GEN, "", &body));
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"name": "lookup", "args": {"input": "please use the tool"}}}])
    );
    let objs = sse_objects(&call(STREAM, "alt=sse", &body));
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["candidates"][0]["finishReason"], "STOP");
    let mut plain = user("hello");
    plain["tools"] = body["tools"].clone();
    let v = json_of(&call(GEN, "", &plain));
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "[g] hello"
    );
}

#[test]
fn thoughts_when_include_thoughts() {
    let mut body = user("think about it");
    body["generationConfig"] = json!({"thinkingConfig": {"includeThoughts": true}});
    let v = json_of(&call(GEN, "", &body));
    let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts[0]["thought"], true);
    assert_eq!(parts[1]["text"], "[g] think about it");
    let thoughts = v["usageMetadata"]["thoughtsTokenCount"].as_u64().unwrap();
    assert!(thoughts > 0);
    let objs = sse_objects(&call(STREAM, "alt=sse", &body));
    assert_eq!(
        objs[0]["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    assert_eq!(objs.len(), 5);
}

#[test]
fn max_output_tokens_cuts_with_max_tokens() {
    let mut body = user("one two three four");
    body["generationConfig"] = json!({"maxOutputTokens": 2});
    let v = json_of(&call(GEN, "", &body));
    assert_eq!(v["candidates"][0]["content"]["parts"][0]["text"], "[g] one");
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
}

#[test]
fn embeddings_single_and_batch() {
    let path = "/v1beta/models/gemini-embedding-001:embedContent";
    let body = json!({"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 4});
    let a = json_of(&call(path, "", &body));
    let b = json_of(&call(path, "", &body));
    assert_eq!(a, b);
    let values = a["embedding"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 4);
    let norm: f64 = values.iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-4);
    let path = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
    let one = |t: &str| json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}});
    let v = json_of(&call(
        path,
        "",
        &json!({"requests": [one("hello"), one("x")]}),
    ));
    let embs = v["embeddings"].as_array().unwrap();
    assert_eq!(embs.len(), 2);
    assert_eq!(
        embs[0]["values"].as_array().unwrap().len(),
        super::embed::DEFAULT_DIMENSIONS
    );
    assert_eq!(call(path, "", &json!({})).status, StatusCode::BAD_REQUEST);
}

#[test]
fn scripted_errors_use_gemini_envelopes() {
    let reply = scripted_error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let v = json_of(&reply);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(
        json_of(&scripted_error(StatusCode::SERVICE_UNAVAILABLE))["error"]["status"],
        "UNAVAILABLE"
    );
}

#[test]
fn models_list_and_count_tokens() {
    let req = ProviderRequest {
        method: &Method::GET,
        path: "/v1beta/models",
        body: b"",
        headers: &keyed(),
        name: "g",
    };
    let h = keyed();
    let v = json_of(&answer(
        &req,
        &RequestMeta {
            query: "",
            headers: &h,
        },
    ));
    assert!(v["models"].as_array().is_some_and(|m| m.len() >= 2));
    let v = json_of(&call(
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "",
        &user("abcdefgh"),
    ));
    assert!(v["totalTokens"].as_u64().is_some_and(|n| n >= 1));
}
