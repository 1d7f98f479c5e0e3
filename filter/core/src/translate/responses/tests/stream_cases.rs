//! ChatToResponsesStream on constructed chat streams: reasoning, refusals,
//! parallel tool calls, upstream errors and abrupt ends.

use serde_json::{json, Value};

use super::support::{
    assemble_chat, events, fixture, fixture_events, keys, run, run_rechunked, sse,
};
use crate::translate::responses::{chat_to_responses, ChatToResponsesStream};

fn request() -> Value {
    json!({"model": "gpt-4o", "input": "Hello!", "stream": true, "tools": [{"type": "function", "name": "a"}]})
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-xyz", "object": "chat.completion.chunk", "created": 1700000000, "model": "claude-x",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn usage_chunk() -> Value {
    json!({"id": "chatcmpl-xyz", "object": "chat.completion.chunk", "created": 1700000000, "model": "claude-x",
           "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50,
           "completion_tokens_details": {"reasoning_tokens": 12}}})
}

fn call(index: u64, id: Option<&str>, name: Option<&str>, args: &str) -> Value {
    let mut c = json!({"index": index, "function": {"arguments": args}});
    if let Some(id) = id {
        c["id"] = json!(id);
        c["type"] = json!("function");
    }
    if let Some(name) = name {
        c["function"]["name"] = json!(name);
    }
    json!({"tool_calls": [c]})
}

fn names(out: &[u8]) -> Vec<String> {
    events(out).into_iter().map(|e| e.name).collect()
}

#[test]
fn reasoning_text_refusal_and_parallel_calls() {
    let n = Value::Null;
    let body = sse(
        &[
            chunk(json!({"role": "assistant", "content": ""}), n.clone()),
            chunk(json!({"reasoning_content": "Let me "}), n.clone()),
            chunk(json!({"reasoning_content": "think."}), n.clone()),
            chunk(json!({"content": "Answer"}), n.clone()),
            chunk(json!({"content": " here."}), n.clone()),
            chunk(json!({"refusal": "No."}), n.clone()),
            chunk(call(0, Some("call_a"), Some("a"), ""), n.clone()),
            chunk(call(0, None, None, "{\"x\""), n.clone()),
            chunk(call(1, Some("call_b"), Some("b"), "{}"), n.clone()),
            chunk(call(0, None, None, ":1}"), n.clone()),
            chunk(json!({}), json!("tool_calls")),
            usage_chunk(),
        ],
        true,
    );
    let req = request();
    let out = run_rechunked(|| ChatToResponsesStream::new(&req), &body);
    let want = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.content_part.added",
        "response.refusal.delta",
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ];
    assert_eq!(names(&out), want);
    let evs = events(&out);
    let resp = &evs.last().unwrap().data["response"];
    assert_eq!(
        resp["output"][0],
        json!({"id": "rs_xyz_0", "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Let me think."}]})
    );
    assert_eq!(
        resp["output"][1]["content"],
        json!([
            {"type": "output_text", "text": "Answer here.", "annotations": [], "logprobs": []},
            {"type": "refusal", "refusal": "No."},
        ])
    );
    assert_eq!(resp["output"][2]["arguments"], "{\"x\":1}");
    assert_eq!(resp["output"][3]["arguments"], "{}");
    assert_eq!(resp["output"][3]["call_id"], "call_b");
    assert_eq!(
        resp["usage"]["output_tokens_details"]["reasoning_tokens"],
        12
    );
    assert_eq!(
        resp,
        &chat_to_responses(&assemble_chat(&body), &req).unwrap()
    );
    // Reasoning items have the recorded item's fields (no encrypted content here).
    let recorded = fixture_events(&fixture!("responses-stream-function-call"));
    let rs = &recorded[2].data["item"];
    assert!(keys(&evs[2].data["item"]).is_subset(&keys(rs)));
    // The refusal part events carry their index within the message.
    let refusal_done = evs
        .iter()
        .find(|e| e.name == "response.refusal.done")
        .unwrap();
    assert_eq!(refusal_done.data["content_index"], 1);
    assert_eq!(refusal_done.data["refusal"], "No.");
}

#[test]
fn upstream_error_chunk_fails_the_response() {
    let n = Value::Null;
    let err = json!({"error": {"message": "Overloaded", "type": "server_error", "code": null}});
    let body = sse(
        &[
            chunk(json!({"content": "Hal"}), n.clone()),
            err.clone(),
            chunk(json!({"content": "f"}), n),
        ],
        true,
    );
    let req = request();
    let out = run_rechunked(|| ChatToResponsesStream::new(&req), &body);
    let evs = events(&out);
    let last = evs.last().unwrap();
    assert_eq!(last.name, "response.failed");
    let resp = &last.data["response"];
    assert_eq!(resp["status"], "failed");
    assert_eq!(resp["error"]["code"], "server_error");
    assert!(resp["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Overloaded"));
    assert_eq!(resp["output"][0]["status"], "incomplete");
    assert_eq!(resp["output"][0]["content"][0]["text"], "Hal");
    assert!(evs.iter().all(|e| e.name != "response.completed"));
    // A named error event, even with a plain-text payload.
    let mut body = sse(&[chunk(json!({"content": "x"}), Value::Null)], false);
    body.extend_from_slice(b"event: error\ndata: upstream overloaded\n\n");
    let evs = events(&run(ChatToResponsesStream::new(&req), &[&body]));
    let failed = &evs.last().unwrap().data["response"];
    assert_eq!(
        failed["error"]["message"],
        "upstream error: upstream overloaded"
    );
    // A rate limit keeps its code.
    let limited = json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}});
    let body = sse(
        &[chunk(json!({"content": "x"}), Value::Null), limited],
        false,
    );
    let evs = events(&run(ChatToResponsesStream::new(&req), &[&body]));
    assert_eq!(
        evs.last().unwrap().data["response"]["error"]["code"],
        "rate_limit_exceeded"
    );
    // Before anything was announced the error is a bare `error` event.
    let evs = events(&run(
        ChatToResponsesStream::new(&req),
        &[&sse(&[err], false)],
    ));
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].name, "error");
    assert_eq!(evs[0].data["sequence_number"], 0);
    assert!(evs[0].data["message"]
        .as_str()
        .unwrap()
        .contains("Overloaded"));
    assert_eq!(
        keys(&evs[0].data).into_iter().collect::<Vec<_>>(),
        ["code", "message", "param", "sequence_number", "type"]
    );
}

#[test]
fn abrupt_ends_never_look_complete() {
    let req = request();
    let n = Value::Null;
    let text = chunk(json!({"content": "Hi"}), n.clone());
    // [DONE] without a finish_reason.
    let evs = events(&run(
        ChatToResponsesStream::new(&req),
        &[&sse(std::slice::from_ref(&text), true)],
    ));
    assert_eq!(evs.last().unwrap().name, "response.failed");
    // Nothing at all.
    let evs = events(&run(ChatToResponsesStream::new(&req), &[b""]));
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].name, "error");
    // Only keep-alive comments.
    let evs = events(&run(ChatToResponsesStream::new(&req), &[b": ping\n\n"]));
    assert_eq!(evs[0].name, "error");
    // A finish_reason then silence is a whole answer.
    let body = sse(&[text, chunk(json!({}), json!("stop"))], false);
    let evs = events(&run(ChatToResponsesStream::new(&req), &[&body]));
    assert_eq!(evs.last().unwrap().name, "response.completed");
    // Nothing is emitted after the terminal event.
    let mut t = ChatToResponsesStream::new(&req);
    let mut out = crate::translate::StreamTranslator::push(&mut t, &sse(&[usage_chunk()], true));
    out.extend(crate::translate::StreamTranslator::push(&mut t, &body));
    out.extend(crate::translate::StreamTranslator::finish(&mut t));
    assert_eq!(
        names(&out).last().map(String::as_str),
        Some("response.failed")
    );
    assert_eq!(
        names(&out)
            .iter()
            .filter(|n| n.starts_with("response.failed"))
            .count(),
        1
    );
}

#[test]
fn usage_before_finish_and_calls_without_ids() {
    let req = request();
    let n = Value::Null;
    let body = sse(
        &[
            chunk(call(0, None, Some("a"), "{\"q\":"), n.clone()),
            chunk(call(0, None, None, "2}"), n),
            usage_chunk(),
            chunk(json!({}), json!("tool_calls")),
        ],
        false,
    );
    let out = run_rechunked(|| ChatToResponsesStream::new(&req), &body);
    let evs = events(&out);
    let last = &evs.last().unwrap().data["response"];
    assert_eq!(evs.last().unwrap().name, "response.completed");
    assert_eq!(last["usage"]["total_tokens"], 50);
    assert_eq!(last["output"][0]["call_id"], "call_xyz_0");
    assert_eq!(last["output"][0]["arguments"], "{\"q\":2}");
}

#[test]
fn content_filter_is_incomplete_with_its_reason() {
    let req = request();
    let body = sse(
        &[
            chunk(json!({"content": "Partial"}), Value::Null),
            chunk(json!({}), json!("content_filter")),
            usage_chunk(),
        ],
        true,
    );
    let evs = events(&run(ChatToResponsesStream::new(&req), &[&body]));
    let last = evs.last().unwrap();
    assert_eq!(last.name, "response.incomplete");
    assert_eq!(
        last.data["response"]["incomplete_details"]["reason"],
        "content_filter"
    );
    assert_eq!(last.data["response"]["output"][0]["status"], "incomplete");
    let item_done = evs
        .iter()
        .find(|e| e.name == "response.output_item.done")
        .unwrap();
    assert_eq!(item_done.data["item"]["status"], "incomplete");
}
