//! /key/list paging and filters.

use super::hash_key;
use super::test_support::Env;
use serde_json::json;

#[test]
fn list_pages_and_filters() {
    let env = Env::new();
    let mut tokens: Vec<String> = env.config.declared_keys.keys().cloned().collect();
    for i in 0..23 {
        let team = if i % 2 == 0 { "even" } else { "odd" };
        let dept = if i < 5 { "eng" } else { "ops" };
        let body = json!({"key_alias": format!("k{i}"), "team_id": team, "user_id": format!("u{}", i % 3),
            "metadata": {"department": dept}});
        tokens.push(hash_key(&env.generate(&body.to_string())));
    }
    let v = env.admin("GET", "/key/list", "");
    assert_eq!(
        (v["total_count"].clone(), v["current_page"].clone()),
        (json!(25), json!(1))
    );
    assert_eq!(v["total_pages"], 3);
    assert_eq!(v["keys"], json!(tokens[..10]));
    let v = env.admin("GET", "/key/list?page=3&size=10", "");
    assert_eq!(v["keys"], json!(tokens[20..]));
    let v = env.admin("GET", "/key/list?page=9&size=10", "");
    assert_eq!(v["keys"], json!([]));
    for (query, total) in [
        ("team_id=even", 12),
        ("team_id=odd&size=100", 11),
        ("department=eng", 5),
        ("department=eng&team_id=odd", 2),
        ("user_id=u0", 8),
        ("key_alias=k7", 1),
        ("key_alias=ops", 1),
        ("key_alias=nobody", 0),
        ("team_id=", 25),
    ] {
        let v = env.admin("GET", &format!("/key/list?{query}&size=100"), "");
        assert_eq!(v["total_count"], total, "{query}");
        assert_eq!(v["keys"].as_array().unwrap().len(), total, "{query}");
    }
    let v = env.admin("GET", "/key/list?key_alias=k7&return_full_object=true", "");
    assert_eq!(v["keys"][0]["key_alias"], "k7");
    assert_eq!(v["keys"][0]["team_id"], "odd");
    let v = env.admin("GET", "/key/list?size=2&page=2&return_full_object=true", "");
    assert_eq!(v["keys"][0]["token"], json!(tokens[2]));
    assert_eq!(v["total_pages"], 13);
    for bad in ["page=0", "size=0", "size=101", "page=x"] {
        let e = env.admin_err("GET", &format!("/key/list?{bad}"), "");
        assert_eq!(e.status, 400, "{bad}");
    }
}
