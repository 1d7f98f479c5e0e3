//! Gateway decisions for translated (client API, provider) pairs.
use super::*;
use crate::routes::ClientApi;
use serde_json::Value;

const CFG: &str = r#"
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_base: "http://127.0.0.1:9100", api_key: ak}
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "http://127.0.0.1:9200", api_key: gk}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9300/v1", api_key: ok}
general_settings: {master_key: sk-m}
"#;

fn gw() -> Gateway {
    Gateway::new(Config::load(CFG, &|_| None).unwrap())
}

fn run(method: &str, path: &str, hdr: (&'static str, &'static str), body: &str) -> BodyOutcome {
    let g = gw();
    let h = move |n: &str| (n == hdr.0).then(|| hdr.1.to_string());
    match g.on_request_headers(method, path, &h, test_env!()) {
        HeadersOutcome::ReadBody(p) => g.on_request_body(&p, body.as_bytes(), test_env!()),
        HeadersOutcome::Reply(r) => BodyOutcome::Reply(r),
    }
}

fn fwd(o: BodyOutcome) -> Forward {
    match o {
        BodyOutcome::Forward(f) => *f,
        BodyOutcome::Reply(r) => panic!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
    }
}

fn get<'a>(f: &'a Forward, name: &str) -> Option<&'a str> {
    f.set_headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn body(f: &Forward) -> Value {
    serde_json::from_slice(f.body.as_deref().unwrap()).unwrap()
}

const AUTH: (&str, &str) = ("authorization", "Bearer sk-m");

#[test]
fn openai_chat_to_anthropic() {
    let f = fwd(run(
        "POST",
        "/v1/chat/completions",
        AUTH,
        r#"{"model":"claude","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":true}"#,
    ));
    assert_eq!(get(&f, ":path"), Some("/v1/messages"));
    assert_eq!(get(&f, "x-api-key"), Some("ak"));
    assert_eq!(get(&f, "anthropic-version"), Some("2023-06-01"));
    assert!(f.remove_headers.contains(&"authorization"));
    assert!(f.remove_headers.contains(&"accept-encoding"));
    let b = body(&f);
    assert_eq!(b["model"], "claude-sonnet-4-5");
    assert_eq!(b["system"], "be brief");
    assert_eq!(b["stream"], true);
    assert!(b["max_tokens"].as_u64().unwrap() > 0);
    match &f.plan {
        crate::exchange::ResponsePlan::Translate(t) => {
            assert_eq!(t.client, ClientApi::Chat);
            assert!(t.stream);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn openai_chat_to_gemini_streaming_path() {
    let f = fwd(run(
        "POST",
        "/v1/chat/completions",
        AUTH,
        r#"{"model":"gem","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
    ));
    assert_eq!(
        get(&f, ":path"),
        Some("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    );
    assert_eq!(get(&f, "x-goog-api-key"), Some("gk"));
    assert_eq!(body(&f)["contents"][0]["parts"][0]["text"], "hi");
}

#[test]
fn anthropic_client_native_and_translated() {
    let native = fwd(run(
        "POST",
        "/v1/messages",
        ("x-api-key", "sk-m"),
        r#"{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#,
    ));
    assert_eq!(native.plan, crate::exchange::ResponsePlan::Passthrough);
    assert_eq!(get(&native, "x-api-key"), Some("ak"));
    assert!(String::from_utf8(native.body.clone().unwrap())
        .unwrap()
        .contains("\"claude-sonnet-4-5\""));
    let t = fwd(run(
        "POST",
        "/v1/messages",
        ("x-api-key", "sk-m"),
        r#"{"model":"gpt","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#,
    ));
    assert_eq!(get(&t, ":path"), Some("/v1/chat/completions"));
    assert_eq!(get(&t, "authorization"), Some("Bearer ok"));
    assert!(!t.remove_headers.contains(&"authorization"));
    assert!(t.remove_headers.contains(&"x-api-key"));
    assert_eq!(body(&t)["messages"][0]["content"], "hi");
}

#[test]
fn gemini_client_native_keeps_query_but_not_the_key() {
    let f = fwd(run(
        "POST",
        "/v1beta/models/gem:streamGenerateContent?alt=sse&key=sk-m",
        ("none", ""),
        r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
    ));
    assert_eq!(
        get(&f, ":path"),
        Some("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    );
    assert!(f.body.is_none());
    assert_eq!(get(&f, "x-goog-api-key"), Some("gk"));
}

#[test]
fn errors_come_back_in_the_client_format() {
    let r = match run("POST", "/v1/messages", ("x-api-key", "wrong"), "{}") {
        BodyOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status, 401);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Invalid API key"));
    let r = match run(
        "POST",
        "/v1beta/models/nope:generateContent",
        ("x-goog-api-key", "sk-m"),
        "{}",
    ) {
        BodyOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status, 404);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"]["code"], 404);
}

#[test]
fn embeddings_never_go_to_anthropic() {
    let r = match run(
        "POST",
        "/v1/embeddings",
        AUTH,
        r#"{"model":"claude","input":"x"}"#,
    ) {
        BodyOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.status, 400);
    let f = fwd(run(
        "POST",
        "/v1/embeddings",
        AUTH,
        r#"{"model":"gem","input":["a","b"]}"#,
    ));
    assert_eq!(
        get(&f, ":path"),
        Some("/v1beta/models/gemini-2.5-flash:batchEmbedContents")
    );
}

#[test]
fn provider_prefixed_passthrough() {
    let f = fwd(run(
        "POST",
        "/anthropic/v1/messages/count_tokens",
        ("x-api-key", "sk-m"),
        r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#,
    ));
    assert_eq!(get(&f, ":path"), Some("/v1/messages/count_tokens"));
    assert_eq!(get(&f, "x-api-key"), Some("ak"));
    assert_eq!(f.plan, crate::exchange::ResponsePlan::Passthrough);
    assert!(String::from_utf8(f.body.clone().unwrap())
        .unwrap()
        .contains("claude-sonnet-4-5"));
    let g = gw();
    let h = |n: &str| (n == "x-goog-api-key").then(|| "sk-m".to_string());
    let HeadersOutcome::ReadBody(p) = g.on_request_headers(
        "GET",
        "/gemini/v1beta/models?key=sk-m&pageSize=5",
        &h,
        test_env!(),
    ) else {
        panic!("expected body phase")
    };
    let f = fwd(g.on_request_body(&p, b"", test_env!()));
    assert_eq!(get(&f, ":path"), Some("/v1beta/models?pageSize=5"));
    assert_eq!(get(&f, "x-goog-api-key"), Some("gk"));
    assert!(f.body.is_none());
}
