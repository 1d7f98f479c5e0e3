//! Gemini clients served by OpenAI-format deployments: request, response, stream.

use serde_json::{json, Value};

use super::support::{
    check_random_chunks, check_rechunking, ctx, events, fixture, gemini_events, recorded_text, run,
    stream_body,
};
use crate::providers::gemini::{
    chat_to_gemini_response, gemini_to_chat_request, ChatToGeminiStream, GeminiToChatStream,
};
use crate::translate::{Chain, StreamTranslator};

fn to_chat(req: &Value, stream: bool) -> Value {
    gemini_to_chat_request(req, &ctx("gpt-4o-mini", stream, stream)).unwrap()
}

#[test]
fn recorded_text_request() {
    let fx = fixture!("gemini/generate-content-text.json");
    assert_eq!(
        to_chat(&fx["request"]["body"], false),
        json!({"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "You are a chatbot."},
            {"role": "user", "content": "Hello!"}]})
    );
}

#[test]
fn recorded_function_history_request() {
    let fx = fixture!("gemini/generate-content-function-response.json");
    let id = "pyd_ai_3fa5644dae1d4aad997ae39c70006fbd";
    let out = to_chat(&fx["request"]["body"], false);
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "What is the largest city in the user country?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function",
                "function": {"name": "get_user_country", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "{\"return_value\":\"Mexico\"}"},
        ])
    );
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(
        out["tools"][1],
        json!({"type": "function", "function": {"name": "final_result",
            "description": "The final response which ends this conversation",
            "parameters": {"type": "object", "required": ["city", "country"],
                "properties": {"city": {"type": "string"}, "country": {"type": "string"}}}}})
    );
}

#[test]
fn recorded_stream_requests() {
    let fx = fixture!("gemini/stream-thinking.json");
    let out = to_chat(&fx["request"]["body"], true);
    assert_eq!(out["stream"], true);
    assert_eq!(out["stream_options"], json!({"include_usage": true}));
    assert!(
        out.get("reasoning_effort").is_none(),
        "includeThoughts alone sets no effort"
    );
    assert_eq!(
        out["messages"][0],
        json!({"role": "system", "content": "You are a helpful assistant."})
    );
    let fx = fixture!("gemini/stream-generate-content-json-array.json");
    let out = to_chat(&fx["request"]["body"], true);
    assert!(out.get("safetySettings").is_none());
    let fx = fixture!("gemini/generate-content-function-call.json");
    let out = to_chat(&fx["request"]["body"], false);
    let decl = &fx["request"]["body"]["tools"][0]["functionDeclarations"][0];
    assert_eq!(
        out["tools"][0]["function"]["parameters"],
        decl["parameters_json_schema"]
    );
    assert_eq!(out["temperature"], 0.0);
}

#[test]
fn builtin_tools_are_refused_or_dropped() {
    let fx = fixture!("gemini/generate-content-google-search.json");
    let body = &fx["request"]["body"];
    let err = gemini_to_chat_request(body, &ctx("gpt-4o", false, false)).unwrap_err();
    assert_eq!((err.status, err.param), (400, Some("tools")));
    let mut c = ctx("gpt-4o", false, false);
    c.drop_params = true;
    assert!(gemini_to_chat_request(body, &c)
        .unwrap()
        .get("tools")
        .is_none());
}

#[test]
fn id_less_calls_pair_with_responses_by_name_and_order() {
    let req = json!({"contents": [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"text": "thinking", "thought": true},
            {"functionCall": {"name": "w", "args": {"c": "A"}}},
            {"functionCall": {"name": "w", "args": {"c": "B"}}},
            {"functionCall": {"name": "t", "args": {}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "t", "response": {"content": "noon"}}},
            {"functionResponse": {"name": "w", "response": {"temp": 1}}},
            {"functionResponse": {"name": "w", "response": {"temp": 2}}},
            {"text": "and?"},
            {"inlineData": {"mimeType": "image/png", "data": "AAA="}}]},
    ], "generationConfig": {"maxOutputTokens": 50, "stopSequences": ["x"], "temperature": 1,
        "thinkingConfig": {"thinkingBudget": 5000}, "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}},
            "propertyOrdering": ["a"]}},
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["w"]}}});
    let out = to_chat(&req, false);
    let m = &out["messages"];
    assert_eq!(m[1]["tool_calls"][0]["id"], "call_0");
    assert_eq!(
        m[1]["tool_calls"][1]["function"]["arguments"],
        "{\"c\":\"B\"}"
    );
    assert_eq!(m[1]["content"], Value::Null);
    assert_eq!(
        m[2],
        json!({"role": "tool", "tool_call_id": "call_2", "content": "noon"})
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "tool_call_id": "call_0", "content": "{\"temp\":1}"})
    );
    assert_eq!(
        m[4],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":2}"})
    );
    assert_eq!(
        m[5],
        json!({"role": "user", "content": [{"type": "text", "text": "and?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]})
    );
    assert_eq!(out["max_completion_tokens"], 50);
    assert_eq!(out["stop"], json!(["x"]));
    assert_eq!(out["reasoning_effort"], "medium");
    assert_eq!(
        out["tool_choice"],
        json!({"type": "function", "function": {"name": "w"}})
    );
    assert_eq!(
        out["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response",
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})
    );
}

#[test]
fn unknown_and_unsupported_fields() {
    let base = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {"topK": 3}});
    let err = gemini_to_chat_request(&base, &ctx("m", false, false)).unwrap_err();
    assert_eq!(err.param, Some("topK"));
    let no_contents = json!({"generationConfig": {}});
    assert_eq!(
        gemini_to_chat_request(&no_contents, &ctx("m", false, false))
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn openai_responses_become_gemini_responses() {
    let fx = fixture!("openai/chat-completions-basic.json");
    let resp = &fx["response"]["body"];
    let out = chat_to_gemini_response(resp).unwrap();
    assert_eq!(
        out,
        json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": resp["choices"][0]["message"]["content"]}]},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 57,
                "totalTokenCount": 385, "thoughtsTokenCount": 320},
            "modelVersion": "gpt-5-nano-2025-08-07",
            "responseId": "chatcmpl-C4Gm9xikLXbgE8He0BHWeoM03aa72",
        })
    );
    let fx = fixture!("openai/chat-completions-tools.json");
    let out = chat_to_gemini_response(&fx["response"]["body"]).unwrap();
    assert_eq!(
        out["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"id": "call_8fxy20OEu9ulvvaa5b5CzVA4", "name": "get_current_weather",
            "args": {"location": "Boston, MA", "unit": "fahrenheit"}}}])
    );
    assert_eq!(out["usageMetadata"]["totalTokenCount"], 449);
    assert!(chat_to_gemini_response(&json!({"error": {}})).is_err());
}

/// Gemini events put back together: (text, thoughts, calls, finish, usage).
fn assemble_gemini(
    out: &[u8],
) -> (
    String,
    String,
    Vec<Value>,
    Option<String>,
    Option<Value>,
    Option<Value>,
) {
    let (mut text, mut thoughts, mut calls) = (String::new(), String::new(), Vec::new());
    let (mut finish, mut usage, mut error) = (None, None, None);
    for ev in events(out) {
        assert!(finish.is_none(), "event after the finishing one");
        if let Some(e) = ev.get("error") {
            error = Some(e.clone());
            continue;
        }
        let cand = &ev["candidates"][0];
        for p in cand["content"]["parts"].as_array().into_iter().flatten() {
            if let Some(fc) = p.get("functionCall") {
                calls.push(fc.clone());
            } else if p["thought"] == true {
                thoughts.push_str(p["text"].as_str().unwrap());
            } else {
                text.push_str(p["text"].as_str().unwrap());
            }
        }
        if let Some(u) = ev.get("usageMetadata") {
            usage = Some(u.clone());
        }
        finish = cand["finishReason"].as_str().map(str::to_string);
    }
    (text, thoughts, calls, finish, usage, error)
}

fn openai_text(body: &str) -> String {
    events(body.as_bytes())
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn openai_streams_become_gemini_streams() {
    let cases = [
        (
            fixture!("openai/chat-completions-stream.json"),
            "STOP",
            None,
        ),
        (
            fixture!("openai/chat-completions-stream-include-usage-text.json"),
            "STOP",
            Some((78, 9, 87)),
        ),
        (
            fixture!("openai/chat-completions-stream-include-usage-reasoning.json"),
            "MAX_TOKENS",
            Some((12, 0, 112)),
        ),
    ];
    for (fx, finish, usage) in cases {
        let body = stream_body(&fx);
        let out = if body.len() > 5000 {
            check_random_chunks(body.as_bytes(), ChatToGeminiStream::new)
        } else {
            check_rechunking(body.as_bytes(), ChatToGeminiStream::new)
        };
        let (text, _, calls, got_finish, meta, error) = assemble_gemini(&out);
        assert!(error.is_none() && calls.is_empty());
        assert_eq!(text, openai_text(&body));
        assert_eq!(got_finish.as_deref(), Some(finish));
        let meta = meta.unwrap();
        if let Some((p, c, t)) = usage {
            assert_eq!(meta["promptTokenCount"], p);
            assert_eq!(meta["candidatesTokenCount"], c);
            assert_eq!(meta["totalTokenCount"], t);
        }
    }
}

#[test]
fn openai_tool_call_stream_sends_whole_function_calls() {
    let fx = fixture!("openai/chat-completions-stream-include-usage-tool-calls.json");
    let body = stream_body(&fx);
    let out = check_rechunking(body.as_bytes(), ChatToGeminiStream::new);
    let (_, _, calls, finish, meta, _) = assemble_gemini(&out);
    let args: String = events(body.as_bytes())
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    let args: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(
        calls,
        vec![json!({"id": "call_ZR5UUuTt3pf61kjwAJIYdVMj", "name": "get_capital", "args": args})]
    );
    assert_eq!(finish.as_deref(), Some("STOP"));
    assert_eq!(meta.unwrap()["totalTokenCount"], 68);
}

#[test]
fn truncated_openai_stream_gives_a_gemini_error_event() {
    let fx = fixture!("openai/chat-completions-stream-include-usage-text.json");
    let body = stream_body(&fx);
    let cut = body.find("\"finish_reason\":\"stop\"").unwrap();
    let out = run(ChatToGeminiStream::new(), &[&body.as_bytes()[..cut]]);
    let (text, _, _, finish, _, error) = assemble_gemini(&out);
    assert!(!text.is_empty() && finish.is_none());
    let error = error.unwrap();
    assert_eq!(error["status"], "INTERNAL");
    assert_eq!(error["code"], 502);
}

#[test]
fn gemini_round_trip_through_the_pivot() {
    let fx = fixture!("gemini/stream-generate-content-json-array.json");
    let body = stream_body(&fx);
    let make = || {
        Chain(
            GeminiToChatStream::new(ctx("m", true, true)),
            ChatToGeminiStream::new(),
        )
    };
    let out = check_rechunking(body.as_bytes(), make);
    let (text, thoughts, _, finish, meta, error) = assemble_gemini(&out);
    assert!(error.is_none());
    assert_eq!(text, recorded_text(&body, false));
    assert_eq!(thoughts, recorded_text(&body, true));
    assert_eq!(finish.as_deref(), Some("STOP"));
    let last = gemini_events(&body).pop().unwrap();
    let want = &last["usageMetadata"];
    let meta = meta.unwrap();
    for key in [
        "promptTokenCount",
        "candidatesTokenCount",
        "thoughtsTokenCount",
        "totalTokenCount",
    ] {
        assert_eq!(meta[key], want[key], "{key}");
    }
    let mut t = make();
    t.push(body.as_bytes());
    t.finish();
    assert_eq!(t.usage().total(), 304);
}
