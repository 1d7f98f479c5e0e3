use super::*;
use crate::health::state::record;
use crate::keys::store::MemStore;

const CFG: &str = r#"
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9000/v1", api_key: os.environ/OK}
    model_info: {id: a}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "https://backup.example.com/v1"}
    model_info: {id: b}
  - model_name: claude
    litellm_params: {model: anthropic/claude-x, api_key: os.environ/AK}
    model_info: {id: c}
router_settings: {cooldown_time: 30}
general_settings: {background_health_checks: true}
"#;

fn cfg() -> Config {
    Config::load(CFG, &|n| Some(format!("{n}-secret-value"))).unwrap()
}

fn fail(s: &MemStore, c: &Config, id: &str, at: u64) {
    record(s, c, id, &Err(format!("HTTP 500: {id} is down")), at, 7);
}

#[test]
fn ready_while_every_group_has_a_usable_deployment() {
    let (s, c) = (MemStore::default(), cfg());
    let (status, v) = readiness(&c, &s, 1_000);
    assert_eq!(status, 200);
    assert_eq!(v["status"], "healthy");
    assert_eq!(
        v["model_groups"]["gpt"],
        json!({"usable": 2, "deployments": 2, "served_by_fallback": null})
    );
    assert_eq!(
        v["model_groups"]["claude"],
        json!({"usable": 1, "deployments": 1, "served_by_fallback": null})
    );
    assert_eq!(v["unready_model_groups"], json!([]));
    // One of two gpt deployments down: still ready.
    fail(&s, &c, "a", 1_000);
    let (status, v) = readiness(&c, &s, 2_000);
    assert_eq!(status, 200);
    assert_eq!(v["model_groups"]["gpt"]["usable"], 1);
    // The only claude deployment down: not ready.
    fail(&s, &c, "c", 1_000);
    let (status, v) = readiness(&c, &s, 2_000);
    assert_eq!(status, 503);
    assert_eq!(v["status"], "unhealthy");
    assert_eq!(v["unready_model_groups"], json!(["claude"]));
    // Cooldown over: half-open counts as usable (one request may probe it).
    let (status, _) = readiness(&c, &s, 31_000);
    assert_eq!(status, 200);
}

#[test]
fn a_group_with_a_usable_fallback_stays_ready() {
    let text = CFG.replace(
        "router_settings: {cooldown_time: 30}",
        "router_settings: {cooldown_time: 30, fallbacks: [{claude: [gpt]}]}",
    );
    let c = Config::load(&text, &|n| Some(format!("{n}-secret-value"))).unwrap();
    let s = MemStore::default();
    fail(&s, &c, "c", 1_000);
    let (status, v) = readiness(&c, &s, 2_000);
    assert_eq!(status, 200, "claude requests are answered by gpt");
    assert_eq!(v["model_groups"]["claude"]["served_by_fallback"], "gpt");
    fail(&s, &c, "a", 1_000);
    fail(&s, &c, "b", 1_000);
    let (status, v) = readiness(&c, &s, 2_000);
    assert_eq!(status, 503);
    assert_eq!(v["unready_model_groups"], json!(["claude", "gpt"]));
}

#[test]
fn health_lists_healthy_and_unhealthy_endpoints() {
    let (s, c) = (MemStore::default(), cfg());
    record(&s, &c, "b", &Ok(()), 1_000_000, 42);
    fail(&s, &c, "c", 1_000_000);
    let v = endpoints(&c, &s, 1_001_000);
    assert_eq!(v["healthy_count"], 2);
    assert_eq!(v["unhealthy_count"], 1);
    let healthy = v["healthy_endpoints"].as_array().unwrap();
    assert_eq!(healthy[0]["model"], "gpt");
    assert_eq!(healthy[0]["model_id"], "a");
    assert_eq!(healthy[0]["api_base"], "http://127.0.0.1:9000/v1");
    assert_eq!(healthy[0]["provider"], "openai");
    assert_eq!(healthy[0]["checked_at"], Value::Null, "never checked");
    assert_eq!(healthy[1]["model_id"], "b");
    assert_eq!(healthy[1]["api_base"], "https://backup.example.com/v1");
    assert_eq!(healthy[1]["checked_at"], "1970-01-01T00:16:40Z");
    assert_eq!(healthy[1]["latency_ms"], 42);
    assert!(healthy[1].get("error").is_none());
    let bad = &v["unhealthy_endpoints"][0];
    assert_eq!(bad["model"], "claude");
    assert_eq!(bad["model_id"], "c");
    assert_eq!(bad["provider"], "anthropic");
    assert_eq!(bad["api_base"], "https://api.anthropic.com");
    assert_eq!(bad["litellm_model"], "anthropic/claude-x");
    assert_eq!(bad["error"], "HTTP 500: c is down");
    assert_eq!(bad["breaker"], "open");
    assert_eq!(bad["cooldown_until"], "1970-01-01T00:17:10Z");
    assert_eq!(bad["checked_at"], "1970-01-01T00:16:40Z");
    let text = v.to_string();
    assert!(!text.contains("secret-value"), "no credentials: {text}");
}

#[test]
fn a_failed_check_stays_unhealthy_after_cooldown_until_a_check_passes() {
    let (s, c) = (MemStore::default(), cfg());
    fail(&s, &c, "c", 0);
    let v = endpoints(&c, &s, 40_000);
    assert_eq!(v["unhealthy_endpoints"][0]["breaker"], "half_open");
    assert_eq!(v["unhealthy_endpoints"][0]["cooldown_until"], Value::Null);
    record(&s, &c, "c", &Ok(()), 41_000, 3);
    let v = endpoints(&c, &s, 41_001);
    assert_eq!(v["unhealthy_count"], 0);
    assert_eq!(v["healthy_count"], 3);
}

#[test]
fn a_breaker_opened_by_requests_is_unhealthy_without_a_check() {
    let (s, c) = (MemStore::default(), cfg());
    breaker::failure(&s, "a", 0, 5_000, 1_000).unwrap();
    let v = endpoints(&c, &s, 2_000);
    let bad = &v["unhealthy_endpoints"][0];
    assert_eq!(bad["model_id"], "a");
    assert_eq!(bad["error"], "cooling down after failed requests");
    assert_eq!(bad["checked_at"], Value::Null);
    assert!(breaker::claim(&s, "a", 6_000));
    let v = endpoints(&c, &s, 6_001);
    assert_eq!(v["unhealthy_endpoints"][0]["breaker"], "probing");
}

fn key(role: Role) -> Principal {
    Principal::Key(Box::new(crate::keys::record::KeyRecord {
        role,
        ..Default::default()
    }))
}

#[test]
fn only_admins_see_health_and_probes_are_open() {
    let (s, c) = (MemStore::default(), cfg());
    for p in [
        Principal::Master,
        Principal::Anonymous,
        key(Role::ProxyAdmin),
    ] {
        let (status, v) = reply(HealthRoute::Endpoints, &p, &c, &s, 0).unwrap();
        assert_eq!(status, 200);
        assert_eq!(v["healthy_count"], 3);
    }
    for role in [Role::InternalUser, Role::Customer] {
        let e = reply(HealthRoute::Endpoints, &key(role), &c, &s, 0).unwrap_err();
        assert_eq!(e.status, 403);
    }
    let p = key(Role::Customer);
    let (status, v) = reply(HealthRoute::Liveness, &p, &c, &s, 0).unwrap();
    assert_eq!((status, v), (200, json!("I'm alive!")));
    assert_eq!(reply(HealthRoute::Readiness, &p, &c, &s, 0).unwrap().0, 200);
}
