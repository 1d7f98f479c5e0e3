//! OpenAI chunk SSE -> Anthropic Messages SSE, and Anthropic -> OpenAI -> Anthropic chains.

use serde_json::{json, Value};

use super::{assert_split_invariant, crlf, events, fixture, run, stream_body, stream_ctx};
use crate::providers::anthropic::{ChatToMessagesStream, MessagesToChatStream};
use crate::translate::{Chain, StreamTranslator};

fn make() -> ChatToMessagesStream {
    ChatToMessagesStream::new(&stream_ctx(true))
}

/// What an Anthropic client rebuilds; also checks the event grammar on the way.
#[derive(Debug, Default, PartialEq)]
struct Message {
    id: String,
    /// (type, text or partial JSON, signature) per content block.
    blocks: Vec<(String, String, String)>,
    tool_ids: Vec<(String, String)>,
    stop_reason: Option<String>,
    usage: Option<Value>,
    stopped: bool,
    error: Option<Value>,
}

fn assemble(out: &[u8]) -> Message {
    let mut m = Message::default();
    let mut open: Option<u64> = None;
    for (i, (name, v)) in events(out).into_iter().enumerate() {
        let name = name.expect("every Anthropic event is named");
        assert_eq!(v["type"], name.as_str(), "event name matches its type");
        assert!(
            !m.stopped && m.error.is_none(),
            "nothing after message_stop or error"
        );
        if name == "error" {
            m.error = Some(v["error"].clone());
            continue;
        }
        assert_eq!(
            i == 0,
            name == "message_start",
            "message_start comes first, once"
        );
        match name.as_str() {
            "message_start" => {
                m.id = v["message"]["id"].as_str().unwrap().to_string();
                assert_eq!(v["message"]["content"], json!([]));
            }
            "content_block_start" => {
                assert!(open.is_none(), "blocks do not overlap");
                let index = v["index"].as_u64().unwrap();
                assert_eq!(index as usize, m.blocks.len(), "indices count up from 0");
                open = Some(index);
                let b = &v["content_block"];
                let kind = b["type"].as_str().unwrap().to_string();
                if kind == "tool_use" {
                    let id = b["id"].as_str().unwrap().to_string();
                    m.tool_ids
                        .push((id, b["name"].as_str().unwrap().to_string()));
                }
                let initial = b["data"].as_str().unwrap_or_default().to_string();
                m.blocks.push((kind, initial, String::new()));
            }
            "content_block_delta" => {
                assert_eq!(v["index"].as_u64(), open, "deltas go to the open block");
                let d = &v["delta"];
                let b = m.blocks.last_mut().unwrap();
                match d["type"].as_str().unwrap() {
                    "text_delta" => b.1 += d["text"].as_str().unwrap(),
                    "thinking_delta" => b.1 += d["thinking"].as_str().unwrap(),
                    "input_json_delta" => b.1 += d["partial_json"].as_str().unwrap(),
                    "signature_delta" => b.2 += d["signature"].as_str().unwrap(),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(v["index"].as_u64(), open);
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none(), "blocks are closed before message_delta");
                m.stop_reason = v["delta"]["stop_reason"].as_str().map(str::to_string);
                m.usage = Some(v["usage"].clone());
            }
            "message_stop" => {
                assert!(
                    m.stop_reason.is_some(),
                    "message_delta precedes message_stop"
                );
                m.stopped = true;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    m
}

fn usage(input: u64, output: u64, read: u64, created: u64) -> Value {
    json!({"input_tokens": input, "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read, "output_tokens": output})
}

fn check_openai_stream(f: &Value) -> Message {
    let body = stream_body(f);
    let out = assert_split_invariant(body.as_bytes(), make, true);
    let crlf_body = crlf(&body);
    let crlf_out = assert_split_invariant(crlf_body.as_bytes(), make, false);
    assert!(crlf_out == out, "CRLF framing changed the output");
    assemble(&out)
}

#[test]
fn recorded_text_stream_without_usage() {
    let f = fixture!("openai/chat-completions-stream.json");
    let m = check_openai_stream(&f);
    let body = stream_body(&f);
    // The text straight from the recorded chunks.
    let want: String = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(want.starts_with("Hi"));
    assert_eq!(m.id, "msg_chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp");
    assert_eq!(m.blocks, vec![("text".to_string(), want, String::new())]);
    assert_eq!(m.stop_reason.as_deref(), Some("end_turn"));
    // No usage chunk upstream: message_delta still carries a valid usage object.
    assert_eq!(m.usage, Some(usage(0, 0, 0, 0)));
    assert!(m.stopped);
}

#[test]
fn recorded_tool_call_stream() {
    let m = check_openai_stream(&fixture!(
        "openai/chat-completions-stream-include-usage-tool-calls.json"
    ));
    assert_eq!(
        m.tool_ids,
        vec![("call_ZR5UUuTt3pf61kjwAJIYdVMj".into(), "get_capital".into())]
    );
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(m.blocks[0].1, "{\"country\":\"UK\"}");
    assert_eq!(m.stop_reason.as_deref(), Some("tool_use"));
    let u = m.usage.unwrap();
    assert!(u["input_tokens"].as_u64().unwrap() > 0 && u["output_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn recorded_usage_streams() {
    let m = check_openai_stream(&fixture!(
        "openai/chat-completions-stream-include-usage-reasoning.json"
    ));
    assert!(m.blocks.is_empty());
    assert_eq!(m.stop_reason.as_deref(), Some("max_tokens"));
    assert_eq!(m.usage, Some(usage(12, 100, 0, 0)));
    let f = fixture!("openai/chat-completions-stream-include-usage-text.json");
    let m = check_openai_stream(&f);
    let body = stream_body(&f);
    let last_usage = body.rfind("\"usage\":{").unwrap();
    let prompt: u64 = body[last_usage..]
        .split("\"prompt_tokens\":")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(m.usage.unwrap()["input_tokens"], prompt);
    assert_eq!(m.stop_reason.as_deref(), Some("end_turn"));
}

#[test]
fn truncation_and_errors() {
    let f = fixture!("openai/chat-completions-stream-include-usage-tool-calls.json");
    let body = stream_body(&f);
    let truncated =
        json!({"type": "api_error", "message": "upstream stream ended before completion"});
    let cut = body.find("\"finish_reason\":\"tool_calls\"").unwrap();
    let m = assemble(&run(&mut make(), &[&body.as_bytes()[..cut]]));
    assert_eq!((m.stopped, m.error), (false, Some(truncated.clone())));
    // finish_reason arrived, only [DONE] is missing: the message completes.
    let cut = body.rfind("data: [DONE]").unwrap();
    let m = assemble(&run(&mut make(), &[&body.as_bytes()[..cut]]));
    assert!(m.stopped && m.error.is_none());
    let m = assemble(&run(&mut make(), &[]));
    assert_eq!(m.error, Some(truncated));
    let err = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n\
data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n";
    let m = assemble(&run(&mut make(), &[err.as_bytes()]));
    assert_eq!(m.blocks[0].1, "a");
    assert_eq!(
        m.error,
        Some(json!({"type": "rate_limit_error", "message": "Rate limit reached"}))
    );
    let m = assemble(&run(&mut make(), &[b"data: {oops\n\n"]));
    assert_eq!(m.error.unwrap()["type"], "api_error");
}

#[test]
fn reasoning_thinking_blocks_and_parallel_calls() {
    let chunks = [
        json!({"id": "c1", "model": "m", "choices": [{"delta": {"role": "assistant", "content": ""}}]}),
        json!({"choices": [{"delta": {"reasoning_content": "let me ", "thinking_blocks": [{"type": "thinking", "thinking": "let me "}]}}]}),
        json!({"choices": [{"delta": {"reasoning": "think"}}]}),
        json!({"choices": [{"delta": {"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "c2ln"}]}}]}),
        json!({"choices": [{"delta": {"content": "Calling."}}]}),
        json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\""}}]}}]}),
        json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]}),
        json!({"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}]}}]}),
        json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "late"}}]}}]}),
        json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9,
            "prompt_tokens_details": {"cached_tokens": 40}}}),
    ];
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    let mut t = make();
    let m = assemble(&assert_split_invariant(body.as_bytes(), make, true));
    let s = String::new;
    assert_eq!(
        m.blocks,
        vec![
            ("thinking".into(), "let me think".into(), "c2ln".into()),
            ("text".into(), "Calling.".into(), s()),
            ("tool_use".into(), "{\"x\":1}".into(), s()),
            ("tool_use".into(), s(), s()),
        ]
    );
    assert_eq!(
        m.tool_ids,
        vec![("a".into(), "f".into()), ("b".into(), "g".into())]
    );
    assert_eq!(m.usage, Some(usage(10, 9, 40, 0)));
    run(&mut t, &[body.as_bytes()]);
    assert_eq!(t.usage().cached_tokens, 40);
}

/// Recorded Anthropic stream -> OpenAI chunks -> Anthropic events gives back the recording's
/// content, ids, stop reason and usage.
#[test]
fn recorded_anthropic_streams_survive_the_round_trip() {
    for f in [
        fixture!("anthropic/messages-stream-text.json"),
        fixture!("anthropic/messages-stream-tool-use.json"),
        fixture!("anthropic/messages-stream-parallel-tool-use-no-args.json"),
        fixture!("anthropic/messages-stream-thinking.json"),
        fixture!("anthropic/messages-stream-thinking-sonnet4.json"),
        fixture!("anthropic/messages-stream-stop-sequence.json"),
    ] {
        let body = stream_body(&f);
        let make_chain = || {
            let ctx = stream_ctx(true);
            Chain(
                MessagesToChatStream::new(&ctx).with_created(1),
                ChatToMessagesStream::new(&ctx),
            )
        };
        let direct = assemble_recorded(&body);
        let mut chain = make_chain();
        let out = assert_split_invariant(body.as_bytes(), make_chain, false);
        let m = assemble(&out);
        assert_eq!(m.blocks, direct.blocks, "{}", f["source"]);
        assert_eq!(m.tool_ids, direct.tool_ids);
        assert_eq!(m.stop_reason, direct.stop_reason);
        assert_eq!(m.usage, direct.usage);
        assert_eq!(m.id, direct.id);
        run(&mut chain, &[body.as_bytes()]);
        assert_eq!(
            chain.usage().completion_tokens,
            direct.usage.unwrap()["output_tokens"]
        );
    }
}

/// The recording read as an Anthropic client would, normalised the way the chain reports it
/// (no-argument tools as `{}`, stop_sequence as end_turn, full usage).
fn assemble_recorded(body: &str) -> Message {
    let mut m = assemble(
        body.replace("event: ping\ndata: {\"type\": \"ping\"}\n\n", "")
            .as_bytes(),
    );
    for b in &mut m.blocks {
        if b.0 == "tool_use" && b.1.is_empty() {
            b.1 = "{}".into();
        }
    }
    if m.stop_reason.as_deref() == Some("stop_sequence") {
        m.stop_reason = Some("end_turn".into());
    }
    let u = m.usage.take().unwrap();
    let start_usage: Value = events(body.as_bytes())
        .into_iter()
        .find(|(n, _)| n.as_deref() == Some("message_start"))
        .map(|(_, v)| v["message"]["usage"].clone())
        .unwrap();
    let n = |k: &str| u[k].as_u64().or(start_usage[k].as_u64()).unwrap_or(0);
    m.usage = Some(usage(
        n("input_tokens"),
        n("output_tokens"),
        n("cache_read_input_tokens"),
        n("cache_creation_input_tokens"),
    ));
    m
}

#[test]
fn whole_calls_with_a_repeated_index_stay_separate() {
    let call = |id: &str, args: &str| {
        json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": id, "type": "function",
            "function": {"name": "f", "arguments": args}}]}}]})
    };
    let mut body: String = [call("a", "{\"n\":1}"), call("b", "{\"n\":2}")]
        .iter()
        .map(|c| format!("data: {c}\n\n"))
        .collect();
    body.push_str(
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n",
    );
    let m = assemble(&run(&mut make(), &[body.as_bytes()]));
    assert_eq!(
        m.tool_ids,
        vec![("a".into(), "f".into()), ("b".into(), "f".into())]
    );
    let inputs: Vec<&str> = m.blocks.iter().map(|b| b.1.as_str()).collect();
    assert_eq!(inputs, vec!["{\"n\":1}", "{\"n\":2}"]);
}
