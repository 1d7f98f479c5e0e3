//! responses_to_chat: request in -> chat request out, and the 400s for what
//! only OpenAI's Responses backend can do.

use serde_json::{json, Value};

use super::support::fixture;
use crate::translate::responses::responses_to_chat;
use crate::translate::RequestCtx;

fn ctx(drop_params: bool) -> RequestCtx {
    RequestCtx {
        model: "claude-x".into(),
        client_model: "gpt-4o".into(),
        stream: false,
        include_usage: false,
        drop_params,
        default_max_tokens: 4096,
    }
}

fn tool_fixture() -> Value {
    json!({
        "type": "function", "name": "get_capital", "description": null, "strict": true,
        "parameters": {"additionalProperties": false, "properties": {"country": {"type": "string"}},
                       "required": ["country"], "type": "object"},
    })
}

fn chat_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_capital", "strict": true,
        "parameters": {"additionalProperties": false, "properties": {"country": {"type": "string"}},
                       "required": ["country"], "type": "object"},
    }})
}

#[test]
fn golden_requests() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "recorded basic request",
            fixture!("responses-basic")["request"]["body"].clone(),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "What is the capital of France?"}]}),
        ),
        (
            "recorded function_call + function_call_output turn",
            fixture!("responses-function-call-output")["request"]["body"].clone(),
            json!({"model": "claude-x", "messages": [
                {"role": "user", "content": "What is the capital of PotatoLand?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_YfwRsW8sUxDKipwyhWTzOXCA", "type": "function",
                    "function": {"name": "get_capital", "arguments": "{\"country\":\"PotatoLand\"}"}}]},
                {"role": "tool", "tool_call_id": "call_YfwRsW8sUxDKipwyhWTzOXCA", "content": "Potato City"},
            ], "tools": [chat_tool()], "tool_choice": "auto"}),
        ),
        (
            "recorded streaming request with reasoning effort, service tier, tool_choice required",
            fixture!("responses-stream-function-call")["request"]["body"].clone(),
            json!({"model": "claude-x",
                "messages": [{"role": "user", "content": "Calculate 100 * 200 / 3"}],
                "tools": [{"type": "function", "function": {"name": "final_result", "strict": true,
                    "description": "The final response which ends this conversation",
                    "parameters": {"additionalProperties": false, "properties": {"result": {"type": "integer"}},
                                   "required": ["result"], "type": "object"}}}],
                "tool_choice": "required", "reasoning_effort": "low", "service_tier": "flex",
                "stream": true, "stream_options": {"include_usage": true}}),
        ),
        (
            "string input and instructions",
            json!({"model": "gpt-4o", "instructions": "Be brief.", "input": "Hi"}),
            json!({"model": "claude-x", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}),
        ),
        (
            "content parts, images, developer and assistant messages",
            json!({"model": "m", "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules."}]},
                {"role": "user", "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                ]},
                {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "content": [
                    {"type": "output_text", "text": "A cat", "annotations": []},
                    {"type": "output_text", "text": ".", "annotations": []},
                ]},
                {"role": "system", "content": "Stay on topic."},
                {"role": "user", "content": [{"type": "input_text", "text": "Sure?"}]},
            ]}),
            json!({"model": "claude-x", "messages": [
                {"role": "system", "content": "Rules."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
                ]},
                {"role": "assistant", "content": "A cat."},
                {"role": "system", "content": "Stay on topic."},
                {"role": "user", "content": "Sure?"},
            ]}),
        ),
        (
            "text then parallel calls fold into one assistant turn; reasoning dropped",
            json!({"model": "m", "input": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "two calls"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
                {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": "{\"city\":\"Rome\"}", "id": "fc_2", "status": "completed"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}, {"type": "input_text", "text": "y"}]},
                {"type": "function_call", "call_id": "c3", "name": "weather", "arguments": "{}"},
            ]}),
            json!({"model": "claude-x", "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "c2", "content": "rainy"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c3", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
                ]},
            ]}),
        ),
        (
            "sampling, limits, reasoning, structured output, verbosity, user, stream",
            json!({"model": "m", "input": "x", "temperature": 0.2, "top_p": 0.9, "max_output_tokens": 300,
                   "reasoning": {"effort": "high", "summary": "auto"}, "user": "u1", "safety_identifier": "s1",
                   "text": {"verbosity": "low", "format": {"type": "json_schema", "name": "answer", "strict": true,
                            "description": null, "schema": {"type": "object", "properties": {}}}},
                   "stream": true, "store": false, "metadata": {"k": "v"}, "prompt_cache_key": "p",
                   "include": ["reasoning.encrypted_content"], "truncation": "disabled", "previous_response_id": null}),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}],
                   "temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "reasoning_effort": "high", "user": "u1",
                   "verbosity": "low",
                   "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
                                       "schema": {"type": "object", "properties": {}}}},
                   "stream": true, "stream_options": {"include_usage": true}}),
        ),
        (
            "json_object format; safety_identifier stands in for user; text format ignored",
            json!({"model": "m", "input": "x", "safety_identifier": "s1", "text": {"format": {"type": "json_object"}}, "stream": false}),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}], "user": "s1",
                   "response_format": {"type": "json_object"}}),
        ),
        (
            "tool_choice naming a function; parallel_tool_calls kept with tools",
            json!({"model": "m", "input": "x", "tools": [tool_fixture()], "parallel_tool_calls": false,
                   "tool_choice": {"type": "function", "name": "get_capital"}}),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}], "tools": [chat_tool()],
                   "parallel_tool_calls": false,
                   "tool_choice": {"type": "function", "function": {"name": "get_capital"}}}),
        ),
        (
            "allowed_tools narrows the tool list",
            json!({"model": "m", "input": "x",
                   "tools": [tool_fixture(), {"type": "function", "name": "other", "parameters": {"type": "object"}}],
                   "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_capital"}]}}),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}], "tools": [chat_tool()],
                   "tool_choice": "required"}),
        ),
        (
            "no tools: tool_choice and parallel_tool_calls are left out",
            json!({"model": "m", "input": "x", "tool_choice": "auto", "parallel_tool_calls": true, "tools": []}),
            json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}]}),
        ),
    ];
    for (name, req, want) in cases {
        let got = responses_to_chat(&req, &ctx(false)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn drop_params_drops_what_needs_openai() {
    let req = json!({"model": "m", "input": [
            {"role": "user", "content": "x"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        ],
        "tools": [{"type": "web_search"}, tool_fixture(), {"type": "mcp", "server_label": "s"}],
        "tool_choice": {"type": "web_search_preview"}, "store": true, "top_logprobs": 2,
        "truncation": "auto", "include": ["file_search_call.results", "message.output_text.logprobs"]});
    let got = responses_to_chat(&req, &ctx(true)).unwrap();
    let want = json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}], "tools": [chat_tool()]});
    assert_eq!(got, want);
    // Only built-in tools: nothing is left to offer.
    let req = json!({"model": "m", "input": "x", "tools": [{"type": "code_interpreter"}], "tool_choice": "required"});
    let got = responses_to_chat(&req, &ctx(true)).unwrap();
    assert_eq!(
        got,
        json!({"model": "claude-x", "messages": [{"role": "user", "content": "x"}]})
    );
}

#[test]
fn what_needs_openai_is_a_clear_400() {
    let base = |extra: Value| {
        let mut req = json!({"model": "m", "input": "x"});
        req.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        req
    };
    let input = |items: Value| json!({"model": "m", "input": items});
    let cases: Vec<(Value, bool, &str, &str)> = vec![
        (base(json!({"previous_response_id": "resp_1"})), true, "previous_response_id",
         "previous_response_id requires an openai/ deployment (stored state); send the full input instead"),
        (base(json!({"conversation": "conv_1"})), true, "conversation", "requires an openai/ deployment (stored state)"),
        (base(json!({"prompt": {"id": "pmpt_1"}})), true, "prompt", "stored prompt template"),
        (base(json!({"background": true})), true, "background", "requires an openai/ deployment"),
        (base(json!({"store": true})), false, "store", "drop_params"),
        (base(json!({"tools": [{"type": "web_search"}]})), false, "tools", "tools[0] is the built-in tool 'web_search', which requires an openai/ deployment"),
        (base(json!({"tools": [{"type": "file_search", "vector_store_ids": []}]})), false, "tools", "'file_search'"),
        (base(json!({"tools": [{"type": "image_generation"}]})), false, "tools", "'image_generation'"),
        (base(json!({"tool_choice": {"type": "file_search"}})), false, "tool_choice", "built-in tool"),
        (base(json!({"top_logprobs": 3})), false, "top_logprobs", "drop_params"),
        (base(json!({"truncation": "auto"})), false, "truncation", "drop_params"),
        (base(json!({"include": ["file_search_call.results"]})), false, "include", "file_search_call.results"),
        (fixture!("responses-stream-text")["request"]["body"].clone(), false, "include", "message.output_text.logprobs"),
        (input(json!([{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}])), true, "input", "file_id"),
        (input(json!([{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}])), true, "input", "file_data"),
        (input(json!([{"type": "item_reference", "id": "msg_1"}])), true, "input", "item_reference"),
        (input(json!([{"type": "computer_call", "call_id": "c"}])), false, "input", "'computer_call' item"),
        (input(json!([{"type": "teleport"}])), true, "input", "unsupported item type 'teleport'"),
        (input(json!([{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x"}]}])), true, "input", "only allowed in user messages"),
        (input(json!([{"role": "user", "content": [{"type": "input_video"}]}])), true, "input", "unsupported content part"),
        (input(json!([{"role": "user", "content": [{"type": "input_image"}]}])), true, "input", "needs 'image_url'"),
        (base(json!({"text": {"format": {"type": "json_schema", "name": "x"}}})), true, "text.format", "'schema'"),
        (base(json!({"text": {"format": {"type": "yaml"}}})), true, "text.format", "'json_schema'"),
        (json!({"model": "m"}), true, "input", "Missing required parameter"),
    ];
    for (req, drop, param, needle) in cases {
        let err = responses_to_chat(&req, &ctx(drop)).unwrap_err();
        assert_eq!(err.status, 400, "{req}");
        assert_eq!(err.param, Some(param), "{req}: {}", err.message);
        assert!(err.message.contains(needle), "{req}: {}", err.message);
        let body: Value = serde_json::from_slice(&err.openai_body()).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}
