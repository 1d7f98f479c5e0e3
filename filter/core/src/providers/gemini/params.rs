//! OpenAI chat parameters -> Gemini `generationConfig`, `tools`, `toolConfig`.

use serde_json::{json, Map, Value};

use super::unsupported;
use crate::error::ApiError;
use crate::translate::RequestCtx;

/// Thinking budgets for OpenAI `reasoning_effort` values.
pub(crate) const EFFORT_BUDGETS: [(&str, u64); 5] = [
    ("none", 0),
    ("minimal", 128),
    ("low", 1024),
    ("medium", 8192),
    ("high", 24576),
];

/// OpenAI parameters Gemini has no equivalent for (dropped or refused).
const UNSUPPORTED: [&str; 14] = [
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "parallel_tool_calls",
    "user",
    "service_tier",
    "store",
    "metadata",
    "prediction",
    "modalities",
    "audio",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
];

const TARGET: &str = "Gemini";

fn invalid(param: &'static str, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid '{param}': {what}")).with_param(param)
}

/// Adds generation config, tools and tool config for every parameter in `req`.
pub(super) fn apply(
    req: &Map<String, Value>,
    ctx: &RequestCtx,
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let mut gen = Map::new();
    for (key, value) in req {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "model" | "messages" | "stream" | "stream_options" => {}
            "temperature" => copy_number(&mut gen, "temperature", value, "temperature")?,
            "top_p" => copy_number(&mut gen, "topP", value, "top_p")?,
            "top_k" => copy_number(&mut gen, "topK", value, "top_k")?,
            // max_completion_tokens wins when both are given.
            "max_tokens" if has(req, "max_completion_tokens") => {}
            "max_tokens" => copy_number(&mut gen, "maxOutputTokens", value, "max_tokens")?,
            "max_completion_tokens" => {
                copy_number(&mut gen, "maxOutputTokens", value, "max_completion_tokens")?
            }
            "n" => copy_number(&mut gen, "candidateCount", value, "n")?,
            "seed" => copy_number(&mut gen, "seed", value, "seed")?,
            "presence_penalty" => {
                copy_number(&mut gen, "presencePenalty", value, "presence_penalty")?
            }
            "frequency_penalty" => {
                copy_number(&mut gen, "frequencyPenalty", value, "frequency_penalty")?
            }
            "stop" => {
                gen.insert("stopSequences".into(), stop_sequences(value)?);
            }
            "response_format" => response_format(value, &mut gen)?,
            "reasoning_effort" => {
                gen.insert("thinkingConfig".into(), reasoning_effort(value)?);
            }
            "thinking" => thinking(value, &mut gen),
            "tools" | "functions" => {}
            "tool_choice" | "function_call" => {}
            // Asking for the default behaviour is not a missing feature.
            "parallel_tool_calls" if value == &Value::Bool(true) => {}
            "logprobs" if value == &Value::Bool(false) => {}
            "safety_settings" | "safetySettings" => {
                out.insert("safetySettings".into(), value.clone());
            }
            "cached_content" | "cachedContent" => {
                out.insert("cachedContent".into(), value.clone());
            }
            other => match UNSUPPORTED.iter().find(|p| **p == other) {
                Some(p) => unsupported(p, TARGET, ctx)?,
                None if ctx.drop_params => {}
                None => {
                    return Err(ApiError::bad_request(format!(
                        "Unrecognized request argument supplied: {other} (Gemini deployments \
                         do not support it; set drop_params: true to drop it instead)"
                    )))
                }
            },
        }
    }
    let tools = tools(req)?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    let choice = req
        .get("tool_choice")
        .filter(|v| !v.is_null())
        .or_else(|| req.get("function_call").filter(|v| !v.is_null()));
    if let Some(choice) = choice {
        out.insert("toolConfig".into(), tool_config(choice)?);
    }
    if !gen.is_empty() {
        out.insert("generationConfig".into(), Value::Object(gen));
    }
    Ok(())
}

fn has(req: &Map<String, Value>, key: &str) -> bool {
    req.get(key).is_some_and(|v| !v.is_null())
}

fn copy_number(
    gen: &mut Map<String, Value>,
    to: &str,
    value: &Value,
    param: &'static str,
) -> Result<(), ApiError> {
    if !value.is_number() {
        return Err(invalid(param, "expected a number"));
    }
    gen.insert(to.into(), value.clone());
    Ok(())
}

fn stop_sequences(value: &Value) -> Result<Value, ApiError> {
    match value {
        Value::String(s) => Ok(json!([s])),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(value.clone()),
        _ => Err(invalid("stop", "expected a string or an array of strings")),
    }
}

fn response_format(value: &Value, gen: &mut Map<String, Value>) -> Result<(), ApiError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            gen.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            let mut schema = value
                .pointer("/json_schema/schema")
                .filter(|s| s.is_object())
                .cloned()
                .ok_or_else(|| invalid("response_format", "json_schema.schema is required"))?;
            // responseJsonSchema takes JSON Schema as written; only the dialect marker goes.
            if let Some(obj) = schema.as_object_mut() {
                obj.remove("$schema");
            }
            gen.insert("responseMimeType".into(), json!("application/json"));
            gen.insert("responseJsonSchema".into(), schema);
        }
        _ => {
            return Err(invalid(
                "response_format",
                "type must be text, json_object or json_schema",
            ))
        }
    }
    Ok(())
}

fn reasoning_effort(value: &Value) -> Result<Value, ApiError> {
    let effort = value.as_str().unwrap_or_default();
    let budget = EFFORT_BUDGETS
        .iter()
        .find(|(name, _)| *name == effort)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            invalid(
                "reasoning_effort",
                "expected one of none, minimal, low, medium, high",
            )
        })?;
    Ok(if budget == 0 {
        json!({ "thinkingBudget": 0 })
    } else {
        json!({ "thinkingBudget": budget, "includeThoughts": true })
    })
}

/// Anthropic-style `thinking: {type, budget_tokens}`, which some OpenAI clients send.
fn thinking(value: &Value, gen: &mut Map<String, Value>) {
    let enabled = value.get("type").and_then(Value::as_str) == Some("enabled");
    let budget = value.get("budget_tokens").and_then(Value::as_u64);
    let config = match (enabled, budget) {
        (true, Some(b)) => json!({ "thinkingBudget": b, "includeThoughts": true }),
        (true, None) => json!({ "includeThoughts": true }),
        (false, _) => json!({ "thinkingBudget": 0 }),
    };
    gen.insert("thinkingConfig".into(), config);
}

/// Gemini built-in tools a client may name, with their snake_case spellings.
const BUILTIN_TOOLS: [(&str, &str); 4] = [
    ("googleSearch", "google_search"),
    ("googleSearchRetrieval", "google_search_retrieval"),
    ("codeExecution", "code_execution"),
    ("urlContext", "url_context"),
];

fn builtin_tool(tool: &Value) -> Option<Value> {
    let kind = tool.get("type").and_then(Value::as_str);
    for (camel, snake) in BUILTIN_TOOLS {
        if kind == Some(camel) || kind == Some(snake) {
            let config = tool.get(snake).or_else(|| tool.get(camel));
            let config = config
                .filter(|c| c.is_object())
                .cloned()
                .unwrap_or(json!({}));
            return Some(json!({ camel: config }));
        }
        if kind.is_none() {
            if let Some(config) = tool.get(camel).or_else(|| tool.get(snake)) {
                return Some(json!({ camel: config }));
            }
        }
    }
    None
}

fn declaration(f: &Value) -> Result<Value, ApiError> {
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("tools", "every function needs a name"))?;
    let mut decl = json!({ "name": name });
    if let Some(d) = f.get("description").and_then(Value::as_str) {
        decl["description"] = json!(d);
    }
    if let Some(params) = f.get("parameters").filter(|p| p.is_object()) {
        let mut params = params.clone();
        if let Some(obj) = params.as_object_mut() {
            obj.remove("$schema");
        }
        // parametersJsonSchema takes the client's JSON Schema unchanged.
        decl["parametersJsonSchema"] = params;
    }
    Ok(decl)
}

fn tools(req: &Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    let mut decls = Vec::new();
    let mut builtins = Vec::new();
    let listed = req.get("tools").and_then(Value::as_array);
    for tool in listed.into_iter().flatten() {
        if tool.get("type").and_then(Value::as_str) == Some("function") {
            decls.push(declaration(tool.get("function").unwrap_or(&Value::Null))?);
        } else if let Some(b) = builtin_tool(tool) {
            builtins.push(b);
        } else {
            return Err(invalid(
                "tools",
                "only function tools and Gemini's googleSearch, googleSearchRetrieval, \
                 codeExecution and urlContext are supported",
            ));
        }
    }
    let legacy = req.get("functions").and_then(Value::as_array);
    for f in legacy.into_iter().flatten() {
        decls.push(declaration(f)?);
    }
    let mut out = Vec::new();
    if !decls.is_empty() {
        out.push(json!({ "functionDeclarations": decls }));
    }
    out.extend(builtins);
    Ok(out)
}

fn tool_config(choice: &Value) -> Result<Value, ApiError> {
    let (mode, names) = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => ("AUTO", None),
            "none" => ("NONE", None),
            "required" | "any" => ("ANY", None),
            _ => return Err(invalid("tool_choice", "expected auto, none or required")),
        },
        Value::Object(_) => {
            let name = choice
                .pointer("/function/name")
                .or_else(|| choice.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice", "a function name is required"))?;
            ("ANY", Some(json!([name])))
        }
        _ => return Err(invalid("tool_choice", "expected a string or an object")),
    };
    let mut config = json!({ "mode": mode });
    if let Some(names) = names {
        config["allowedFunctionNames"] = names;
    }
    Ok(json!({ "functionCallingConfig": config }))
}
