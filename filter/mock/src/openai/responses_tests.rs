use std::collections::BTreeSet;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::answer;
use crate::faces::ProviderRequest;
use crate::reply::Reply;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            "../../../../fixtures/providers/openai/",
            $name,
            ".json"
        )))
        .unwrap()
    };
}

fn call(body: &Value) -> Reply {
    let text = body.to_string();
    let req = ProviderRequest {
        method: &Method::POST,
        path: "/v1/responses",
        body: text.as_bytes(),
        headers: &hyper::HeaderMap::new(),
        name: "alpha",
    };
    answer(&req)
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body_text()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// (event name, data) pairs; checks `event:` matches `type` and `type` comes first.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let (name_line, data_line) = block.split_once('\n').unwrap();
            let name = name_line.strip_prefix("event: ").unwrap();
            let data = data_line.strip_prefix("data: ").unwrap();
            assert!(
                data.starts_with(&format!("{{\"type\":\"{name}\"")),
                "{data}"
            );
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn pattern(evs: &[(String, Value)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in evs {
        if !(name.ends_with(".delta") && out.last() == Some(name)) {
            out.push(name.clone());
        }
    }
    out
}

fn recorded_events(fixture: &Value) -> Vec<(String, Value)> {
    events(fixture["response"]["body"].as_str().unwrap())
}

/// Every recorded field is present (the account's `billing` aside).
fn assert_has_recorded_keys(got: &Value, recorded: &Value) {
    let have = keys(got);
    let missing: Vec<String> = keys(recorded)
        .into_iter()
        .filter(|k| !have.contains(k) && k != "billing" && k != "completed_at")
        .filter(|k| {
            ![
                "frequency_penalty",
                "presence_penalty",
                "prompt_cache_retention",
            ]
            .contains(&k.as_str())
        })
        .collect();
    assert!(missing.is_empty(), "missing {missing:?}");
}

#[test]
fn recorded_request_gets_a_response_shaped_like_the_recording() {
    let f = fixture!("responses-basic");
    let reply = call(&f["request"]["body"]);
    assert_eq!(reply.status, StatusCode::OK);
    let v = json_of(&reply);
    let recorded = &f["response"]["body"];
    assert_has_recorded_keys(&v, recorded);
    assert_eq!(keys(&v["output"][0]), keys(&recorded["output"][0]));
    assert_eq!(
        keys(&v["output"][0]["content"][0]),
        keys(&recorded["output"][0]["content"][0])
    );
    assert_eq!(keys(&v["usage"]), keys(&recorded["usage"]));
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert!(v["output"][0]["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "gpt-4o");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "[alpha] What is the capital of France?"
    );
    assert_eq!(v["usage"]["output_tokens"], 7);
    assert_eq!(v["usage"]["input_tokens"], 7);
    assert_eq!(v["usage"]["total_tokens"], 14);
}

#[test]
fn tool_word_with_function_tools_gives_a_function_call() {
    let f = fixture!("responses-function-call");
    let mut req = f["request"]["body"].clone();
    req["input"][0]["content"] = json!("Use the tool for PotatoLand");
    let v = json_of(&call(&req));
    let recorded = &f["response"]["body"];
    assert_has_recorded_keys(&v, recorded);
    let item = &v["output"][0];
    assert_eq!(keys(item), keys(&recorded["output"][0]));
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "get_capital");
    assert_eq!(
        item["arguments"],
        r#"{"input":"Use the tool for PotatoLand"}"#
    );
    assert!(item["call_id"].as_str().unwrap().starts_with("call_"));
    assert!(item["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!(v["tools"], req["tools"]);
    // After the tool's output comes back, the answer is text again.
    let turn = &fixture!("responses-function-call-output")["request"]["body"];
    let v = json_of(&call(turn));
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "[alpha] What is the capital of PotatoLand?"
    );
}

#[test]
fn text_stream_follows_the_recorded_sequence() {
    let f = fixture!("responses-stream-text");
    let reply = call(&f["request"]["body"]);
    assert!(reply.streaming);
    let evs = events(&reply.body_text());
    let recorded = recorded_events(&f);
    assert_eq!(pattern(&evs), pattern(&recorded));
    for (i, (name, data)) in evs.iter().enumerate() {
        assert_eq!(data["sequence_number"], i as u64);
        let (_, r) = recorded.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(keys(data), keys(r), "{name}");
    }
    // One write per event, so scripts can cut the stream between events.
    assert_eq!(reply.chunks.len(), evs.len());
    let deltas: String = evs
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "[alpha] What is the capital of Minas Gerais?");
    let (_, last) = evs.last().unwrap();
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], deltas);
    assert_eq!(
        last["response"]["instructions"],
        "You are a helpful assistant."
    );
    assert_eq!(last["response"]["usage"]["output_tokens"], 8);
    assert_eq!(evs[0].1["response"]["usage"], Value::Null);
}

#[test]
fn function_call_stream_follows_the_recorded_sequence() {
    let f = fixture!("responses-stream-function-call");
    let mut req = f["request"]["body"].clone();
    req["input"][0]["content"] = json!("Calculate with the tool");
    let evs = events(&call(&req).body_text());
    let recorded = recorded_events(&f);
    let mut want = pattern(&recorded);
    want.drain(2..4); // the recording's reasoning item
    assert_eq!(pattern(&evs), want);
    for (name, data) in &evs {
        let (_, r) = recorded.iter().rev().find(|(n, _)| n == name).unwrap();
        assert_eq!(keys(data), keys(r), "{name}");
    }
    let args: String = evs
        .iter()
        .filter(|(n, _)| n == "response.function_call_arguments.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(args, r#"{"input":"Calculate with the tool"}"#);
    let (_, last) = evs.last().unwrap();
    assert_eq!(last["response"]["output"][0]["arguments"], args);
    assert_eq!(last["response"]["output"][0]["name"], "final_result");
}

#[test]
fn max_output_tokens_cuts_the_answer_as_incomplete() {
    let req = json!({"model": "gpt-4o", "input": "one two three four", "max_output_tokens": 2});
    let v = json_of(&call(&req));
    assert_eq!(v["status"], "incomplete");
    assert_eq!(
        v["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(v["output"][0]["status"], "incomplete");
    assert_eq!(v["output"][0]["content"][0]["text"], "[alpha] one");
    let mut streamed = req.clone();
    streamed["stream"] = json!(true);
    let evs = events(&call(&streamed).body_text());
    assert_eq!(evs.last().unwrap().0, "response.incomplete");
}

#[test]
fn invalid_requests_get_openai_errors() {
    let cases = [
        (
            json!({"model": "gpt-4o"}),
            400,
            Some("missing_required_parameter"),
        ),
        (json!({"model": "gpt-4o", "input": 5}), 400, None),
        (json!({"input": "hi"}), 400, None),
        (
            json!({"model": "nonexistent-1", "input": "hi"}),
            404,
            Some("model_not_found"),
        ),
        (
            json!({"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_1"}),
            404,
            Some("previous_response_not_found"),
        ),
    ];
    for (body, status, code) in cases {
        let reply = call(&body);
        assert_eq!(reply.status.as_u16(), status, "{body}");
        let v = json_of(&reply);
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(v["error"]["code"].as_str(), code, "{body}");
    }
    // Instructions alone are something to answer.
    let reply = call(&json!({"model": "gpt-4o", "instructions": "Say hi"}));
    assert_eq!(reply.status, StatusCode::OK);
}
