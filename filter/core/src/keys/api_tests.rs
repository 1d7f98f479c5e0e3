//! Key lifecycle through the API on a [`MemStore`](super::MemStore).

use super::test_support::{Env, NOW};
use super::{authenticate, hash_key, lookup, Role};
use crate::auth::Principal;
use serde_json::{json, Value};

#[test]
fn generate_with_chosen_key_echoes_every_field() {
    let env = Env::new();
    let body = json!({
        "key": "sk-team-alpha-01",
        "key_alias": "alpha",
        "models": ["gpt-4o", "fast"],
        "max_budget": 12.5,
        "budget_duration": "30d",
        "soft_budget": 10.0,
        "rpm_limit": 60,
        "tpm_limit": 100000,
        "max_parallel_requests": 4,
        "model_rpm_limit": {"gpt-4o": 30},
        "model_tpm_limit": {"gpt-4o": 5000},
        "metadata": {"department": "eng", "project": "chat", "cost_center": "cc-1"},
        "team_id": "team-a",
        "user_id": "u-1",
        "duration": "1h",
        "allowed_routes": ["/v1/chat/completions"],
        "role": "internal",
        "aliases": {"smart": "claude"},
        "blocked": false,
    });
    let v = env.admin("POST", "/key/generate", &body.to_string());
    assert_eq!(v["key"], "sk-team-alpha-01");
    assert_eq!(v["token"], hash_key("sk-team-alpha-01"));
    assert_eq!(v["key_name"], "sk-...a-01");
    for field in [
        "key_alias",
        "models",
        "max_budget",
        "budget_duration",
        "soft_budget",
        "rpm_limit",
        "tpm_limit",
        "max_parallel_requests",
        "model_rpm_limit",
        "model_tpm_limit",
        "metadata",
        "team_id",
        "user_id",
        "allowed_routes",
        "aliases",
        "blocked",
    ] {
        assert_eq!(v[field], body[field], "{field}");
    }
    assert_eq!(v["role"], "internal_user");
    assert_eq!(v["expires"], "2025-01-01T13:00:00Z");
    assert_eq!(v["created_at"], "2025-01-01T12:00:00Z");
    assert_eq!(v["updated_at"], "2025-01-01T12:00:00Z");
    assert_eq!(v["spend"], 0.0);
    assert_eq!(v["declared"], false);
    assert!(v.get("expires_at").is_none());
    let stored = lookup(&env.store, &env.config, &hash_key("sk-team-alpha-01")).unwrap();
    assert_eq!(stored.metadata["department"], "eng");
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(
        !raw.contains("sk-team-alpha-01"),
        "records never hold the plaintext"
    );
    assert_eq!(env.index(), vec![hash_key("sk-team-alpha-01")]);
}

#[test]
fn generate_random_key_with_defaults() {
    let env = Env::new();
    for body in ["", "{}", r#"{"key": null}"#] {
        let v = env.admin("POST", "/key/generate", body);
        let key = v["key"].as_str().unwrap();
        assert!(key.starts_with("sk-") && key.len() >= 3 + 43, "{key}");
        assert_eq!(v["token"], hash_key(key));
        assert_eq!(v["role"], "internal_user");
        assert_eq!(v["expires"], Value::Null);
        assert_eq!(v["models"], json!([]));
        let rec = authenticate(&env.store, &env.config, key, NOW).unwrap();
        assert_eq!(rec.role, Role::InternalUser);
    }
    assert_eq!(env.index().len(), 3);
}

#[test]
fn info_for_admin_and_own_key_only() {
    let env = Env::new();
    let mine = env.generate(r#"{"key_alias": "mine"}"#);
    let other = env.generate(r#"{"key_alias": "other"}"#);
    let me = env.principal(&mine);
    let own = env.call(&me, "GET", "/key/info", "").unwrap();
    assert_eq!(own["key"], hash_key(&mine));
    assert_eq!(own["info"]["key_alias"], "mine");
    assert_eq!(own["info"]["spend"], 0.0);
    assert_eq!(own["info"]["expires"], Value::Null);
    let by_plain = env.call(&me, "GET", &format!("/key/info?key={mine}"), "");
    assert_eq!(by_plain.unwrap(), own);
    let by_token = env.call(
        &me,
        "GET",
        &format!("/key/info?key={}", hash_key(&mine)),
        "",
    );
    assert_eq!(by_token.unwrap(), own);
    // Another key, or one that does not exist: the same 403.
    for asked in [other.as_str(), "sk-does-not-exist"] {
        let e = env
            .call(&me, "GET", &format!("/key/info?key={asked}"), "")
            .unwrap_err();
        assert_eq!((e.status, e.kind), (403, "permission_denied"), "{asked}");
        assert!(!e.message.contains(asked));
    }
    let v = env.admin("GET", &format!("/key/info?key={other}"), "");
    assert_eq!(v["info"]["key_alias"], "other");
    let declared = env.admin("GET", "/key/info?key=sk-declared-user", "");
    assert_eq!(declared["info"]["declared"], true);
    assert_eq!(declared["info"]["created_at"], Value::Null);
    let e = env.admin_err("GET", "/key/info?key=sk-nope-nope", "");
    assert_eq!(e.status, 404);
    assert_eq!(env.admin_err("GET", "/key/info", "").status, 400);
    let own_admin = env.principal("sk-declared-admin");
    let v = env.call(&own_admin, "GET", "/key/info", "").unwrap();
    assert_eq!(v["info"]["key_alias"], "ops");
}

#[test]
fn update_changes_fields_and_validates_them() {
    let env = Env::new();
    let key = env.generate(r#"{"key_alias": "u", "models": ["gpt-4o"], "rpm_limit": 5}"#);
    let body = json!({"key": key, "rpm_limit": 50, "models": ["claude"], "max_budget": null,
        "metadata": {"department": "sales"}, "duration": "2d", "key_alias": "u2"});
    let v = env.admin("POST", "/key/update", &body.to_string());
    assert_eq!(v["rpm_limit"], 50);
    assert_eq!(v["models"], json!(["claude"]));
    assert_eq!(v["key_alias"], "u2");
    assert_eq!(v["metadata"]["department"], "sales");
    assert_eq!(v["expires"], "2025-01-03T12:00:00Z");
    assert_eq!(v["token"], hash_key(&key));
    assert!(
        v.get("key").is_none(),
        "no plaintext outside generate/regenerate"
    );
    // By token too; a null clears.
    let token = hash_key(&key);
    let v = env.admin(
        "POST",
        "/key/update",
        &json!({"key": token, "rpm_limit": null}).to_string(),
    );
    assert_eq!(v["rpm_limit"], Value::Null);
    for (body, param) in [
        (json!({"key": key, "rpm_limit": -1}), "rpm_limit"),
        (json!({"key": key, "rpm_limit": "5"}), "rpm_limit"),
        (json!({"key": key, "max_budget": -3}), "max_budget"),
        (
            json!({"key": key, "budget_duration": "monthly"}),
            "budget_duration",
        ),
        (json!({"key": key, "duration": "soon"}), "duration"),
        (json!({"key": key, "role": "root"}), "role"),
        (
            json!({"key": key, "role": "customer", "models": []}),
            "models",
        ),
        (
            json!({"key": key, "aliases": {"x": "no-such-group"}}),
            "aliases",
        ),
        (json!({"key": key, "metadata": [1]}), "metadata"),
        (json!({"key": key, "models": "gpt-4o"}), "models"),
        (
            json!({"key": key, "model_rpm_limit": {"gpt-4o": 1.5}}),
            "model_rpm_limit",
        ),
        (json!({"key": key, "key_alias": ""}), "key_alias"),
        (json!({"key": key, "blocked": "yes"}), "blocked"),
        (json!({"key": key, "token": "abc"}), "token"),
        (json!({"rpm_limit": 1}), "key"),
        (
            json!({"key": "sk-missing-key", "rpm_limit": -1}),
            "rpm_limit",
        ),
    ] {
        let e = env.admin_err("POST", "/key/update", &body.to_string());
        assert_eq!(
            (e.status, e.param),
            (400, Some(param)),
            "{body}: {}",
            e.message
        );
        assert!(e.message.contains(param), "{}", e.message);
    }
    let e = env.admin_err("POST", "/key/update", r#"{"key": "sk-missing-key"}"#);
    assert_eq!(e.status, 404);
    let rec = lookup(&env.store, &env.config, &token).unwrap();
    assert_eq!(
        rec.models,
        vec!["claude".to_string()],
        "failed updates change nothing"
    );
}

#[test]
fn block_and_unblock() {
    let env = Env::new();
    let key = env.generate("{}");
    let v = env.admin("POST", "/key/block", &json!({"key": key}).to_string());
    assert_eq!(v["blocked"], true);
    let e = authenticate(&env.store, &env.config, &key, NOW).unwrap_err();
    assert_eq!(
        (e.status, e.message.as_str()),
        (401, "This key is blocked.")
    );
    let v = env.admin(
        "POST",
        "/key/unblock",
        &json!({"key": hash_key(&key)}).to_string(),
    );
    assert_eq!(v["blocked"], false);
    authenticate(&env.store, &env.config, &key, NOW).unwrap();
    let e = env.admin_err(
        "POST",
        "/key/block",
        &json!({"key": key, "x": 1}).to_string(),
    );
    assert_eq!(e.status, 400);
    let e = env.admin_err("POST", "/key/block", r#"{"key": "sk-not-a-key"}"#);
    assert_eq!(e.status, 404);
}

#[test]
fn regenerate_keeps_settings_and_retires_the_old_key() {
    let env = Env::new();
    let old = env
        .generate(r#"{"key_alias": "r", "models": ["gpt-4o"], "rpm_limit": 7, "duration": "1d"}"#);
    let before = lookup(&env.store, &env.config, &hash_key(&old)).unwrap();
    let v = env.admin("POST", "/key/regenerate", &json!({"key": old}).to_string());
    let new = v["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(v["token"], hash_key(&new));
    let e = authenticate(&env.store, &env.config, &old, NOW).unwrap_err();
    assert_eq!(e.message, "Invalid API key.");
    let after = authenticate(&env.store, &env.config, &new, NOW).unwrap();
    assert_eq!(
        (
            after.key_alias,
            after.models,
            after.rpm_limit,
            after.expires_at,
            after.created_at
        ),
        (
            before.key_alias,
            before.models,
            before.rpm_limit,
            before.expires_at,
            before.created_at
        )
    );
    assert_eq!(env.index(), vec![hash_key(&new)]);
    // Path form, a chosen new key and a setting change in one call.
    let v = env.admin(
        "POST",
        &format!("/key/{new}/regenerate"),
        r#"{"new_key": "sk-chosen-new", "rpm_limit": 9}"#,
    );
    assert_eq!(
        (v["key"].clone(), v["rpm_limit"].clone()),
        (json!("sk-chosen-new"), json!(9))
    );
    assert!(authenticate(&env.store, &env.config, &new, NOW).is_err());
    assert_eq!(env.index(), vec![hash_key("sk-chosen-new")]);
    let e = env.admin_err(
        "POST",
        "/key/regenerate",
        r#"{"key": "sk-chosen-new", "new_key": "sk-chosen-new"}"#,
    );
    assert_eq!((e.status, e.param), (400, Some("new_key")));
    let e = env.admin_err("POST", "/key/regenerate", r#"{"key": "sk-gone-gone"}"#);
    assert_eq!(e.status, 404);
}

#[test]
fn delete_by_key_and_alias() {
    let env = Env::new();
    let a = env.generate(r#"{"key_alias": "a"}"#);
    let b = env.generate(r#"{"key_alias": "b"}"#);
    let c = env.generate(r#"{"key_alias": "c"}"#);
    let v = env.admin(
        "POST",
        "/key/delete",
        &json!({"keys": [a, "sk-unknown-1"]}).to_string(),
    );
    assert_eq!(v, json!({"deleted_keys": [hash_key(&a)]}));
    let v = env.admin("POST", "/key/delete", r#"{"key_aliases": ["b", "zzz"]}"#);
    assert_eq!(v, json!({"deleted_keys": [hash_key(&b)]}));
    for key in [&a, &b] {
        assert!(authenticate(&env.store, &env.config, key, NOW).is_err());
    }
    assert_eq!(env.index(), vec![hash_key(&c)]);
    let e = env.admin_err("POST", "/key/delete", &json!({"keys": [a]}).to_string());
    assert_eq!(e.status, 404);
    assert_eq!(env.admin_err("POST", "/key/delete", "{}").status, 400);
    // The alias is free again.
    env.generate(r#"{"key_alias": "a"}"#);
}

#[test]
fn keys_expire() {
    let env = Env::new();
    let key = env.generate(r#"{"duration": "30d"}"#);
    let end = NOW + 30 * 86_400;
    authenticate(&env.store, &env.config, &key, end - 1).unwrap();
    let e = authenticate(&env.store, &env.config, &key, end + 1).unwrap_err();
    assert_eq!(e.status, 401);
    assert_eq!(e.message, "This key expired at 2025-01-31T12:00:00Z.");
    let e = authenticate(&env.store, &env.config, "sk-never-issued", NOW).unwrap_err();
    assert_eq!((e.status, e.message.as_str()), (401, "Invalid API key."));
    let declared = authenticate(&env.store, &env.config, "sk-declared-user", NOW).unwrap();
    assert!(declared.declared);
    assert!(
        matches!(env.principal("sk-declared-admin"), Principal::Key(r) if r.role == Role::ProxyAdmin)
    );
}
