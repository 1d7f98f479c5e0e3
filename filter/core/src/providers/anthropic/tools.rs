//! OpenAI `tools`, `tool_choice`, `parallel_tool_calls` and `response_format` -> Anthropic.

use serde_json::{json, Map, Value};

use super::{set, ANSWER_TOOL_PREFIX};
use crate::error::ApiError;

/// System instruction for `response_format: {"type": "json_object"}` (Anthropic has no JSON mode).
pub(super) const JSON_OBJECT_NOTE: &str = "Respond only with a single valid JSON object. \
Do not add any text, explanation or code fences outside the JSON.";

/// Anthropic limits tool names to 64 characters.
const MAX_TOOL_NAME: usize = 64;

/// The translated tool settings.
pub(super) struct ToolPlan {
    pub tools: Vec<Value>,
    pub tool_choice: Option<Value>,
    /// Instruction to append to the system prompt.
    pub system_note: Option<String>,
}

/// Builds tools and tool_choice; `thinking` forbids forcing a tool (Anthropic refuses both).
pub(super) fn plan(req: &Map<String, Value>, thinking: bool) -> Result<ToolPlan, ApiError> {
    let mut tools = convert_tools(req.get("tools"))?;
    let client_tools = !tools.is_empty();
    let mut choice = tool_choice(req.get("tool_choice"))?;
    if req.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            set(c, "disable_parallel_tool_use", json!(true));
        }
    }
    let mut system_note = None;
    match req.get("response_format") {
        None | Some(Value::Null) => {}
        Some(rf) => match rf.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("json_object") => system_note = Some(JSON_OBJECT_NOTE.to_string()),
            Some("json_schema") => {
                let tool = answer_tool(rf.get("json_schema"));
                let name = tool["name"].as_str().unwrap_or_default().to_string();
                tools.push(tool);
                if client_tools || thinking {
                    system_note = Some(format!(
                        "When you have the final answer, call the `{name}` tool with it; \
                         its input is your answer."
                    ));
                } else {
                    choice = Some(json!({"type": "tool", "name": name}));
                }
            }
            _ => {
                return Err(ApiError::bad_request(
                    "response_format.type must be text, json_object or json_schema",
                )
                .with_param("response_format"))
            }
        },
    }
    if tools.is_empty() {
        // Anthropic rejects tool_choice without tools.
        choice = None;
    }
    Ok(ToolPlan {
        tools,
        tool_choice: choice,
        system_note,
    })
}

fn bad_tools(message: String) -> ApiError {
    ApiError::bad_request(message).with_param("tools")
}

fn convert_tools(tools: Option<&Value>) -> Result<Vec<Value>, ApiError> {
    let list = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad_tools("`tools` must be an array".into())),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, tool) in list.iter().enumerate() {
        let kind = tool
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function");
        if kind != "function" {
            return Err(bad_tools(format!(
                "tools[{i}]: tool type `{kind}` is not supported by anthropic (only function)"
            )));
        }
        let f = tool.get("function");
        let name = f
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad_tools(format!("tools[{i}].function.name is required")))?;
        let mut t = json!({"name": name});
        if let Some(d) = f
            .and_then(|f| f.get("description"))
            .filter(|d| d.is_string())
        {
            set(&mut t, "description", d.clone());
        }
        let schema = match f.and_then(|f| f.get("parameters")) {
            Some(p @ Value::Object(_)) => p.clone(),
            _ => json!({"type": "object", "properties": {}}),
        };
        set(&mut t, "input_schema", schema);
        if let Some(cc) = tool.get("cache_control") {
            set(&mut t, "cache_control", cc.clone());
        }
        out.push(t);
    }
    Ok(out)
}

fn tool_choice(choice: Option<&Value>) -> Result<Option<Value>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}",
        )
        .with_param("tool_choice")
    };
    Ok(match choice {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => json!({"type": "auto"}),
            "none" => json!({"type": "none"}),
            "required" => json!({"type": "any"}),
            _ => return Err(bad()),
        }),
        Some(obj) => {
            let name = obj
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(bad)?;
            Some(json!({"type": "tool", "name": name}))
        }
    })
}

/// The forced tool whose input is the structured answer.
fn answer_tool(schema: Option<&Value>) -> Value {
    let name = schema
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("response");
    let mut tool_name: String = format!("{ANSWER_TOOL_PREFIX}{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    tool_name.truncate(MAX_TOOL_NAME);
    let description = schema
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .map_or_else(
            || format!("Give your final answer as the input of this tool (the `{name}` schema)."),
            str::to_string,
        );
    let input_schema = match schema.and_then(|s| s.get("schema")) {
        Some(s @ Value::Object(_)) => s.clone(),
        _ => json!({"type": "object"}),
    };
    json!({"name": tool_name, "description": description, "input_schema": input_schema})
}
