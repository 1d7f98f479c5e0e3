//! ChatToResponsesStream on the recorded OpenAI chat streams: identical output
//! however the input is chunked, the recorded Responses event order and shapes,
//! and the same final object as the whole-body translation.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::support::{
    assemble_chat, events, fixture, fixture_events, keys, pattern, run, run_rechunked, stream_body,
    Event,
};
use crate::translate::responses::{chat_to_responses, ChatToResponsesStream};
use crate::translate::{StreamTranslator, Usage};

fn request() -> Value {
    json!({"model": "gpt-4o", "input": "Hello!", "stream": true})
}

fn translate(body: &[u8]) -> Vec<Event> {
    let req = request();
    events(&run_rechunked(|| ChatToResponsesStream::new(&req), body))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Our events have the recorded event's fields (the API's `obfuscation` padding
/// aside), and the items, parts and response objects inside have its keys.
fn assert_shapes_like(ours: &[Event], recorded: &[Event]) {
    for e in ours {
        let Some(r) = recorded.iter().find(|r| r.name == e.name) else {
            continue;
        };
        let want: BTreeSet<String> = keys(&r.data)
            .into_iter()
            .filter(|k| k != "obfuscation")
            .collect();
        assert_eq!(keys(&e.data), want, "fields of {}", e.name);
        if let Some(resp) = e.data.get("response") {
            let have = keys(resp);
            let missing: Vec<_> = keys(&r.data["response"])
                .into_iter()
                .filter(|k| k != "completed_at" && !have.contains(k))
                .collect();
            assert!(missing.is_empty(), "{} response lacks {missing:?}", e.name);
        }
        for field in ["item", "part"] {
            let (Some(ours), Some(theirs)) = (e.data.get(field), r.data.get(field)) else {
                continue;
            };
            if ours["type"] == theirs["type"] {
                assert_eq!(keys(ours), keys(theirs), "{field} of {}", e.name);
            }
        }
    }
}

/// The completed response equals the whole-body translation of the same answer.
fn assert_matches_non_stream(evs: &[Event], body: &[u8]) -> Value {
    let last = &evs.last().unwrap().data;
    let whole = chat_to_responses(&assemble_chat(body), &request()).unwrap();
    assert_eq!(last["response"], whole);
    last["response"].clone()
}

fn assert_sequence_numbers(evs: &[Event]) {
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e.data["sequence_number"], i as u64, "{}", e.name);
    }
}

fn delta_text(evs: &[Event], name: &str) -> String {
    evs.iter()
        .filter(|e| e.name == name)
        .map(|e| e.data["delta"].as_str().unwrap())
        .collect()
}

#[test]
fn text_stream_follows_the_recorded_event_sequence() {
    let recorded = fixture_events(&fixture!("responses-stream-text"));
    for f in [
        fixture!("chat-completions-stream"),
        fixture!("chat-completions-stream-include-usage-text"),
    ] {
        let body = stream_body(&f);
        let evs = translate(&body);
        assert_sequence_numbers(&evs);
        assert_eq!(pattern(&evs), pattern(&recorded));
        assert_shapes_like(&evs, &recorded);
        let chat = assemble_chat(&body);
        let text = chat["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(delta_text(&evs, "response.output_text.delta"), text);
        let done = evs
            .iter()
            .find(|e| e.name == "response.output_text.done")
            .unwrap();
        assert_eq!(done.data["text"], text);
        let resp = assert_matches_non_stream(&evs, &body);
        assert_eq!(resp["status"], "completed");
        assert_eq!(resp["output"][0]["content"][0]["text"], text);
        assert_eq!(
            resp["id"],
            format!(
                "resp_{}",
                chat["id"].as_str().unwrap().trim_start_matches("chatcmpl-")
            )
        );
        let created = &evs[0].data["response"];
        assert_eq!(
            (created["status"].clone(), created["output"].clone()),
            (json!("in_progress"), json!([]))
        );
    }
}

#[test]
fn usage_comes_from_the_chat_usage_chunk() {
    let body = stream_body(&fixture!("chat-completions-stream-include-usage-text"));
    let evs = events(&run(ChatToResponsesStream::new(&request()), &[&body]));
    let usage = &evs.last().unwrap().data["response"]["usage"];
    let chat_usage = &assemble_chat(&body)["usage"];
    assert_eq!(usage["input_tokens"], chat_usage["prompt_tokens"]);
    assert_eq!(usage["output_tokens"], chat_usage["completion_tokens"]);
    assert_eq!(usage["total_tokens"], chat_usage["total_tokens"]);
    let mut t = ChatToResponsesStream::new(&request());
    run_into(&mut t, &body);
    assert_eq!(t.usage(), Usage::from_openai(chat_usage));
    // Without a usage chunk the stream still completes, with usage null.
    let body = stream_body(&fixture!("chat-completions-stream"));
    let evs = events(&run(ChatToResponsesStream::new(&request()), &[&body]));
    assert_eq!(evs.last().unwrap().data["response"]["usage"], Value::Null);
}

fn run_into(t: &mut ChatToResponsesStream, body: &[u8]) {
    t.push(body);
    t.finish();
}

#[test]
fn tool_call_stream_follows_the_recorded_function_call_sequence() {
    let recorded = fixture_events(&fixture!("responses-stream-function-call"));
    let body = stream_body(&fixture!(
        "chat-completions-stream-include-usage-tool-calls"
    ));
    let evs = translate(&body);
    assert_sequence_numbers(&evs);
    // The recording starts with a reasoning item (added, done) the chat stream lacks.
    let mut want = pattern(&recorded);
    want.drain(2..4);
    assert_eq!(pattern(&evs), want);
    assert_shapes_like(&evs, &recorded);
    assert_eq!(
        delta_text(&evs, "response.function_call_arguments.delta"),
        "{\"country\":\"UK\"}"
    );
    let added = &evs[2].data["item"];
    assert_eq!(added["call_id"], "call_ZR5UUuTt3pf61kjwAJIYdVMj");
    assert_eq!(added["name"], "get_capital");
    assert_eq!(added["arguments"], "");
    assert_eq!(added["status"], "in_progress");
    let resp = assert_matches_non_stream(&evs, &body);
    assert_eq!(resp["output"][0]["arguments"], "{\"country\":\"UK\"}");
    assert_eq!(resp["output"][0]["status"], "completed");
    assert_eq!(resp["usage"]["input_tokens"], 53);
    assert_eq!(resp["usage"]["output_tokens"], 15);
}

#[test]
fn length_finish_is_response_incomplete() {
    let body = stream_body(&fixture!("chat-completions-stream-include-usage-reasoning"));
    let evs = translate(&body);
    assert_eq!(
        pattern(&evs),
        names(&[
            "response.created",
            "response.in_progress",
            "response.incomplete"
        ])
    );
    let resp = assert_matches_non_stream(&evs, &body);
    assert_eq!(resp["status"], "incomplete");
    assert_eq!(
        resp["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(
        resp["usage"]["output_tokens_details"]["reasoning_tokens"],
        100
    );
}

#[test]
fn crlf_upstream_translates_like_lf() {
    let body = stream_body(&fixture!(
        "chat-completions-stream-include-usage-tool-calls"
    ));
    let crlf = String::from_utf8(body.clone())
        .unwrap()
        .replace('\n', "\r\n");
    let req = request();
    let lf_out = run(ChatToResponsesStream::new(&req), &[&body]);
    assert_eq!(
        run_rechunked(|| ChatToResponsesStream::new(&req), crlf.as_bytes()),
        lf_out
    );
}

/// Byte offset where the data of the event holding `needle` is complete (an
/// upstream ending there still delivers the event: finish() completes it).
fn end_of_event_with(body: &[u8], needle: &str) -> usize {
    let text = std::str::from_utf8(body).unwrap();
    let at = text.find(needle).unwrap();
    at + text[at..].find("\n\n").unwrap()
}

#[test]
fn truncated_upstream_fails_at_every_cut() {
    let body = stream_body(&fixture!(
        "chat-completions-stream-include-usage-tool-calls"
    ));
    let first_event_end = end_of_event_with(&body, "\"index\":0,\"id\"");
    let finish_end = end_of_event_with(&body, "\"finish_reason\":\"tool_calls\"");
    let req = request();
    for cut in 0..finish_end {
        let out = run(ChatToResponsesStream::new(&req), &[&body[..cut]]);
        let evs = events(&out);
        assert!(
            evs.iter().all(|e| e.name != "response.completed"),
            "cut {cut}"
        );
        let last = evs.last().unwrap();
        if cut < first_event_end {
            // Nothing was announced: a bare error event.
            assert_eq!(evs.len(), 1, "cut {cut}");
            assert_eq!(last.name, "error");
            assert_eq!(last.data["code"], "server_error");
        } else {
            assert_eq!(last.name, "response.failed", "cut {cut}");
            let resp = &last.data["response"];
            assert_eq!(resp["status"], "failed");
            assert_eq!(resp["error"]["code"], "server_error");
            assert!(resp["error"]["message"].as_str().unwrap().contains("ended"));
            assert_eq!(resp["output"][0]["status"], "incomplete");
            assert_sequence_numbers(&evs);
        }
    }
    // A cut stream translates the same however it is chunked.
    run_rechunked(
        || ChatToResponsesStream::new(&req),
        &body[..finish_end - 40],
    );
    // Cut after the finish_reason: the answer is whole, only usage is missing.
    let evs = events(&run(
        ChatToResponsesStream::new(&req),
        &[&body[..finish_end]],
    ));
    let last = evs.last().unwrap();
    assert_eq!(last.name, "response.completed");
    assert_eq!(last.data["response"]["usage"], Value::Null);
}
