//! Key API refusals: duplicates, bounds, roles, declared keys, bad bodies and routes.

use super::test_support::Env;
use super::{authenticate, hash_key};
use crate::auth::Principal;
use serde_json::json;

#[test]
fn duplicates_are_refused_without_echoing_keys() {
    let env = Env::new();
    env.generate(r#"{"key": "sk-dup-dup-1", "key_alias": "taken"}"#);
    let other = env.generate(r#"{"key_alias": "other"}"#);
    for (body, param, says) in [
        (json!({"key": "sk-dup-dup-1"}), "key", "already exists"),
        (json!({"key": "sk-declared-user"}), "key", "already exists"),
        (json!({"key_alias": "taken"}), "key_alias", "another key"),
        (json!({"key_alias": "ops"}), "key_alias", "config.yaml"),
    ] {
        let e = env.admin_err("POST", "/key/generate", &body.to_string());
        assert_eq!((e.status, e.param), (400, Some(param)), "{body}");
        assert!(e.message.contains(says), "{}", e.message);
        assert!(!e.message.contains("sk-dup-dup-1") && !e.message.contains("sk-declared"));
    }
    let e = env.admin_err(
        "POST",
        "/key/update",
        &json!({"key": other, "key_alias": "declared-user"}).to_string(),
    );
    assert_eq!(e.param, Some("key_alias"));
    let e = env.admin_err(
        "POST",
        "/key/update",
        &json!({"key": other, "key_alias": "taken"}).to_string(),
    );
    assert_eq!(e.param, Some("key_alias"));
    // Re-setting a key's own alias is not a conflict.
    env.admin(
        "POST",
        "/key/update",
        &json!({"key": other, "key_alias": "other"}).to_string(),
    );
    assert_eq!(env.index().len(), 2);
}

#[test]
fn huge_settings_are_refused() {
    let env = Env::new();
    let big = "x".repeat(super::fields::MAX_RECORD_BYTES);
    for body in [
        json!({"key_alias": big}),
        json!({"metadata": {"blob": big}}),
        json!({"models": vec!["m"; 40_000]}),
    ] {
        let e = env.admin_err("POST", "/key/generate", &body.to_string());
        assert_eq!(e.status, 400);
        assert!(e.message.contains("too large"), "{}", e.message);
    }
    assert!(env.index().is_empty());
    // Updates are bounded the same way; the stored record is unchanged.
    let k = env.generate(r#"{"key_alias": "small"}"#);
    let e = env.admin_err(
        "POST",
        "/key/update",
        &json!({"key": k, "metadata": {"blob": big}}).to_string(),
    );
    assert_eq!(e.status, 400);
    let fits = "y".repeat(60_000);
    env.admin(
        "POST",
        "/key/update",
        &json!({"key": k, "metadata": {"blob": fits}}).to_string(),
    );
}

#[test]
fn max_keys_bounds_creation_only() {
    let mut env = Env::new();
    env.config.max_keys = 3;
    let keys: Vec<String> = (0..3).map(|_| env.generate("{}")).collect();
    let e = env.admin_err("POST", "/key/generate", "{}");
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("general_settings.max_keys"),
        "{}",
        e.message
    );
    assert_eq!(env.index().len(), 3);
    // Regenerating swaps in place, so it works at the bound.
    env.admin(
        "POST",
        "/key/regenerate",
        &json!({"key": keys[0]}).to_string(),
    );
    env.admin(
        "POST",
        "/key/delete",
        &json!({"keys": [keys[1]]}).to_string(),
    );
    env.generate("{}");
    assert_eq!(env.index().len(), 3);
}

#[test]
fn internal_and_customer_keys_are_denied() {
    let env = Env::new();
    let internal = env.principal(&env.generate(r#"{"role": "internal_user"}"#));
    let customer = env.principal(&env.generate(r#"{"role": "external", "models": ["gpt-4o"]}"#));
    let victim = env.generate("{}");
    let victim_body = json!({"key": victim}).to_string();
    let calls = [
        ("POST", "/key/generate", "{}".to_string()),
        ("POST", "/key/update", victim_body.clone()),
        ("POST", "/key/delete", json!({"keys": [victim]}).to_string()),
        ("GET", "/key/list", String::new()),
        ("POST", "/key/block", victim_body.clone()),
        ("POST", "/key/unblock", victim_body.clone()),
        ("POST", "/key/regenerate", victim_body),
        ("POST", &format!("/key/{victim}/regenerate"), String::new()),
    ];
    for who in [&internal, &customer] {
        for (method, path, body) in &calls {
            let e = env.call(who, method, path, body).unwrap_err();
            assert_eq!((e.status, e.kind), (403, "permission_denied"), "{path}");
            assert!(!e.message.contains(&victim), "{}", e.message);
        }
    }
    let e = env.call(&customer, "GET", "/key/info", "").unwrap_err();
    assert_eq!(e.status, 403);
    env.call(&internal, "GET", "/key/info", "").unwrap();
    authenticate(&env.store, &env.config, &victim, env.now).unwrap();
    assert_eq!(env.index().len(), 3, "nothing changed");
    // Admin keys (API-created or declared) and an open gateway manage keys.
    let admin = env.principal(&env.generate(r#"{"role": "proxy_admin"}"#));
    for who in [
        admin,
        env.principal("sk-declared-admin"),
        Principal::Anonymous,
    ] {
        env.call(&who, "GET", "/key/list", "").unwrap();
    }
    let e = env.admin_err("POST", "/key/generate", r#"{"role": "customer"}"#);
    assert_eq!((e.status, e.param), (400, Some("models")));
}

#[test]
fn declared_keys_are_read_only() {
    let env = Env::new();
    let token = hash_key("sk-declared-user");
    for key in ["sk-declared-user", token.as_str()] {
        let one = json!({"key": key}).to_string();
        for (path, body) in [
            (
                "/key/update",
                json!({"key": key, "rpm_limit": 1}).to_string(),
            ),
            ("/key/block", one.clone()),
            ("/key/unblock", one.clone()),
            ("/key/regenerate", one),
            ("/key/delete", json!({"keys": [key]}).to_string()),
            (&format!("/key/{key}/regenerate"), String::new()),
        ] {
            let e = env.admin_err("POST", path, &body);
            assert_eq!(e.status, 400, "{path}");
            assert!(
                e.message.contains("declared in config.yaml"),
                "{}",
                e.message
            );
        }
    }
    let e = env.admin_err(
        "POST",
        "/key/delete",
        r#"{"key_aliases": ["declared-user"]}"#,
    );
    assert!(e.message.contains("declared in config.yaml"));
    authenticate(&env.store, &env.config, "sk-declared-user", env.now).unwrap();
}

#[test]
fn unknown_fields_and_bad_bodies() {
    let env = Env::new();
    let e = env.admin_err("POST", "/key/generate", r#"{"modles": ["gpt-4o"]}"#);
    assert_eq!(e.status, 400);
    assert!(e.message.contains("'modles'"), "{}", e.message);
    let e = env.admin_err("POST", "/key/generate", r#"{"tags": ["a"]}"#);
    assert_eq!((e.status, e.param), (400, Some("tags")));
    let e = env.admin_err("POST", "/key/generate", r#"{"sk-pasted-secret-value": 1}"#);
    assert!(
        !e.message.contains("sk-pasted-secret-value"),
        "{}",
        e.message
    );
    let e = env.admin_err("POST", "/key/delete", r#"{"keys": [], "force": true}"#);
    assert!(e.message.contains("'force'"));
    for body in ["{", "[1]", "null", "\"x\"", "{\"key\": }", "\u{0}"] {
        let e = env.admin_err("POST", "/key/generate", body);
        assert_eq!(e.status, 400, "{body:?}");
    }
    let e = env.admin_err("POST", "/key/generate", r#"{"key": "sk-1"}"#);
    assert_eq!((e.status, e.param), (400, Some("key")));
    let e = env.admin_err("POST", "/key/generate", r#"{"key": 12345678}"#);
    assert_eq!((e.status, e.param), (400, Some("key")));
    assert!(env.index().is_empty(), "no refused call created a key");
}

#[test]
fn routes_and_methods() {
    let env = Env::new();
    for (method, path, allow) in [
        ("GET", "/key/generate", "POST"),
        ("POST", "/key/info", "GET"),
        ("POST", "/key/list", "GET"),
        ("DELETE", "/key/delete", "POST"),
        ("GET", "/key/sk-secret-in-path/regenerate", "POST"),
    ] {
        let e = env.admin_err(method, path, "");
        assert_eq!(e.status, 405, "{method} {path}");
        assert_eq!(e.headers, vec![("allow", allow.to_string())]);
        assert!(!e.message.contains("sk-secret-in-path"), "{}", e.message);
    }
    for path in [
        "/key/nope",
        "/key/a/b/regenerate",
        "/key//regenerate",
        "/key/sk-secret-x/other",
    ] {
        let e = env.admin_err("POST", path, "");
        assert_eq!(e.status, 404, "{path}");
        assert!(!e.message.contains("sk-secret-x"), "{}", e.message);
    }
    // A trailing slash is the same route.
    env.admin("GET", "/key/list/", "");
}
