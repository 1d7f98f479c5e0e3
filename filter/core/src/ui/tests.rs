use super::*;
use crate::config::Config;
use crate::gateway::{Env, Gateway, HeadersOutcome};
use crate::keys::MemStore;
use crate::routes::{classify, Endpoint};

const CFG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9000/v1"}
general_settings: {master_key: sk-m}
"#;

fn call(method: &str, path: &str, auth: Option<&str>) -> LocalReply {
    let gw = Gateway::new(Config::load(CFG, &|_| None).unwrap());
    let store = MemStore::default();
    let mut random = |b: &mut [u8]| b.fill(7);
    let mut env = Env {
        store: &store,
        now: 1_000,
        random: &mut random,
        pick: 1,
        now_ms: 1_000_000,
    };
    let auth = auth.map(|a| format!("Bearer {a}"));
    let header = |n: &str| (n == "authorization").then(|| auth.clone()).flatten();
    match gw.on_request_headers(method, path, &header, &mut env) {
        HeadersOutcome::Reply(r) => r,
        other => panic!("{other:?}"),
    }
}

fn header<'a>(r: &'a LocalReply, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn routes_get_and_head_only() {
    for path in ["/ui", "/ui/"] {
        for method in ["GET", "HEAD"] {
            let e = classify(method, path).unwrap();
            assert_eq!(e, Endpoint::Ui, "{method} {path}");
            assert!(!e.needs_auth(), "the page holds no data");
            assert!(!e.has_body());
        }
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let e = classify(method, path).unwrap_err();
            assert_eq!(e.status, 405, "{method} {path}");
            assert!(e.headers.contains(&("allow", "GET".to_string())));
        }
    }
    assert_eq!(classify("GET", "/ui/x").unwrap_err().status, 404);
    assert_eq!(classify("GET", "/uix").unwrap_err().status, 404);
}

#[test]
fn served_without_a_key_with_strict_headers() {
    for (method, path, auth) in [
        ("GET", "/ui", None),
        ("GET", "/ui/", None),
        ("HEAD", "/ui", None),
        ("GET", "/ui?x=1", Some("sk-wrong")),
    ] {
        let r = call(method, path, auth);
        assert_eq!(r.status, 200, "{method} {path}");
        assert_eq!(r.body, PAGE.as_bytes());
        assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
        assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&r, "x-frame-options"), Some("DENY"));
        assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"));
        assert_eq!(header(&r, "content-security-policy"), Some(&*csp(PAGE)));
    }
    let r = call("POST", "/ui", None);
    assert_eq!(r.status, 405);
    assert_eq!(header(&r, "content-type"), None, "errors stay JSON");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["error"]["code"],
        "method_not_allowed"
    );
}

#[test]
fn csp_allows_only_the_inline_script_and_style_by_hash() {
    let policy = csp(PAGE);
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from {policy}"))
            .to_string()
    };
    assert_eq!(directive("default-src"), "'none'");
    assert_eq!(directive("connect-src"), "'self'");
    assert_eq!(directive("frame-ancestors"), "'none'");
    assert_eq!(directive("base-uri"), "'none'");
    assert_eq!(directive("form-action"), "'none'");
    for (tag, name) in [("script", "script-src"), ("style", "style-src")] {
        let body = inline(PAGE, tag).unwrap();
        assert!(body.len() > 100, "{tag}");
        let want = format!("'sha256-{}'", base64(&Sha256::digest(body.as_bytes())));
        assert_eq!(directive(name), want);
        // Exactly one element of each, so the hash covers everything that runs.
        assert_eq!(PAGE.matches(&format!("<{tag}")).count(), 1, "{tag}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(!policy.contains("http"), "{policy}");
    // No page: a policy that allows nothing inline.
    assert!(csp("<p>hi</p>").contains("script-src; style-src;"));
}

#[test]
fn base64_matches_the_standard_alphabet() {
    for (input, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), want);
    }
    // sha256("") as `openssl dgst -sha256 -binary | base64` prints it.
    assert_eq!(
        base64(&Sha256::digest(b"")),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

#[test]
fn page_loads_nothing_from_elsewhere() {
    // The only absolute URL is the SVG namespace, an identifier that is never fetched.
    let svg_ns = "http://www.w3.org/2000/svg";
    let rest = PAGE.replace(svg_ns, "");
    for needle in ["http://", "https://", "//cdn", "@import", "url("] {
        assert!(!rest.contains(needle), "page contains {needle:?}");
    }
    assert_eq!(PAGE.matches(svg_ns).count(), 1);
    // No element loads anything: no src or href attributes at all.
    for attr in [" src=", " href=", " srcset=", "<link", "<iframe", "<img"] {
        assert!(!PAGE.contains(attr), "page contains {attr:?}");
    }
}

#[test]
fn page_never_parses_data_as_html() {
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "localStorage",
    ] {
        assert!(!PAGE.contains(sink), "page uses {sink}");
    }
    // The key goes in sessionStorage and the Authorization header, never a URL.
    assert!(PAGE.contains("sessionStorage.setItem"));
    assert!(PAGE.contains(r#"authorization: "Bearer " + key"#));
}

#[test]
fn page_is_small() {
    assert!(PAGE.len() < 40_000, "{} bytes", PAGE.len());
}
