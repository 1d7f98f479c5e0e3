use super::*;

/// A throwaway host environment: empty key store, fixed clock and randomness.
macro_rules! test_env {
    () => {
        &mut crate::gateway::Env {
            store: &crate::keys::MemStore::default(),
            now: 1_000,
            random: &mut |b: &mut [u8]| b.fill(7),
            pick: 1,
            now_ms: 1_000_000,
        }
    };
}

const CFG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o-2024-08-06, api_base: "http://127.0.0.1:9000/v1", api_key: os.environ/K, timeout: 12}
    model_info: {id: dep-a}
  - model_name: local
    litellm_params: {model: openai/local, api_base: "http://localhost:8000"}
    model_info: {id: dep-local}
  - model_name: claude
    litellm_params: {model: anthropic/claude-x}
router_settings:
  model_group_alias: {best: gpt-4o, hidden-one: {model: gpt-4o, hidden: true}}
general_settings: {master_key: sk-m, max_request_size_mb: 0.001}
"#;

fn gw() -> Gateway {
    Gateway::new(Config::load(CFG, &|n| (n == "K").then(|| "sk-up".to_string())).unwrap())
}

fn headers(auth: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
    move |n| {
        (n == "authorization")
            .then(|| auth.map(str::to_string))
            .flatten()
    }
}

fn pending(g: &Gateway) -> Pending {
    match g.on_request_headers(
        "POST",
        "/v1/chat/completions?x=1",
        &headers(Some("Bearer sk-m")),
        test_env!(),
    ) {
        HeadersOutcome::ReadBody(p) => p,
        other => panic!("{other:?}"),
    }
}

fn reply(o: HeadersOutcome) -> LocalReply {
    match o {
        HeadersOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    }
}

fn body_reply(o: BodyOutcome) -> LocalReply {
    match o {
        BodyOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    }
}

fn forward(o: BodyOutcome) -> Forward {
    match o {
        BodyOutcome::Forward(f) => *f,
        other => panic!("{other:?}"),
    }
}

fn header<'a>(f: &'a Forward, name: &str) -> Option<&'a str> {
    f.set_headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn forwards_with_rewrites() {
    let g = gw();
    let p = pending(&g);
    let f = forward(g.on_request_body(&p, br#"{"model":"best","messages":[]}"#, test_env!()));
    assert_eq!(
        header(&f, CLUSTER_HEADER),
        Some("tollgate_http_127_0_0_1_9000")
    );
    assert_eq!(header(&f, ":path"), Some("/v1/chat/completions?x=1"));
    assert_eq!(header(&f, ":authority"), Some("127.0.0.1:9000"));
    assert_eq!(header(&f, "authorization"), Some("Bearer sk-up"));
    assert_eq!(header(&f, "x-envoy-upstream-rq-timeout-ms"), Some("12000"));
    let body = br#"{"model":"gpt-4o-2024-08-06","messages":[]}"#;
    assert_eq!(f.body.as_deref(), Some(&body[..]));
    assert_eq!(
        header(&f, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(f.group, "gpt-4o");
    assert_eq!(f.deployment_id, "dep-a");
    assert!(f
        .response_headers
        .contains(&("x-litellm-model-id", "dep-a".into())));
    // The provider credential is what the shim scrubs from error bodies.
    assert_eq!(f.secrets, vec!["sk-up".to_string()]);
}

#[test]
fn without_provider_key_the_client_key_is_removed() {
    let g = gw();
    let f = forward(g.on_request_body(&pending(&g), br#"{"model":"local"}"#, test_env!()));
    assert!(header(&f, "authorization").is_none());
    assert!(f.remove_headers.contains(&"authorization"));
    assert_eq!(header(&f, ":path"), Some("/chat/completions?x=1"));
    assert_eq!(header(&f, ":authority"), Some("localhost:8000"));
    // Same model id: the client's bytes go through untouched.
    assert!(f.body.is_none());
    assert!(header(&f, "content-length").is_none());
    assert!(f.secrets.is_empty());
}

#[test]
fn header_phase_errors() {
    let g = gw();
    let r =
        reply(g.on_request_headers("POST", "/v1/chat/completions", &headers(None), test_env!()));
    assert_eq!(r.status, 401);
    let r = reply(g.on_request_headers(
        "POST",
        "/v1/chat/completions",
        &headers(Some("Bearer wrong")),
        test_env!(),
    ));
    assert_eq!(r.status, 401);
    let r = reply(g.on_request_headers(
        "GET",
        "/v1/chat/completions",
        &headers(Some("Bearer sk-m")),
        test_env!(),
    ));
    assert_eq!(r.status, 405);
    assert_eq!(r.headers, vec![("allow", "POST".to_string())]);
    let r = reply(g.on_request_headers(
        "POST",
        "/v1/unknown",
        &headers(Some("Bearer sk-m")),
        test_env!(),
    ));
    assert_eq!(r.status, 404);
    let r = reply(g.on_request_headers("GET", "/health/liveliness", &headers(None), test_env!()));
    assert_eq!(r.status, 200);
}

#[test]
fn models_lists_groups_and_visible_aliases() {
    let g = gw();
    let r = reply(g.on_request_headers(
        "GET",
        "/v1/models",
        &headers(Some("Bearer sk-m")),
        test_env!(),
    ));
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["claude", "gpt-4o", "local", "best"]);
    assert_eq!(v["data"][0]["owned_by"], "anthropic");
    let r = reply(g.on_request_headers("GET", "/v1/models", &headers(None), test_env!()));
    assert_eq!(r.status, 401);
}

#[test]
fn body_phase_errors() {
    let g = gw();
    let p = pending(&g);
    assert_eq!(
        body_reply(g.on_request_body(&p, b"{not json", test_env!())).status,
        400
    );
    assert_eq!(
        body_reply(g.on_request_body(&p, br#"{"messages":[]}"#, test_env!())).status,
        400
    );
    let r = body_reply(g.on_request_body(&p, br#"{"model":"nope"}"#, test_env!()));
    assert_eq!(r.status, 404);
    assert!(String::from_utf8_lossy(&r.body).contains("`nope`"));
    let big = format!(r#"{{"model":"best","x":"{}"}}"#, "a".repeat(2000));
    let r = body_reply(g.on_request_body(&p, big.as_bytes(), test_env!()));
    assert_eq!(r.status, 413);
}

#[test]
fn oversize_content_length_is_refused_before_the_body() {
    let g = gw();
    let h = |n: &str| match n {
        "authorization" => Some("Bearer sk-m".to_string()),
        "content-length" => Some("5000".to_string()),
        _ => None,
    };
    let r = reply(g.on_request_headers("POST", "/v1/chat/completions", &h, test_env!()));
    assert_eq!(r.status, 413);
}

#[path = "translate_tests.rs"]
mod translate_tests;

#[test]
fn health_routes_auth() {
    let g = gw();
    for probe in [
        "/health/liveliness",
        "/health/liveness",
        "/health/readiness",
    ] {
        let r = reply(g.on_request_headers("GET", probe, &headers(None), test_env!()));
        assert_eq!(r.status, 200, "{probe}");
    }
    let r = reply(g.on_request_headers("GET", "/health/liveliness", &headers(None), test_env!()));
    assert_eq!(r.body, br#""I'm alive!""#);
    let r = reply(g.on_request_headers("GET", "/health", &headers(None), test_env!()));
    assert_eq!(r.status, 401);
    let r =
        reply(g.on_request_headers("GET", "/health", &headers(Some("Bearer sk-m")), test_env!()));
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["healthy_count"], 3);
    // Declared keys: a plain key gets 403 in OpenAI's error shape, an admin key 200.
    let text = format!(
        "{CFG}keys:\n  - {{key: sk-plain-key-1, role: internal_user}}\n  - {{key: sk-admin-key-1, role: proxy_admin}}\n"
    );
    let g = Gateway::new(Config::load(&text, &|_| Some("x".to_string())).unwrap());
    let r = reply(g.on_request_headers(
        "GET",
        "/health",
        &headers(Some("Bearer sk-plain-key-1")),
        test_env!(),
    ));
    assert_eq!(r.status, 403);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"]["type"], "permission_denied");
    let r = reply(g.on_request_headers(
        "GET",
        "/health",
        &headers(Some("Bearer sk-admin-key-1")),
        test_env!(),
    ));
    assert_eq!(r.status, 200);
}
