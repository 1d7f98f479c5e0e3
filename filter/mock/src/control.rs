//! `/__mock/*` endpoints: scripting, the request log and health. Never logged or scripted.

use hyper::{Method, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

use crate::chaos;
use crate::reply::Reply;
use crate::reqlog::Entry;
use crate::script::Script;
use crate::server::State;
use crate::util::now_ms;

/// Path prefix of every control endpoint.
pub const PREFIX: &str = "/__mock";

/// True when the path belongs to the control API rather than a provider face.
pub fn is_control(path: &str) -> bool {
    path == PREFIX || path.starts_with("/__mock/")
}

/// Handles one control request.
pub fn handle(state: &State, method: &Method, path: &str, body: &[u8]) -> Reply {
    let route = path
        .strip_prefix(PREFIX)
        .unwrap_or(path)
        .trim_end_matches('/');
    match (method.as_str(), route) {
        ("GET", "/health") => ok(json!({"status": "ok", "name": state.name})),
        ("POST", "/script") => match Script::parse_many(body) {
            Ok(scripts) => {
                let added = scripts.len();
                let queued = state.scripts.enqueue(scripts);
                ok(json!({"added": added, "queued": queued}))
            }
            Err(message) => bad_request(message),
        },
        ("GET", "/script") => {
            let (queue, default) = state.scripts.snapshot();
            ok(json!({"queue": queue, "default": default}))
        }
        ("DELETE", "/script") => ok(json!({"cleared": state.scripts.clear_queue()})),
        ("POST", "/default") => match Script::parse_many(body) {
            Ok(mut scripts) if scripts.len() == 1 => {
                let script = scripts.pop();
                state.scripts.set_default(script.clone());
                ok(json!({"default": script}))
            }
            Ok(_) => bad_request("the default must be a single script object".to_owned()),
            Err(message) => bad_request(message),
        },
        ("DELETE", "/default") => {
            state.scripts.set_default(None);
            ok(json!({"default": Value::Null}))
        }
        ("GET", "/requests") => Reply::json(
            StatusCode::OK,
            &Requests {
                requests: state.log.all(),
            },
        ),
        ("DELETE", "/requests") => ok(json!({"cleared": state.log.clear()})),
        ("POST", "/chaos") => {
            let now = now_ms();
            match chaos::parse_request(body, now).and_then(|req| state.chaos.apply(req)) {
                Ok(()) => ok(json!({"now_ms": now, "phases": state.chaos.snapshot()})),
                Err(message) => bad_request(message),
            }
        }
        ("GET", "/chaos") => {
            let now = now_ms();
            ok(json!({
                "now_ms": now,
                "active": state.chaos.active(now),
                "phases": state.chaos.snapshot(),
            }))
        }
        ("DELETE", "/chaos") => ok(json!({"cleared": state.chaos.clear()})),
        ("POST", "/reset") => {
            state.scripts.clear_queue();
            state.scripts.set_default(None);
            state.log.clear();
            state.chaos.clear();
            ok(json!({"reset": true}))
        }
        _ => {
            let message = format!("unknown mock control endpoint: {method} {path}");
            Reply::json(StatusCode::NOT_FOUND, &json!({"error": message}))
        }
    }
}

#[derive(Serialize)]
struct Requests {
    requests: Vec<Entry>,
}

fn ok(value: Value) -> Reply {
    Reply::json(StatusCode::OK, &value)
}

fn bad_request(message: String) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, &json!({"error": message}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;

    fn call(state: &State, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let reply = handle(state, &method, path, body.as_bytes());
        (
            reply.status,
            serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn health_names_the_instance() {
        let state = State::new("beta".into(), true);
        assert_eq!(
            call(&state, Method::GET, "/__mock/health", ""),
            (StatusCode::OK, json!({"status": "ok", "name": "beta"}))
        );
    }

    #[test]
    fn script_queue_and_default_round_trip() {
        let state = State::new("m".into(), true);
        let (status, v) = call(
            &state,
            Method::POST,
            "/__mock/script",
            r#"[{"status":503},{"delay_ms":1}]"#,
        );
        assert_eq!((status, v["queued"].clone()), (StatusCode::OK, json!(2)));
        assert_eq!(
            call(&state, Method::POST, "/__mock/script", r#"{"bogus":1}"#).0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(&state, Method::GET, "/__mock/script", "").1["queue"][0]["status"],
            503
        );
        assert_eq!(
            call(&state, Method::DELETE, "/__mock/script", "").1["cleared"],
            2
        );
        assert_eq!(
            call(&state, Method::POST, "/__mock/default", r#"[{},{}]"#).0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(&state, Method::POST, "/__mock/default", r#"{"status":500}"#).0,
            StatusCode::OK
        );
        assert_eq!(state.scripts.snapshot().1.and_then(|s| s.status), Some(500));
        call(&state, Method::DELETE, "/__mock/default", "");
        assert_eq!(state.scripts.snapshot().1, None);
    }

    #[test]
    fn chaos_is_set_listed_and_cleared() {
        let state = State::new("m".into(), true);
        let (status, v) = call(
            &state,
            Method::POST,
            "/__mock/chaos",
            r#"{"mode":"down","start_in_ms":2000,"duration_ms":5000}"#,
        );
        assert_eq!(status, StatusCode::OK);
        let now = v["now_ms"].as_u64().unwrap();
        assert_eq!(v["phases"][0]["start_ms"], now + 2000);
        assert_eq!(v["phases"][0]["end_ms"], now + 7000);
        let (_, v) = call(&state, Method::GET, "/__mock/chaos", "");
        assert_eq!(
            (v["active"].clone(), v["phases"][0]["mode"].clone()),
            (Value::Null, json!("down"))
        );
        let (status, v) = call(&state, Method::POST, "/__mock/chaos", r#"{"mode":"flood"}"#);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("unknown mode"));
        call(
            &state,
            Method::POST,
            "/__mock/chaos",
            r#"{"phases":[{"mode":"429"}],"append":true}"#,
        );
        let (_, v) = call(&state, Method::GET, "/__mock/chaos", "");
        assert_eq!(v["active"]["mode"], "429");
        assert_eq!(v["phases"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            call(&state, Method::DELETE, "/__mock/chaos", "").1["cleared"],
            2
        );
        call(&state, Method::POST, "/__mock/chaos", r#"{"mode":"slow"}"#);
        call(&state, Method::POST, "/__mock/reset", "");
        assert!(state.chaos.snapshot().is_empty());
    }

    #[test]
    fn requests_are_listed_and_cleared() {
        let state = State::new("m".into(), true);
        state.log.push(Entry::new(
            "POST",
            "/v1/chat/completions",
            &HeaderMap::new(),
            b"{}",
        ));
        let (_, v) = call(&state, Method::GET, "/__mock/requests", "");
        assert_eq!(v["requests"][0]["path"], "/v1/chat/completions");
        assert_eq!(v["requests"][0]["body"], "{}");
        assert_eq!(
            call(&state, Method::DELETE, "/__mock/requests", "").1["cleared"],
            1
        );
        assert_eq!(
            call(&state, Method::GET, "/__mock/requests", "").1["requests"],
            json!([])
        );
        assert_eq!(
            call(&state, Method::GET, "/__mock/nope", "").0,
            StatusCode::NOT_FOUND
        );
    }
}
