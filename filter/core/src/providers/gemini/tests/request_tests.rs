//! OpenAI chat request -> Gemini request.

use serde_json::{json, Value};

use super::support::{ctx, fixture};
use crate::providers::gemini::{chat_to_gemini, model_path, upstream_path, THOUGHT_SEP};

fn translate(req: Value) -> Value {
    chat_to_gemini(&req, &ctx("gemini-2.5-flash", false, false)).unwrap()
}

fn recorded(fx: &Value) -> Value {
    fx["request"]["body"].clone()
}

#[test]
fn text_with_system_matches_recording() {
    let fx = fixture!("gemini/generate-content-text.json");
    let out = translate(json!({"model": "g", "messages": [
        {"role": "system", "content": "You are a chatbot."},
        {"role": "user", "content": "Hello!"},
    ]}));
    let rec = recorded(&fx);
    assert_eq!(out["contents"], rec["contents"]);
    assert_eq!(
        out["systemInstruction"]["parts"],
        rec["systemInstruction"]["parts"]
    );
    assert!(out.get("generationConfig").is_none());
}

#[test]
fn temperature_matches_stream_recording() {
    let fx = fixture!("gemini/stream-generate-content-text.json");
    let out = translate(
        json!({"model": "g", "stream": true, "temperature": 0.0, "messages": [
            {"role": "system", "content": "You are a helpful chatbot."},
            {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]},
        ]}),
    );
    let rec = recorded(&fx);
    assert_eq!(out["contents"], rec["contents"]);
    assert_eq!(out["generationConfig"], rec["generationConfig"]);
    assert_eq!(
        out["systemInstruction"]["parts"],
        rec["systemInstruction"]["parts"]
    );
}

#[test]
fn tool_history_matches_recording_exactly() {
    let fx = fixture!("gemini/generate-content-function-response.json");
    let id = "pyd_ai_3fa5644dae1d4aad997ae39c70006fbd";
    let out = translate(json!({"model": "g", "messages": [
        {"role": "user", "content": "What is the largest city in the user country?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": id, "type": "function", "function": {"name": "get_user_country", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": id, "content": "{\"return_value\": \"Mexico\"}"},
    ], "tools": [
        {"type": "function", "function": {"name": "get_user_country", "description": "",
            "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "final_result",
            "description": "The final response which ends this conversation",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                "country": {"type": "string"}}, "required": ["city", "country"]}}},
    ], "tool_choice": "required"}));
    let rec = recorded(&fx);
    assert_eq!(out["contents"], rec["contents"]);
    assert_eq!(out["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
    let decls = out["tools"][0]["functionDeclarations"].as_array().unwrap();
    let names: Vec<&str> = decls.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["get_user_country", "final_result"]);
    assert_eq!(
        decls[1]["parametersJsonSchema"]["required"],
        json!(["city", "country"])
    );
}

#[test]
fn function_schema_passes_through_like_the_recording() {
    let fx = fixture!("gemini/generate-content-function-call.json");
    let rec = recorded(&fx);
    let decl = &rec["tools"][0]["functionDeclarations"][0];
    let mut params = decl["parameters_json_schema"].clone();
    params["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let out = translate(json!({"model": "g", "temperature": 0.0, "messages": [
        {"role": "system", "content": "You are a helpful chatbot."},
        {"role": "user", "content": "What is the capital of France?"},
    ], "tools": [{"type": "function", "function": {"name": "get_capital",
        "description": "Get the capital of a country.", "parameters": params, "strict": true}}]}));
    let got = &out["tools"][0]["functionDeclarations"][0];
    assert_eq!(got["name"], decl["name"]);
    assert_eq!(got["description"], decl["description"]);
    // Unchanged except the dialect marker; additionalProperties stays.
    assert_eq!(got["parametersJsonSchema"], decl["parameters_json_schema"]);
    assert_eq!(out["contents"], rec["contents"]);
    assert_eq!(out["generationConfig"]["temperature"], 0.0);
}

#[test]
fn google_search_tool_passes_through() {
    let fx = fixture!("gemini/generate-content-google-search.json");
    let rec = recorded(&fx);
    for tool in [
        json!({"type": "google_search"}),
        json!({"googleSearch": {}}),
        json!({"google_search": {}}),
        json!({"type": "googleSearch"}),
    ] {
        let out = translate(json!({"model": "g", "messages": [
            {"role": "system", "content": "You are a helpful chatbot."},
            {"role": "user", "content": "What is the weather in San Francisco today?"},
        ], "tools": [tool]}));
        assert_eq!(out["tools"], rec["tools"]);
        assert_eq!(out["contents"], rec["contents"]);
    }
}

#[test]
fn safety_settings_pass_through_like_the_recording() {
    let fx = fixture!("gemini/stream-generate-content-json-array.json");
    let rec = recorded(&fx);
    let out = translate(json!({"model": "g", "messages": [
        {"role": "user", "content": "Name for a pet pelican, just the name"}],
        "safety_settings": rec["safetySettings"].clone(), "reasoning_effort": "low"}));
    assert_eq!(out["safetySettings"], rec["safetySettings"]);
    assert_eq!(out["contents"], rec["contents"]);
    assert_eq!(
        out["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
}

#[test]
fn consecutive_roles_merge_and_system_messages_join() {
    let out = translate(json!({"model": "g", "messages": [
        {"role": "system", "content": "A"},
        {"role": "developer", "content": [{"type": "text", "text": "B"}]},
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "three"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "four"},
    ]}));
    assert_eq!(
        out["systemInstruction"],
        json!({"parts": [{"text": "A"}, {"text": "B"}]})
    );
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
            {"role": "model", "parts": [{"text": "three"}]},
            {"role": "user", "parts": [{"text": "four"}]},
        ])
    );
}

#[test]
fn images_become_inline_or_file_data() {
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://x.test/cat.WEBP?size=2"}},
            {"type": "image_url", "image_url": {"url": "https://x.test/photo"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
        ]}]}),
    );
    assert_eq!(
        out["contents"][0]["parts"],
        json!([
            {"text": "look"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "https://x.test/cat.WEBP?size=2"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/photo"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        ])
    );
    let bad = json!({"model": "g", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]});
    let err = chat_to_gemini(&bad, &ctx("g", false, false)).unwrap_err();
    assert_eq!((err.status, err.param), (400, Some("messages")));
}

#[test]
fn generation_config_mapping() {
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
        "temperature": 0.5, "top_p": 0.9, "top_k": 40, "max_tokens": 100,
        "max_completion_tokens": 200, "stop": "END", "n": 2, "seed": 7,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "stream_options": {"include_usage": true},
        "response_format": {"type": "json_object"}, "user": null, "parallel_tool_calls": true}),
    );
    assert_eq!(
        out["generationConfig"],
        json!({"temperature": 0.5, "topP": 0.9, "topK": 40, "maxOutputTokens": 200,
            "stopSequences": ["END"], "candidateCount": 2, "seed": 7, "presencePenalty": 0.1,
            "frequencyPenalty": 0.2, "responseMimeType": "application/json"})
    );
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 100, "stop": ["a", "b"]}),
    );
    assert_eq!(out["generationConfig"]["maxOutputTokens"], 100);
    assert_eq!(out["generationConfig"]["stopSequences"], json!(["a", "b"]));
}

#[test]
fn json_schema_uses_response_json_schema() {
    let schema = json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
        "properties": {"a": {"type": ["string", "null"]}}, "required": ["a"],
        "additionalProperties": false});
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema",
            "json_schema": {"name": "r", "strict": true, "schema": schema}}}),
    );
    let gen = &out["generationConfig"];
    assert_eq!(gen["responseMimeType"], "application/json");
    let mut want = schema.clone();
    want.as_object_mut().unwrap().remove("$schema");
    assert_eq!(gen["responseJsonSchema"], want);
    assert!(gen.get("responseSchema").is_none());
}

#[test]
fn tool_choice_variants() {
    let cases = [
        (json!("auto"), json!({"mode": "AUTO"})),
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
        ),
    ];
    for (choice, want) in cases {
        let out = translate(
            json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": choice}),
        );
        assert_eq!(out["toolConfig"]["functionCallingConfig"], want);
        assert_eq!(
            out["tools"],
            json!([{"functionDeclarations": [{"name": "f"}]}])
        );
    }
}

#[test]
fn reasoning_effort_budgets() {
    for (effort, budget) in [("low", 1024), ("medium", 8192), ("high", 24576)] {
        let out = translate(json!({"model": "g", "reasoning_effort": effort,
            "messages": [{"role": "user", "content": "x"}]}));
        assert_eq!(
            out["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": budget, "includeThoughts": true})
        );
    }
    let err = chat_to_gemini(
        &json!({"model": "g", "reasoning_effort": "extreme", "messages": []}),
        &ctx("g", false, false),
    )
    .unwrap_err();
    assert_eq!(err.param, Some("reasoning_effort"));
}

#[test]
fn unsupported_params_are_refused_or_dropped() {
    let req = json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
        "logit_bias": {"1": 2}, "user": "u"});
    let err = chat_to_gemini(&req, &ctx("g", false, false)).unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.param == Some("logit_bias") || err.param == Some("user"));
    assert!(err.message.contains("drop_params"), "{}", err.message);
    let mut c = ctx("g", false, false);
    c.drop_params = true;
    let out = chat_to_gemini(&req, &c).unwrap();
    assert!(out.get("logit_bias").is_none() && out.get("generationConfig").is_none());
    let unknown = json!({"model": "g", "messages": [], "frobnicate": 1});
    assert!(chat_to_gemini(&unknown, &ctx("g", false, false)).is_err());
    assert!(chat_to_gemini(&unknown, &c).is_ok());
    let err = chat_to_gemini(
        &json!({"model": "g", "messages": [], "parallel_tool_calls": false}),
        &ctx("g", false, false),
    )
    .unwrap_err();
    assert_eq!(err.param, Some("parallel_tool_calls"));
}

#[test]
fn tool_calls_keep_ids_and_thought_signatures() {
    let id = format!("call_0{THOUGHT_SEP}c2lnbmF0dXJl");
    let out = translate(json!({"model": "g", "messages": [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": id, "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": id, "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_1", "content": "[1, 2]"},
        {"role": "user", "content": "thanks"},
    ]}));
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "weather in Paris and Rome?"}]},
            {"role": "model", "parts": [
                {"text": "Checking."},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "call_0"},
                 "thoughtSignature": "c2lnbmF0dXJl"},
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}, "id": "call_1"}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "weather", "id": "call_0", "response": {"content": "sunny"}}},
                {"functionResponse": {"name": "weather", "id": "call_1", "response": {"content": [1, 2]}}},
                {"text": "thanks"},
            ]},
        ])
    );
}

#[test]
fn tool_messages_need_a_matching_call_and_json_arguments() {
    let orphan = json!({"model": "g", "messages": [
        {"role": "tool", "tool_call_id": "nope", "content": "x"}]});
    let err = chat_to_gemini(&orphan, &ctx("g", false, false)).unwrap_err();
    assert!(err.message.contains("nope"), "{}", err.message);
    let bad_args = json!({"model": "g", "messages": [{"role": "assistant", "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]});
    assert_eq!(
        chat_to_gemini(&bad_args, &ctx("g", false, false))
            .unwrap_err()
            .status,
        400
    );
    for body in [
        json!([]),
        json!({"model": "g"}),
        json!({"messages": [{"role": "robot"}]}),
    ] {
        assert_eq!(
            chat_to_gemini(&body, &ctx("g", false, false))
                .unwrap_err()
                .status,
            400
        );
    }
}

#[test]
fn paths() {
    assert_eq!(
        upstream_path("", "gemini-2.5-flash", false),
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        upstream_path("/proxy/", "models/gemini-2.5-pro", true),
        "/proxy/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(model_path("/v1beta", "m"), "/v1beta/models/m");
}

#[test]
fn gemini_3_gets_a_stand_in_signature_for_unsigned_calls() {
    let req = json!({"model": "g", "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "1"},
        {"role": "tool", "tool_call_id": "call_b", "content": "2"},
        {"role": "assistant", "tool_calls": [{"id": format!("call_c{THOUGHT_SEP}c2ln"),
            "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": format!("call_c{THOUGHT_SEP}c2ln"), "content": "3"},
    ]});
    let out = chat_to_gemini(&req, &ctx("gemini-3-pro-preview", false, false)).unwrap();
    let parts = &out["contents"][1]["parts"];
    assert_eq!(
        parts[0]["thoughtSignature"],
        "skip_thought_signature_validator"
    );
    assert!(parts[1].get("thoughtSignature").is_none());
    assert_eq!(out["contents"][3]["parts"][0]["thoughtSignature"], "c2ln");
    let out = chat_to_gemini(&req, &ctx("gemini-2.5-pro", false, false)).unwrap();
    assert!(out["contents"][1]["parts"][0]
        .get("thoughtSignature")
        .is_none());
}
