//! Anthropic Messages SSE -> OpenAI chat chunks, on every recorded stream.

use serde_json::{json, Value};

use super::{assert_split_invariant, crlf, events, fixture, run, stream_body, stream_ctx};
use crate::providers::anthropic::MessagesToChatStream;
use crate::translate::StreamTranslator;

fn make(include_usage: bool) -> impl Fn() -> MessagesToChatStream {
    move || MessagesToChatStream::new(&stream_ctx(include_usage)).with_created(1_700_000_000)
}

/// What a client rebuilds from the chunks.
#[derive(Debug, Default, PartialEq)]
struct Assembled {
    content: String,
    reasoning: String,
    signatures: Vec<String>,
    /// (id, name, arguments) per tool_calls index.
    calls: Vec<(String, String, String)>,
    finish: Option<String>,
    usage: Option<Value>,
    done: bool,
    error: Option<Value>,
}

fn assemble(out: &[u8]) -> Assembled {
    let mut a = Assembled::default();
    let evs = events(out);
    let first = evs.first().map(|(_, v)| v.clone()).unwrap_or(Value::Null);
    for (i, (name, v)) in evs.iter().enumerate() {
        assert!(name.is_none(), "OpenAI chunks carry no event: line");
        assert!(!a.done, "nothing may follow [DONE]");
        assert!(a.error.is_none(), "nothing may follow an error");
        if *v == json!("[DONE]") {
            assert_eq!(i, evs.len() - 1);
            a.done = true;
            continue;
        }
        if let Some(e) = v.get("error") {
            a.error = Some(e.clone());
            continue;
        }
        for key in ["id", "created", "model"] {
            assert_eq!(v[key], first[key], "every chunk has the same {key}");
        }
        assert_eq!(v["object"], "chat.completion.chunk");
        if let Some(u) = v.get("usage") {
            assert_eq!(v["choices"], json!([]));
            a.usage = Some(u.clone());
            continue;
        }
        let choice = &v["choices"][0];
        let d = &choice["delta"];
        a.content += d["content"].as_str().unwrap_or_default();
        a.reasoning += d["reasoning_content"].as_str().unwrap_or_default();
        for b in d["thinking_blocks"].as_array().into_iter().flatten() {
            if let Some(s) = b["signature"].as_str() {
                a.signatures.push(s.to_string());
            }
        }
        for tc in d["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap() as usize;
            if i == a.calls.len() {
                let id = tc["id"].as_str().expect("first fragment has the id");
                let name = tc["function"]["name"].as_str().expect("and the name");
                a.calls.push((id.into(), name.into(), String::new()));
            }
            a.calls[i].2 += tc["function"]["arguments"].as_str().unwrap_or_default();
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            assert!(a.finish.is_none(), "one finish_reason");
            a.finish = Some(f.to_string());
        }
    }
    a
}

/// The same facts read straight from the recorded events, without the translator.
fn expected(body: &str, include_usage: bool) -> Assembled {
    let mut a = Assembled {
        done: true,
        ..Assembled::default()
    };
    let (mut input, mut read, mut created, mut output) = (0, 0, 0, 0);
    let mut tool_blocks = Vec::new();
    for ev in body.split("\n\n") {
        let Some(data) = ev.lines().find_map(|l| l.strip_prefix("data: ")) else {
            continue;
        };
        let v: Value = serde_json::from_str(data).unwrap();
        let u = v.get("usage").or_else(|| v.pointer("/message/usage"));
        if let Some(u) = u {
            let n = |k: &str, old: u64| u[k].as_u64().unwrap_or(old);
            (input, read, created, output) = (
                n("input_tokens", input),
                n("cache_read_input_tokens", read),
                n("cache_creation_input_tokens", created),
                n("output_tokens", output),
            );
        }
        let d = &v["delta"];
        match v["type"].as_str().unwrap() {
            "content_block_start" if v["content_block"]["type"] == "tool_use" => {
                tool_blocks.push(v["index"].clone());
                let cb = &v["content_block"];
                a.calls.push((
                    cb["id"].as_str().unwrap().into(),
                    cb["name"].as_str().unwrap().into(),
                    String::new(),
                ));
            }
            "content_block_delta" => match d["type"].as_str().unwrap() {
                "text_delta" => a.content += d["text"].as_str().unwrap(),
                "thinking_delta" => a.reasoning += d["thinking"].as_str().unwrap(),
                "signature_delta" => a.signatures.push(d["signature"].as_str().unwrap().into()),
                "input_json_delta" => {
                    let i = tool_blocks.iter().position(|b| *b == v["index"]).unwrap();
                    a.calls[i].2 += d["partial_json"].as_str().unwrap();
                }
                other => panic!("unexpected delta {other}"),
            },
            "message_delta" => {
                let f = match d["stop_reason"].as_str().unwrap() {
                    "tool_use" => "tool_calls",
                    "max_tokens" => "length",
                    _ => "stop",
                };
                a.finish = Some(f.into());
            }
            _ => {}
        }
    }
    for call in &mut a.calls {
        if call.2.is_empty() {
            call.2 = "{}".into();
        }
    }
    if include_usage {
        let prompt = input + read + created;
        a.usage = Some(json!({
            "prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": read, "cache_creation_tokens": created},
            "completion_tokens_details": {"reasoning_tokens": 0},
            "cache_creation_input_tokens": created, "cache_read_input_tokens": read,
        }));
    }
    a
}

fn recorded_streams() -> Vec<(&'static str, Value)> {
    vec![
        ("text", fixture!("anthropic/messages-stream-text.json")),
        (
            "multiturn",
            fixture!("anthropic/messages-stream-multiturn.json"),
        ),
        (
            "stop-sequence",
            fixture!("anthropic/messages-stream-stop-sequence.json"),
        ),
        (
            "tool-use",
            fixture!("anthropic/messages-stream-tool-use.json"),
        ),
        (
            "parallel-no-args",
            fixture!("anthropic/messages-stream-parallel-tool-use-no-args.json"),
        ),
        (
            "tool-result",
            fixture!("anthropic/messages-stream-tool-result.json"),
        ),
        (
            "thinking",
            fixture!("anthropic/messages-stream-thinking.json"),
        ),
        (
            "thinking-sonnet4",
            fixture!("anthropic/messages-stream-thinking-sonnet4.json"),
        ),
    ]
}

/// Every split point and random splits give the unsplit translation, and what a client
/// reassembles matches the recorded events.
fn check_recorded(f: &Value) {
    let body = stream_body(f);
    let out = assert_split_invariant(body.as_bytes(), make(true), true);
    assert_eq!(assemble(&out), expected(&body, true));
    let plain = assert_split_invariant(body.as_bytes(), make(false), false);
    assert_eq!(assemble(&plain), expected(&body, false));
}

/// The same with CRLF line endings: the output is byte for byte the LF one, also when the
/// input arrives in random pieces (one round splits between every byte, CR|LF included).
fn check_recorded_crlf(f: &Value) {
    let body = stream_body(f);
    let lf_out = run(&mut make(true)(), &[body.as_bytes()]);
    let crlf_body = crlf(&body);
    let out = assert_split_invariant(crlf_body.as_bytes(), make(true), false);
    assert!(out == lf_out, "CRLF framing changed the output");
}

/// Two tests per recording (LF, CRLF), so they run in parallel.
macro_rules! recorded_stream_tests {
    ($($name:ident => $file:literal,)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn lf() {
                check_recorded(&fixture!($file));
            }

            #[test]
            fn crlf() {
                check_recorded_crlf(&fixture!($file));
            }
        }
    )*};
}

recorded_stream_tests! {
    rechunk_text => "anthropic/messages-stream-text.json",
    rechunk_multiturn => "anthropic/messages-stream-multiturn.json",
    rechunk_stop_sequence => "anthropic/messages-stream-stop-sequence.json",
    rechunk_tool_use => "anthropic/messages-stream-tool-use.json",
    rechunk_parallel_tool_use_no_args => "anthropic/messages-stream-parallel-tool-use-no-args.json",
    rechunk_tool_result => "anthropic/messages-stream-tool-result.json",
    rechunk_thinking => "anthropic/messages-stream-thinking.json",
    rechunk_thinking_sonnet4 => "anthropic/messages-stream-thinking-sonnet4.json",
}

#[test]
fn recorded_streams_spot_values() {
    let by_name: Vec<(&str, Assembled)> = recorded_streams()
        .into_iter()
        .map(|(n, f)| {
            let out = run(&mut make(true)(), &[stream_body(&f).as_bytes()]);
            (n, assemble(&out))
        })
        .collect();
    let get = |n: &str| &by_name.iter().find(|(k, _)| *k == n).unwrap().1;
    let text = get("text");
    assert_eq!(text.content, "Hello");
    assert_eq!(text.finish.as_deref(), Some("stop"));
    let u = text.usage.as_ref().unwrap();
    assert_eq!(
        (u["prompt_tokens"].as_u64(), u["completion_tokens"].as_u64()),
        (Some(10), Some(4))
    );
    let tool = get("tool-use");
    assert_eq!(tool.content, "");
    assert_eq!(tool.finish.as_deref(), Some("tool_calls"));
    assert_eq!(
        tool.calls,
        vec![(
            "toolu_01BEUcgSZ295kTDkxpovXdpA".to_string(),
            "output_structured_data".to_string(),
            "{\"name\": \"Buddy\", \"age\": 3, \"bio\": \"Buddy is a loyal and energetic Golden Retriever who loves long walks.\"}".to_string(),
        )]
    );
    assert_eq!(tool.usage.as_ref().unwrap()["completion_tokens"], 140);
    let no_args = get("parallel-no-args");
    let ids: Vec<(&str, &str)> = no_args
        .calls
        .iter()
        .map(|c| (c.0.as_str(), c.2.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("toolu_01LtHJmixrs9NcWQkK8hu8hj", "{}"),
            ("toolu_01N8a4jWyf116qKTMqKKmjyt", "{}")
        ]
    );
    let thinking = get("thinking");
    assert!(thinking
        .reasoning
        .starts_with("The user wants two names for a pet pelican"));
    assert!(thinking
        .reasoning
        .ends_with("Let me give two brief, catchy names:"));
    assert_eq!(thinking.signatures.len(), 1);
    assert!(thinking.signatures[0].starts_with("EuYDCmMIDBgCKkC05Zda4P"));
    assert!(thinking.content.starts_with("1. **Pouch**"));
    assert_eq!(
        get("thinking-sonnet4").usage.as_ref().unwrap()["completion_tokens"],
        282
    );
    assert!(get("tool-result").content.ends_with("feathered friend! 🦅"));
}

#[test]
fn first_and_last_chunks() {
    let f = fixture!("anthropic/messages-stream-text.json");
    let out = run(&mut make(true)(), &[stream_body(&f).as_bytes()]);
    let text = String::from_utf8(out).unwrap();
    let first = text.split("\n\n").next().unwrap();
    assert_eq!(
        first,
        "data: {\"id\":\"msg_01T8kTq7cYyYJeQ5DxcVUc6D\",\"object\":\"chat.completion.chunk\",\
\"created\":1700000000,\"model\":\"claude-haiku-4-5-20251001\",\"choices\":[{\"index\":0,\
\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}"
    );
    assert!(text.ends_with("\n\ndata: [DONE]\n\n"));
    let evs = events(text.as_bytes());
    let usage_chunk = &evs[evs.len() - 2].1;
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["total_tokens"], 14);
}

#[test]
fn truncated_streams_end_with_an_error_chunk_and_no_done() {
    let err = json!({"message": "upstream stream ended before completion", "type": "upstream_error",
        "param": null, "code": null});
    for (name, f) in recorded_streams() {
        let body = stream_body(&f);
        let cut = body.rfind("event: message_stop").unwrap();
        let a = assemble(&run(&mut make(true)(), &[&body.as_bytes()[..cut]]));
        assert_eq!((a.done, a.error.as_ref()), (false, Some(&err)), "{name}");
        assert!(a.usage.is_none());
    }
    // Any cut point: either the terminal event made it (and [DONE] follows) or an error ends it.
    let f = fixture!("anthropic/messages-stream-tool-use.json");
    let body = stream_body(&f);
    let stop_json_end = body.rfind('}').unwrap();
    for cut in 0..body.len() {
        let a = assemble(&run(&mut make(false)(), &[&body.as_bytes()[..cut]]));
        let complete = cut > stop_json_end;
        assert_eq!(a.done, complete, "cut at {cut}");
        assert_eq!(a.error.is_some(), !complete, "cut at {cut}");
    }
}

const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";

#[test]
fn error_event_becomes_an_openai_error_chunk() {
    let body = format!(
        "{START}event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"Hel\"}}}}\n\n\
event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"lo\"}}}}\n\n"
    );
    let out = assert_split_invariant(body.as_bytes(), make(true), true);
    let a = assemble(&out);
    assert_eq!(a.content, "Hel");
    assert!(!a.done);
    assert_eq!(
        a.error,
        Some(
            json!({"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded"})
        )
    );
    let mut t = make(true)();
    t.push(body.as_bytes());
    assert!(t.push(b"event: message_stop\ndata: {}\n\n").is_empty());
    assert!(t.finish().is_empty());
    let a = assemble(&run(&mut make(false)(), &[b"data: {not json\n\n"]));
    assert_eq!(a.error.unwrap()["type"], "upstream_error");
}

#[test]
fn structured_answer_streams_as_content() {
    let body = format!(
        "{START}event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"answer_as_capital\",\"input\":{{}}}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{{\\\"city\\\": \"}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}}\"}}}}\n\n\
event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"tool_use\"}},\"usage\":{{\"output_tokens\":9}}}}\n\n\
event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    );
    let mut t = make(true)();
    let a = assemble(&run(&mut t, &[body.as_bytes()]));
    assert_eq!(a.content, "{\"city\": \"Paris\"}");
    assert!(a.calls.is_empty());
    assert_eq!(a.finish.as_deref(), Some("stop"));
    assert_eq!(a.usage.unwrap()["completion_tokens"], 9);
    let u = t.usage();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (3, 9));
}

#[test]
fn message_stop_without_message_delta_still_finishes() {
    let body = format!("{START}event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n");
    let a = assemble(&run(&mut make(false)(), &[body.as_bytes()]));
    assert_eq!((a.finish.as_deref(), a.done), (Some("stop"), true));
}
