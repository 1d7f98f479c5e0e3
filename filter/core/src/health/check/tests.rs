use super::*;
use serde_json::Value;

const CFG: &str = r#"
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9000/v1", api_key: os.environ/OK}
    model_info: {id: oa}
  - model_name: emb
    litellm_params: {model: openai/text-embedding-3-small, api_base: "http://127.0.0.1:9000/v1", api_key: os.environ/OK}
    model_info: {id: oa-emb}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/AK}
    model_info: {id: an}
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "http://gem.local:8080", api_key: os.environ/GK}
    model_info: {id: ge}
  - model_name: gem-emb
    litellm_params: {model: gemini/my-vectors, api_base: "http://gem.local:8080", api_key: os.environ/GK}
    model_info: {id: ge-emb, mode: embedding}
  - model_name: wild
    litellm_params: {model: "openai/*", api_key: os.environ/OK}
    model_info: {id: wild, health_check_model: openai/gpt-4o-mini}
  - model_name: quiet
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9000/v1"}
    model_info: {id: quiet, disable_background_health_check: true}
  - model_name: img
    litellm_params: {model: openai/dall-e-3}
    model_info: {id: img, mode: image_generation}
  - model_name: az
    litellm_params: {model: azure/gpt, api_base: "https://x.openai.azure.com"}
    model_info: {id: az}
general_settings:
  background_health_checks: true
  health_check_interval: 2
  health_check_timeout: 5
"#;

fn cfg() -> Config {
    let env = |n: &str| match n {
        "OK" => Some("sk-openai-secret-123".to_string()),
        "AK" => Some("sk-ant-secret-456".to_string()),
        "GK" => Some("AIza-gemini-secret-789".to_string()),
        _ => None,
    };
    Config::load(CFG, &env).unwrap()
}

fn by_id<'a>(plan: &'a [CheckRequest], id: &str) -> &'a CheckRequest {
    plan.iter().find(|r| r.deployment_id == id).unwrap()
}

fn header<'a>(r: &'a CheckRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn body(r: &CheckRequest) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn plan_checks_what_can_be_checked() {
    let c = cfg();
    let plan = plan(&c);
    let ids: Vec<&str> = plan.iter().map(|r| r.deployment_id.as_str()).collect();
    assert_eq!(ids, ["oa", "oa-emb", "an", "ge", "ge-emb", "wild"]);
    for r in &plan {
        assert_eq!(r.timeout_ms, 2_000, "timeout capped at the interval");
        assert_eq!(header(r, ":method"), Some("POST"));
        assert_eq!(header(r, "content-type"), Some("application/json"));
        assert_eq!(
            header(r, "content-length"),
            Some(r.body.len().to_string().as_str())
        );
        assert!(header(r, "user-agent")
            .unwrap()
            .starts_with("tollgate-health-check/"));
        assert_eq!(&r.headers[0].0, &":method");
        assert_eq!(c.deployments[r.index].id, r.deployment_id);
    }
}

#[test]
fn openai_chat_and_embeddings() {
    let plan = plan(&cfg());
    let r = by_id(&plan, "oa");
    assert_eq!(r.kind, Kind::Chat);
    assert_eq!(r.cluster, "tollgate_http_127_0_0_1_9000");
    assert_eq!(header(r, ":path"), Some("/v1/chat/completions"));
    assert_eq!(header(r, ":authority"), Some("127.0.0.1:9000"));
    assert_eq!(
        header(r, "authorization"),
        Some("Bearer sk-openai-secret-123")
    );
    assert_eq!(
        body(r),
        serde_json::json!({"model": "gpt-4o-mini", "max_tokens": 1,
                           "messages": [{"role": "user", "content": "ping"}]})
    );
    let e = by_id(&plan, "oa-emb");
    assert_eq!(e.kind, Kind::Embedding, "an embedding model by name");
    assert_eq!(header(e, ":path"), Some("/v1/embeddings"));
    assert_eq!(
        body(e),
        serde_json::json!({"model": "text-embedding-3-small", "input": "ping"})
    );
}

#[test]
fn anthropic_messages() {
    let plan = plan(&cfg());
    let r = by_id(&plan, "an");
    assert_eq!(r.cluster, "tollgate_https_api_anthropic_com_443");
    assert_eq!(header(r, ":path"), Some("/v1/messages"));
    assert_eq!(header(r, ":authority"), Some("api.anthropic.com"));
    assert_eq!(header(r, "x-api-key"), Some("sk-ant-secret-456"));
    assert_eq!(header(r, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(r, "authorization"), None);
    let b = body(r);
    assert_eq!(b["model"], "claude-sonnet-4-5");
    assert_eq!(b["max_tokens"], 1);
    assert_eq!(b["messages"][0]["content"], "ping");
}

#[test]
fn gemini_generate_content_and_embed_content() {
    let plan = plan(&cfg());
    let r = by_id(&plan, "ge");
    assert_eq!(
        header(r, ":path"),
        Some("/v1beta/models/gemini-2.5-flash:generateContent")
    );
    assert_eq!(header(r, ":authority"), Some("gem.local:8080"));
    assert_eq!(header(r, "x-goog-api-key"), Some("AIza-gemini-secret-789"));
    let b = body(r);
    assert_eq!(b["contents"][0]["parts"][0]["text"], "ping");
    assert_eq!(b["generationConfig"]["maxOutputTokens"], 1);
    let e = by_id(&plan, "ge-emb");
    assert_eq!(e.kind, Kind::Embedding, "mode: embedding");
    assert_eq!(
        header(e, ":path"),
        Some("/v1beta/models/my-vectors:embedContent")
    );
    assert_eq!(body(e)["model"], "models/my-vectors");
    assert_eq!(body(e)["content"]["parts"][0]["text"], "ping");
}

#[test]
fn health_check_model_replaces_the_model() {
    let plan = plan(&cfg());
    let r = by_id(&plan, "wild");
    assert_eq!(body(r)["model"], "gpt-4o-mini", "provider prefix dropped");
    assert_eq!(header(r, ":path"), Some("/v1/chat/completions"));
}

#[test]
fn a_deployment_without_a_key_sends_no_credential() {
    let c = Config::load(
        "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, api_base: \"http://h:1\"}\n",
        &|_| None,
    )
    .unwrap();
    let plan = plan(&c);
    assert_eq!(plan.len(), 1);
    assert_eq!(header(&plan[0], "authorization"), None);
    assert_eq!(header(&plan[0], ":path"), Some("/chat/completions"));
    assert_eq!(plan[0].timeout_ms, 10_000, "default timeout");
}

fn answer(status: Option<u16>, body: &str) -> Result<(), String> {
    interpret(
        &Answer {
            status,
            body: body.as_bytes(),
            elapsed_ms: 10,
            timeout_ms: 1_000,
        },
        &["sk-openai-secret-123".to_string()],
    )
}

#[test]
fn interpretation() {
    assert_eq!(answer(Some(200), r#"{"choices":[]}"#), Ok(()));
    assert_eq!(answer(Some(201), r#"{}"#), Ok(()));
    assert_eq!(
        answer(Some(200), "<html>"),
        Err("HTTP 200, but the body is not a JSON object".into())
    );
    assert_eq!(
        answer(
            Some(500),
            r#"{"error":{"message":"The server had an error","type":"server_error"}}"#
        ),
        Err("HTTP 500: The server had an error".into())
    );
    assert_eq!(
        answer(
            Some(529),
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        ),
        Err("HTTP 529: Overloaded".into())
    );
    assert_eq!(
        answer(
            Some(429),
            r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#
        ),
        Err("HTTP 429: Quota exceeded".into())
    );
    assert_eq!(
        answer(
            Some(503),
            "upstream connect error or disconnect/reset before headers\n"
        ),
        Err("HTTP 503: upstream connect error or disconnect/reset before headers".into())
    );
    assert_eq!(answer(Some(404), ""), Err("HTTP 404".into()));
    assert_eq!(
        answer(None, ""),
        Err("no response: the connection failed or was reset".into())
    );
    let timed_out = interpret(
        &Answer {
            status: None,
            body: b"",
            elapsed_ms: 1_000,
            timeout_ms: 1_000,
        },
        &[],
    );
    assert_eq!(
        timed_out,
        Err("no response within 1000 ms (timeout)".into())
    );
}

#[test]
fn errors_never_carry_the_key_and_stay_short() {
    let echoed = r#"{"error":{"message":"Incorrect API key provided: sk-openai-secret-123. Find your key at ..."}}"#;
    let e = answer(Some(401), echoed).unwrap_err();
    assert!(!e.contains("sk-openai-secret-123"), "{e}");
    assert!(e.contains("[redacted]"), "{e}");
    let long = format!(
        r#"{{"error":{{"message":"{}\n{}"}}}}"#,
        "x".repeat(400),
        "sk-openai-secret-123"
    );
    let e = answer(Some(500), &long).unwrap_err();
    assert_eq!(e.chars().count(), MAX_ERROR_CHARS);
    assert!(e.ends_with("..."));
    assert!(!e.contains('\n'));
}
