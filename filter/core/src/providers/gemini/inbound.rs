//! Clients speaking Gemini to deployments that are not Gemini: a
//! `generateContent` request becomes an OpenAI chat request (the pivot), and
//! the chat completion comes back as a `GenerateContentResponse`.

use serde_json::{json, Map, Value};

use super::params::EFFORT_BUDGETS;
use super::unsupported;
use crate::error::ApiError;
use crate::translate::RequestCtx;

const TARGET: &str = "This deployment";

fn invalid(param: &'static str, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid '{param}': {what}")).with_param(param)
}

/// Translates a Gemini `generateContent` body into an OpenAI chat request for
/// `ctx.model`; streams ask for usage so the last Gemini event can carry it.
pub fn gemini_to_chat_request(req: &Value, ctx: &RequestCtx) -> Result<Value, ApiError> {
    let obj = req
        .as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    let mut out = Map::new();
    out.insert("model".into(), json!(ctx.model));
    let mut messages = Vec::new();
    let system = obj
        .get("systemInstruction")
        .or_else(|| obj.get("system_instruction"));
    if let Some(system) = system {
        let text = match system {
            Value::String(s) => s.clone(),
            other => parts_of(other)
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    let contents = obj
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("contents", "contents is not specified"))?;
    convert_contents(contents, &mut messages)?;
    out.insert("messages".into(), Value::Array(messages));
    for (key, value) in obj {
        match key.as_str() {
            "contents" | "systemInstruction" | "system_instruction" | "model" => {}
            "generationConfig" | "generation_config" => generation_config(value, ctx, &mut out)?,
            "tools" => tools(value, ctx, &mut out)?,
            "toolConfig" | "tool_config" => tool_config(value, &mut out),
            // Advisory filters with no OpenAI equivalent; dropping them is harmless.
            "safetySettings" | "safety_settings" => {}
            "cachedContent" | "cached_content" => unsupported("cachedContent", TARGET, ctx)?,
            _ if ctx.drop_params => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unknown field '{other}' in the generateContent request; set \
                     drop_params: true to drop it instead"
                )))
            }
        }
    }
    if ctx.stream {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Value::Object(out))
}

fn parts_of(content: &Value) -> &[Value] {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn convert_contents(contents: &[Value], messages: &mut Vec<Value>) -> Result<(), ApiError> {
    let mut next_id = 0usize;
    // Calls of the latest model turn, for responses that carry no id: (id, name, answered).
    let mut pending: Vec<(String, String, bool)> = Vec::new();
    for content in contents {
        let parts = parts_of(content);
        if content.get("role").and_then(Value::as_str) == Some("model") {
            let mut text = String::new();
            let mut calls = Vec::new();
            pending.clear();
            for part in parts {
                if let Some(fc) = part.get("functionCall") {
                    let id = fc
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("call_{next_id}"), str::to_string);
                    next_id += 1;
                    let name = fc.get("name").and_then(Value::as_str).unwrap_or_default();
                    let args = fc.get("args").filter(|a| !a.is_null()).cloned();
                    let args = args.unwrap_or_else(|| json!({})).to_string();
                    pending.push((id.clone(), name.to_string(), false));
                    calls.push(json!({"id": id, "type": "function",
                        "function": {"name": name, "arguments": args}}));
                } else if part.get("thought").and_then(Value::as_bool) != Some(true) {
                    text.push_str(part.get("text").and_then(Value::as_str).unwrap_or_default());
                }
            }
            let mut msg = json!({"role": "assistant", "content": text});
            if !calls.is_empty() {
                if text.is_empty() {
                    msg["content"] = Value::Null;
                }
                msg["tool_calls"] = Value::Array(calls);
            }
            messages.push(msg);
            continue;
        }
        let mut user_parts = Vec::new();
        for part in parts {
            if let Some(fr) = part.get("functionResponse") {
                messages.push(tool_message(fr, &mut pending));
            } else {
                user_parts.extend(user_part(part)?);
            }
        }
        if user_parts.is_empty() {
            continue;
        }
        let all_text = user_parts
            .iter()
            .all(|p| p.get("type") == Some(&json!("text")));
        let content = if all_text {
            let text: String = user_parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            Value::String(text)
        } else {
            Value::Array(user_parts)
        };
        messages.push(json!({"role": "user", "content": content}));
    }
    Ok(())
}

/// A tool message for a `functionResponse`; without an id it answers the first
/// unanswered call of that name in the preceding model turn.
fn tool_message(fr: &Value, pending: &mut [(String, String, bool)]) -> Value {
    let name = fr.get("name").and_then(Value::as_str).unwrap_or_default();
    let id = match fr.get("id").and_then(Value::as_str) {
        Some(id) => {
            if let Some(p) = pending.iter_mut().find(|p| p.0 == id) {
                p.2 = true;
            }
            id.to_string()
        }
        None => match pending.iter_mut().find(|p| !p.2 && p.1 == name) {
            Some(p) => {
                p.2 = true;
                p.0.clone()
            }
            None => format!("call_{name}"),
        },
    };
    let response = fr.get("response").cloned().unwrap_or(json!({}));
    // Undo the {"content": ...} wrapping used for non-object results.
    let content = match &response {
        Value::Object(o) if o.len() == 1 => match o.get("content") {
            Some(Value::String(s)) => s.clone(),
            _ => response.to_string(),
        },
        _ => response.to_string(),
    };
    json!({"role": "tool", "tool_call_id": id, "content": content})
}

fn user_part(part: &Value) -> Result<Option<Value>, ApiError> {
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    if let Some(t) = part.get("text").and_then(Value::as_str) {
        return Ok(Some(json!({"type": "text", "text": t})));
    }
    if let Some(d) = part.get("inlineData").or_else(|| part.get("inline_data")) {
        let mime = d.get("mimeType").or_else(|| d.get("mime_type"));
        let mime = mime
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream");
        let data = d.get("data").and_then(Value::as_str).unwrap_or_default();
        let audio = match mime {
            "audio/wav" | "audio/x-wav" => Some("wav"),
            "audio/mp3" | "audio/mpeg" => Some("mp3"),
            _ => None,
        };
        let url = format!("data:{mime};base64,{data}");
        return Ok(Some(if mime.starts_with("image/") {
            json!({"type": "image_url", "image_url": {"url": url}})
        } else if let Some(format) = audio {
            json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
        } else {
            json!({"type": "file", "file": {"file_data": url}})
        }));
    }
    if let Some(f) = part.get("fileData").or_else(|| part.get("file_data")) {
        let uri = f.get("fileUri").or_else(|| f.get("file_uri"));
        let uri = uri.and_then(Value::as_str).unwrap_or_default();
        let mime = f.get("mimeType").or_else(|| f.get("mime_type"));
        let mime = mime.and_then(Value::as_str).unwrap_or("image/jpeg");
        if mime.starts_with("image/") && !uri.is_empty() {
            return Ok(Some(
                json!({"type": "image_url", "image_url": {"url": uri}}),
            ));
        }
        return Err(invalid(
            "contents",
            "fileData parts other than image URLs cannot be sent to this deployment",
        ));
    }
    Err(invalid(
        "contents",
        "only text, inlineData, fileData and functionResponse parts are supported here",
    ))
}

fn generation_config(
    config: &Value,
    ctx: &RequestCtx,
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(config) = config.as_object() else {
        return Ok(());
    };
    for (key, value) in config {
        if value.is_null() {
            continue;
        }
        let copy = |out: &mut Map<String, Value>, to: &str| {
            out.insert(to.into(), value.clone());
        };
        match key.as_str() {
            "temperature" => copy(out, "temperature"),
            "topP" | "top_p" => copy(out, "top_p"),
            "maxOutputTokens" | "max_output_tokens" => copy(out, "max_completion_tokens"),
            "stopSequences" | "stop_sequences" => copy(out, "stop"),
            "candidateCount" | "candidate_count" => copy(out, "n"),
            "seed" => copy(out, "seed"),
            "presencePenalty" | "presence_penalty" => copy(out, "presence_penalty"),
            "frequencyPenalty" | "frequency_penalty" => copy(out, "frequency_penalty"),
            "responseMimeType" | "response_mime_type" => {
                if value.as_str() == Some("application/json") {
                    let schema = ["responseJsonSchema", "response_json_schema"]
                        .iter()
                        .find_map(|k| config.get(*k).cloned())
                        .or_else(|| {
                            ["responseSchema", "response_schema"]
                                .iter()
                                .find_map(|k| config.get(*k).map(openapi_to_json_schema))
                        });
                    let format = match schema {
                        Some(schema) => json!({"type": "json_schema",
                            "json_schema": {"name": "response", "schema": schema}}),
                        None => json!({"type": "json_object"}),
                    };
                    out.insert("response_format".into(), format);
                } else if value.as_str() != Some("text/plain") {
                    unsupported("responseMimeType", TARGET, ctx)?;
                }
            }
            "responseJsonSchema"
            | "response_json_schema"
            | "responseSchema"
            | "response_schema" => {}
            "responseModalities" | "response_modalities" => {
                let only_text = value
                    .as_array()
                    .is_some_and(|m| m.iter().all(|x| x.as_str() == Some("TEXT")));
                if !only_text {
                    unsupported("responseModalities", TARGET, ctx)?;
                }
            }
            "thinkingConfig" | "thinking_config" => {
                if let Some(effort) = effort_for(value) {
                    out.insert("reasoning_effort".into(), json!(effort));
                }
            }
            "topK" | "top_k" => unsupported("topK", TARGET, ctx)?,
            "responseLogprobs" | "response_logprobs" | "logprobs" => {
                unsupported("responseLogprobs", TARGET, ctx)?
            }
            _ => unsupported("generationConfig", TARGET, ctx)?,
        }
    }
    Ok(())
}

/// OpenAI reasoning_effort for a thinkingConfig; none when thinking is off or dynamic.
fn effort_for(config: &Value) -> Option<&'static str> {
    if let Some(level) = config.get("thinkingLevel").and_then(Value::as_str) {
        let level = level.to_ascii_lowercase();
        return EFFORT_BUDGETS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| *name == level && *name != "none");
    }
    let budget = config.get("thinkingBudget").and_then(Value::as_i64)?;
    match budget {
        b if b <= 0 => None,
        b if b <= 1024 => Some("low"),
        b if b <= 8192 => Some("medium"),
        _ => Some("high"),
    }
}

/// Gemini's OpenAPI-style Schema (upper-case types) as JSON Schema.
fn openapi_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let v = match (k.as_str(), v) {
                    ("type", Value::String(t)) => Value::String(t.to_ascii_lowercase()),
                    ("properties", Value::Object(props)) => Value::Object(
                        props
                            .iter()
                            .map(|(name, s)| (name.clone(), openapi_to_json_schema(s)))
                            .collect(),
                    ),
                    ("items" | "anyOf", v) => openapi_to_json_schema(v),
                    ("propertyOrdering" | "nullable", _) => continue,
                    (_, v) => v.clone(),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(openapi_to_json_schema).collect()),
        other => other.clone(),
    }
}

fn tools(value: &Value, ctx: &RequestCtx, out: &mut Map<String, Value>) -> Result<(), ApiError> {
    let mut converted = Vec::new();
    for tool in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let decls = tool
            .get("functionDeclarations")
            .or_else(|| tool.get("function_declarations"));
        let Some(decls) = decls.and_then(Value::as_array) else {
            unsupported("tools", TARGET, ctx)?;
            continue;
        };
        for d in decls {
            let mut f = json!({"name": d.get("name").cloned().unwrap_or(json!(""))});
            if let Some(desc) = d.get("description") {
                f["description"] = desc.clone();
            }
            let json_schema = d
                .get("parametersJsonSchema")
                .or_else(|| d.get("parameters_json_schema"));
            if let Some(p) = json_schema {
                f["parameters"] = p.clone();
            } else if let Some(p) = d.get("parameters") {
                f["parameters"] = openapi_to_json_schema(p);
            }
            converted.push(json!({"type": "function", "function": f}));
        }
    }
    if !converted.is_empty() {
        out.insert("tools".into(), Value::Array(converted));
    }
    Ok(())
}

fn tool_config(value: &Value, out: &mut Map<String, Value>) {
    let config = value
        .get("functionCallingConfig")
        .or_else(|| value.get("function_calling_config"));
    let Some(config) = config else {
        return;
    };
    let names = config
        .get("allowedFunctionNames")
        .or_else(|| config.get("allowed_function_names"))
        .and_then(Value::as_array);
    let choice = match config.get("mode").and_then(Value::as_str) {
        Some("NONE") => json!("none"),
        Some("ANY") => match names.map(Vec::as_slice) {
            Some([only]) => json!({"type": "function", "function": {"name": only}}),
            _ => json!("required"),
        },
        _ => json!("auto"),
    };
    out.insert("tool_choice".into(), choice);
}
