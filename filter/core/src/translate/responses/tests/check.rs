//! check_request: valid bodies pass, malformed ones get a 400 naming the parameter.

use serde_json::{json, Value};

use super::support::fixture;
use crate::translate::responses::check_request;

#[test]
fn recorded_requests_pass() {
    let fixtures = [
        fixture!("responses-basic"),
        fixture!("responses-function-call"),
        fixture!("responses-function-call-output"),
        fixture!("responses-stream-text"),
        fixture!("responses-stream-text-2025-03"),
        fixture!("responses-stream-function-call"),
        fixture!("responses-error-400"),
    ];
    for f in &fixtures {
        let req = &f["request"]["body"];
        assert_eq!(check_request(req), Ok(()), "{req}");
    }
}

#[test]
fn accepted_shapes() {
    let ok = [
        json!({"model": "m", "input": "hi"}),
        json!({"model": "m", "instructions": "be brief"}),
        json!({"model": "m", "input": [], "instructions": "be brief"}),
        json!({"model": "m", "prompt": {"id": "pmpt_1"}}),
        json!({"model": "m", "input": "hi", "instructions": null, "temperature": null, "tools": null}),
        json!({"model": "m", "input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "x"}]}]}),
        json!({"model": "m", "input": "hi", "conversation": {"id": "conv_1"}, "include": ["reasoning.encrypted_content"]}),
        json!({"model": "m", "input": "hi", "tool_choice": {"type": "function", "name": "f"}}),
        json!({"model": "m", "input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}),
    ];
    for req in ok {
        assert_eq!(check_request(&req), Ok(()), "{req}");
    }
}

#[test]
fn rejected_shapes_name_the_parameter() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!(["not", "an", "object"]), "", "JSON object"),
        (json!({"model": "m"}), "input", "Missing required parameter"),
        (
            json!({"model": "m", "input": "", "instructions": ""}),
            "input",
            "Missing required",
        ),
        (
            json!({"model": "m", "input": []}),
            "input",
            "Missing required",
        ),
        (
            json!({"model": "m", "input": 5}),
            "input",
            "expected a string or an array",
        ),
        (json!({"model": "m", "input": ["hi"]}), "input", "input[0]"),
        (
            json!({"model": "m", "input": [{"role": "robot", "content": "x"}]}),
            "input",
            "'role'",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": 3}]}),
            "input",
            "'content'",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"text": "x"}]}]}),
            "input",
            "'content'",
        ),
        (
            json!({"model": "m", "input": [{"type": 7}]}),
            "input",
            "'type'",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f"}]}),
            "input",
            "function_call",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}),
            "input",
            "function_call_output",
        ),
        (
            json!({"model": "m", "input": "hi", "instructions": 3}),
            "instructions",
            "a string",
        ),
        (
            json!({"model": "m", "input": "hi", "stream": "yes"}),
            "stream",
            "a boolean",
        ),
        (
            json!({"model": "m", "input": "hi", "temperature": "hot"}),
            "temperature",
            "a number",
        ),
        (
            json!({"model": "m", "input": "hi", "max_output_tokens": -1}),
            "max_output_tokens",
            "non-negative integer",
        ),
        (
            json!({"model": "m", "input": "hi", "previous_response_id": 1}),
            "previous_response_id",
            "a string",
        ),
        (
            json!({"model": "m", "input": "hi", "metadata": []}),
            "metadata",
            "an object",
        ),
        (
            json!({"model": "m", "input": "hi", "include": [1]}),
            "include",
            "array of strings",
        ),
        (
            json!({"model": "m", "input": "hi", "text": {"format": {"name": "x"}}}),
            "text.format",
            "'type'",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": {}}),
            "tools",
            "an array",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"name": "f"}]}),
            "tools",
            "tools[0]",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "function"}]}),
            "tools",
            "'name'",
        ),
        (
            json!({"model": "m", "input": "hi", "tool_choice": "sometimes"}),
            "tool_choice",
            "'none'",
        ),
        (
            json!({"model": "m", "input": "hi", "tool_choice": {"name": "f"}}),
            "tool_choice",
            "'none'",
        ),
        (
            json!({"model": "m", "input": "hi", "conversation": 5}),
            "conversation",
            "a string or an object",
        ),
    ];
    for (req, param, needle) in cases {
        let err = check_request(&req).unwrap_err();
        assert_eq!(err.status, 400, "{req}");
        let want_param = (!param.is_empty()).then_some(param);
        assert_eq!(err.param, want_param, "{req}: {}", err.message);
        assert!(err.message.contains(needle), "{req}: {}", err.message);
    }
}
