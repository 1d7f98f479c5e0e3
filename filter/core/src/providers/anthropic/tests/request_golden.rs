//! Golden: each recorded Anthropic request, produced from the OpenAI request a client
//! would send for it.

use serde_json::{json, Value};

use super::{ctx, fixture, msg, without};
use crate::providers::anthropic::chat_to_messages;

fn translate(req: Value) -> Value {
    chat_to_messages(&req, &ctx()).expect("translates")
}

/// The recorded Anthropic request body as we would send it: our model id, and without the
/// `"stream": false` the recording clients sent explicitly.
fn recorded(fixture: &Value) -> Value {
    let mut body = fixture["request"]["body"].clone();
    body["model"] = json!("claude-test-model");
    if body["stream"] == json!(false) {
        body = without(body, &["stream"]);
    }
    body
}

fn fixture_tools(fixture: &Value) -> Value {
    let tools = fixture["request"]["body"]["tools"].as_array().unwrap();
    let openai: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({"type": "function", "function": {
                "name": t["name"], "description": t["description"], "parameters": t["input_schema"],
            }})
        })
        .collect();
    Value::Array(openai)
}

/// Each recorded Anthropic request, written as the OpenAI request a client would send for it.
#[test]
fn recorded_requests_from_their_openai_equivalents() {
    let text = fixture!("anthropic/messages-text.json");
    let tool_use = fixture!("anthropic/messages-tool-use.json");
    let tool_result = fixture!("anthropic/messages-tool-result.json");
    let system = tool_use["request"]["body"]["system"].clone();
    let first_user = "Alice, Bob, Charlie and Daisy are a family. Who is the youngest?";
    let calls: Vec<Value> = ["Alice", "Bob", "Charlie", "Daisy"]
        .iter()
        .zip(["toolu_0167cfEnoQaPviGdVXA95zcu", "toolu_01EEe2V5HD1Ac4rKiUR4HD2T",
              "toolu_01XFyAjstT3966qvRynZyVPo", "toolu_013mnQZbgtK2oe3Mo3XKJsx3"])
        .map(|(n, id)| json!({"id": id, "type": "function",
            "function": {"name": "retrieve_entity_info", "arguments": format!("{{\"name\": \"{n}\"}}")}}))
        .collect();
    let results = tool_result["request"]["body"]["messages"][2]["content"].clone();
    let mut tool_msgs: Vec<Value> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"role": "tool", "tool_call_id": r["tool_use_id"], "content": r["content"]}))
        .collect();
    let mut with_results = vec![
        json!({"role": "system", "content": system}),
        msg("user", first_user),
        json!({"role": "assistant", "content": tool_result["request"]["body"]["messages"][1]["content"][0]["text"], "tool_calls": calls}),
    ];
    with_results.append(&mut tool_msgs);
    let mut expected_results = recorded(&tool_result);
    for r in expected_results["messages"][2]["content"]
        .as_array_mut()
        .unwrap()
    {
        // OpenAI tool messages have no error flag; false is Anthropic's default.
        *r = without(r.clone(), &["is_error"]);
    }

    let thinking_tools = fixture!("anthropic/messages-thinking-tool-use.json");
    let stream_tool_result = fixture!("anthropic/messages-stream-tool-result.json");
    let pelican_calls = json!([
        {"id": "toolu_01LtHJmixrs9NcWQkK8hu8hj", "type": "function", "function": {"name": "pelican_name_generator", "arguments": "{}"}},
        {"id": "toolu_01N8a4jWyf116qKTMqKKmjyt", "type": "function", "function": {"name": "pelican_name_generator", "arguments": ""}},
    ]);
    let forced = fixture!("anthropic/messages-stream-tool-use.json");
    let mut forced_expected = recorded(&forced);
    forced_expected["messages"][0]["content"] =
        json!([{"type": "text", "text": "Invent a good dog"}]);
    let mut forced_tools = fixture_tools(&forced);
    forced_tools[0]["function"] = without(forced_tools[0]["function"].clone(), &["description"]);

    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "text with system",
            json!({"model": "smart", "max_tokens": 4096, "messages": [
            msg("system", "You are a helpful assistant.\n\n"), msg("user", "What is the capital of France?")]}),
            recorded(&text),
        ),
        (
            "tools, tool_choice auto",
            json!({"model": "smart", "max_tokens": 4096, "tool_choice": "auto",
            "tools": fixture_tools(&tool_use),
            "messages": [{"role": "system", "content": system}, msg("user", first_user)]}),
            recorded(&tool_use),
        ),
        (
            "tool calls and tool results",
            json!({"model": "smart", "max_tokens": 4096, "tool_choice": "auto",
            "tools": fixture_tools(&tool_result), "messages": with_results}),
            expected_results,
        ),
        (
            "reasoning_effort low",
            json!({"model": "smart", "reasoning_effort": "low",
            "messages": [msg("user", "How do I cross the street?")]}),
            recorded(&fixture!("anthropic/messages-thinking.json")),
        ),
        (
            "explicit thinking, tool without parameters",
            json!({"model": "smart", "max_tokens": 4096,
            "thinking": {"type": "enabled", "budget_tokens": 3000}, "tool_choice": "auto",
            "tools": [{"type": "function", "function": {"name": "get_user_country", "description": "",
                "parameters": {"additionalProperties": false, "properties": {}, "type": "object"}}}],
            "messages": [msg("user", "What is the largest city in the user country?")]}),
            recorded(&thinking_tools),
        ),
        (
            "stream, temperature",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0, "stream": true,
            "stream_options": {"include_usage": true}, "messages": [msg("user", "Say just hello")]}),
            recorded(&fixture!("anthropic/messages-stream-text.json")),
        ),
        (
            "multi-turn",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0, "stream": true,
            "messages": [msg("user", "Two names for a pet pelican, be brief"),
                         msg("assistant", "- Captain\n- Scoop"), msg("user", "in french")]}),
            recorded(&fixture!("anthropic/messages-stream-multiturn.json")),
        ),
        (
            "prefill and a stop string",
            json!({"model": "smart", "max_completion_tokens": 8192, "temperature": 1.0,
            "stream": true, "stop": "```",
            "messages": [msg("user", "Very short function describing a pelican"), msg("assistant", "```python")]}),
            recorded(&fixture!("anthropic/messages-stream-stop-sequence.json")),
        ),
        (
            "thinking via reasoning_effort, streamed",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0,
            "stream": true, "reasoning_effort": "low",
            "messages": [msg("user", "Two names for a pet pelican, be brief")]}),
            recorded(&fixture!("anthropic/messages-stream-thinking.json")),
        ),
        (
            "tool without parameters",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0, "stream": true,
            "tools": [{"type": "function", "function": {"name": "pelican_name_generator", "description": "",
                "parameters": {"properties": {}, "type": "object"}}}],
            "messages": [msg("user", "Two names for a pet pelican")]}),
            recorded(&fixture!(
                "anthropic/messages-stream-parallel-tool-use-no-args.json"
            )),
        ),
        (
            "tool results in a stream request",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0,
            "stream": true, "tools": fixture_tools(&stream_tool_result), "messages": [
                msg("user", "Two names for a pet pelican"),
                {"role": "assistant", "content": " ", "tool_calls": pelican_calls},
                {"role": "tool", "tool_call_id": "toolu_01LtHJmixrs9NcWQkK8hu8hj", "content": "Charles"},
                {"role": "tool", "tool_call_id": "toolu_01N8a4jWyf116qKTMqKKmjyt", "content": "Sammy"}]}),
            recorded(&stream_tool_result),
        ),
        (
            "forced tool",
            json!({"model": "smart", "max_tokens": 8192, "temperature": 1.0, "stream": true,
            "tools": forced_tools, "tool_choice": {"type": "function", "function": {"name": "output_structured_data"}},
            "messages": [msg("user", "Invent a good dog")]}),
            forced_expected,
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(translate(input), want, "{name}");
    }
}
