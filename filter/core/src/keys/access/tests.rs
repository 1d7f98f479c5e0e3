use super::*;

const CFG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o}
  - model_name: claude-sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-5}
    model_info: {access_groups: [beta]}
  - model_name: claude-haiku
    litellm_params: {model: anthropic/claude-haiku-4-5}
  - model_name: secret-model
    litellm_params: {model: openai/secret}
    model_info: {internal_only: true}
router_settings:
  model_group_alias: {best: gpt-4o}
"#;

fn cfg() -> Config {
    Config::load(CFG, &|_| None).unwrap()
}

fn key(role: Role, models: &[&str]) -> KeyRecord {
    KeyRecord {
        role,
        models: models.iter().map(|s| s.to_string()).collect(),
        ..KeyRecord::default()
    }
}

#[test]
fn model_rules_table() {
    let c = cfg();
    let cases: &[(Role, &[&str], &str, bool)] = &[
        (Role::InternalUser, &[], "gpt-4o", true),
        (Role::InternalUser, &[], "secret-model", true),
        (Role::Customer, &["secret-model"], "secret-model", false),
        (Role::Customer, &["gpt-4o"], "gpt-4o", true),
        (Role::Customer, &["gpt-4o"], "best", true),
        (Role::Customer, &["best"], "gpt-4o", true),
        (Role::Customer, &["gpt-4o"], "claude-sonnet", false),
        (Role::Customer, &["claude-*"], "claude-haiku", true),
        (Role::Customer, &["claude-*"], "gpt-4o", false),
        (Role::Customer, &["anthropic/*"], "claude-sonnet", true),
        (Role::Customer, &["openai/*"], "claude-sonnet", false),
        (Role::Customer, &["beta"], "claude-sonnet", true),
        (Role::Customer, &["beta"], "claude-haiku", false),
        (Role::ProxyAdmin, &["gpt-4o"], "claude-haiku", false),
        (Role::InternalUser, &["*"], "claude-haiku", true),
    ];
    for (role, models, requested, want) in cases {
        let k = key(*role, models);
        let group = resolve(&c, Some(&k), requested).unwrap();
        assert_eq!(
            may_use(&c, &k, requested, group),
            *want,
            "{role:?} {models:?} -> {requested}"
        );
    }
}

#[test]
fn key_aliases_resolve_first() {
    let c = cfg();
    let mut k = key(Role::Customer, &["claude-haiku"]);
    k.aliases.insert("cheap".into(), "claude-haiku".into());
    let g = resolve(&c, Some(&k), "cheap").unwrap();
    assert_eq!(g, "claude-haiku");
    assert!(may_use(&c, &k, "cheap", g));
    assert!(visible(&c, &k, "claude-haiku"));
    assert!(!visible(&c, &k, "gpt-4o"));
    let e = model_denied(&k, "gpt-4o");
    assert_eq!(
        (e.status, e.kind, e.param),
        (403, "key_model_access_denied", Some("model"))
    );
}

#[test]
fn routes_by_role_and_allowed_routes() {
    let mut k = key(Role::Customer, &["gpt-4o"]);
    assert!(check_route(&k, "/v1/chat/completions").is_ok());
    assert!(check_route(&k, "/v1beta/models/g:generateContent").is_ok());
    assert_eq!(check_route(&k, "/key/info").unwrap_err().status, 403);
    k.role = Role::InternalUser;
    assert!(check_route(&k, "/key/info").is_ok());
    assert_eq!(check_route(&k, "/key/generate").unwrap_err().status, 403);
    k.role = Role::ProxyAdmin;
    assert!(check_route(&k, "/key/generate").is_ok());
    k.allowed_routes = vec!["/v1/chat/*".into()];
    assert!(check_route(&k, "/v1/chat/completions").is_ok());
    assert_eq!(check_route(&k, "/v1/embeddings").unwrap_err().status, 403);
    k.allowed_routes = vec!["llm_api_routes".into()];
    assert!(check_route(&k, "/v1/embeddings").is_ok());
    assert!(check_route(&k, "/key/generate").is_err());
    // Refusals never repeat a key that is part of the path.
    let path = "/key/sk-secret-in-path/regenerate";
    let e = check_route(&k, path).unwrap_err();
    assert!(
        e.message.contains("/key/sk-...path/regenerate"),
        "{}",
        e.message
    );
    k.allowed_routes.clear();
    k.role = Role::InternalUser;
    let e = check_route(&k, path).unwrap_err();
    assert!(!e.message.contains("sk-secret-in-path"), "{}", e.message);
}

#[test]
fn globs() {
    assert!(glob("a*", "abc"));
    assert!(glob("*c", "abc"));
    assert!(glob("a*c", "abc"));
    assert!(glob("a*b*d", "axxbyyd"));
    assert!(!glob("a*c", "ab"));
    assert!(!glob("abc", "abcd"));
    assert!(glob("*", ""));
}
