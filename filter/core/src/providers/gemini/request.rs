//! OpenAI chat request -> Gemini `generateContent` request: messages become
//! `contents` and `systemInstruction`; parameters are handled in `params`.

use serde_json::{json, Map, Value};

use super::{params, split_tool_call_id};
use crate::error::ApiError;
use crate::translate::RequestCtx;

/// Translates an OpenAI chat completions request body into a Gemini
/// `generateContent` body (the model goes in the path, see [`super::upstream_path`]).
pub fn chat_to_gemini(req: &Value, ctx: &RequestCtx) -> Result<Value, ApiError> {
    let obj = req
        .as_object()
        .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request("'messages' must be a non-empty array.").with_param("messages")
        })?;
    let mut out = Map::new();
    let (system, mut contents) = convert_messages(messages)?;
    if ctx.model.contains("gemini-3") {
        sign_function_calls(&mut contents);
    }
    out.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        out.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    params::apply(obj, ctx, &mut out)?;
    Ok(Value::Object(out))
}

/// The documented stand-in for a missing thought signature.
pub(crate) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Gemini 3 refuses a model turn whose function calls carry no thought
/// signature (history from another provider, or from a client that lost the
/// id suffix); such turns get the documented stand-in on their first call.
fn sign_function_calls(contents: &mut [Value]) {
    for content in contents.iter_mut() {
        if content.get("role").and_then(Value::as_str) != Some("model") {
            continue;
        }
        let Some(parts) = content.get_mut("parts").and_then(Value::as_array_mut) else {
            continue;
        };
        let is_call = |p: &Value| p.get("functionCall").is_some();
        if parts
            .iter()
            .any(|p| is_call(p) && p.get("thoughtSignature").is_some())
        {
            continue;
        }
        if let Some(first) = parts.iter_mut().find(|p| is_call(p)) {
            first["thoughtSignature"] = json!(SKIP_SIGNATURE);
        }
    }
}

fn bad_message(i: usize, what: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid 'messages[{i}]': {what}")).with_param("messages")
}

/// Collects contents, merging consecutive turns of the same role (Gemini
/// expects one content per turn, e.g. all parallel function responses together).
#[derive(Default)]
struct Contents {
    turns: Vec<(&'static str, Vec<Value>)>,
}

impl Contents {
    fn push(&mut self, role: &'static str, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => self.turns.push((role, parts)),
        }
    }

    fn into_values(self) -> Vec<Value> {
        self.turns
            .into_iter()
            .map(|(role, parts)| json!({"role": role, "parts": parts}))
            .collect()
    }
}

fn convert_messages(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>), ApiError> {
    let mut system = Vec::new();
    let mut contents = Contents::default();
    for (i, msg) in messages.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = msg.get("content");
        match role {
            "system" | "developer" => {
                // Gemini has one system instruction: every system message joins it.
                let text = text_only(content)
                    .ok_or_else(|| bad_message(i, "system messages may only contain text parts"))?;
                if !text.is_empty() {
                    system.push(json!({ "text": text }));
                }
            }
            "user" => contents.push("user", user_parts(content, i)?),
            "assistant" => contents.push("model", assistant_parts(msg, i)?),
            "tool" => {
                let id = msg
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let name = find_call_name(messages.get(..i).unwrap_or_default(), id)
                    .or_else(|| msg.get("name").and_then(Value::as_str))
                    .ok_or_else(|| {
                        bad_message(i, &format!("no earlier assistant tool call has id '{id}'"))
                    })?;
                let (gid, _) = split_tool_call_id(id);
                contents.push("user", vec![function_response(gid, name, content)]);
            }
            "function" => {
                let name = msg.get("name").and_then(Value::as_str).unwrap_or_default();
                contents.push("user", vec![function_response("", name, content)]);
            }
            other => return Err(bad_message(i, &format!("unknown role '{other}'"))),
        }
    }
    Ok((system, contents.into_values()))
}

/// Text of a string content or a list of text parts; None when other parts are present.
pub(super) fn text_only(content: Option<&Value>) -> Option<String> {
    match content {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") | Some("refusal") => {
                        let key = if p.get("text").is_some() {
                            "text"
                        } else {
                            "refusal"
                        };
                        out.push_str(p.get(key).and_then(Value::as_str).unwrap_or_default());
                    }
                    _ => return None,
                }
            }
            Some(out)
        }
        Some(_) => None,
    }
}

fn user_parts(content: Option<&Value>, i: usize) -> Result<Vec<Value>, ApiError> {
    let parts = match content {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => return Ok(text_part(s).into_iter().collect()),
        Some(Value::Array(parts)) => parts,
        Some(_) => return Err(bad_message(i, "content must be a string or an array")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part.get("type").and_then(Value::as_str).unwrap_or_default() {
            "text" => out.extend(text_part(
                part.get("text").and_then(Value::as_str).unwrap_or_default(),
            )),
            "image_url" => {
                let url = part
                    .pointer("/image_url/url")
                    .or_else(|| part.get("image_url"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad_message(i, "image_url part without a url"))?;
                out.push(media_part(url, None).map_err(|e| bad_message(i, &e))?);
            }
            "input_audio" => {
                let data = part.pointer("/input_audio/data").and_then(Value::as_str);
                let format = part.pointer("/input_audio/format").and_then(Value::as_str);
                let (Some(data), Some(format)) = (data, format) else {
                    return Err(bad_message(i, "input_audio needs data and format"));
                };
                out.push(
                    json!({"inlineData": {"mimeType": format!("audio/{format}"), "data": data}}),
                );
            }
            "file" => out.push(file_part(part).map_err(|e| bad_message(i, &e))?),
            other => {
                return Err(bad_message(
                    i,
                    &format!("content part type '{other}' is not supported by Gemini"),
                ))
            }
        }
    }
    Ok(out)
}

fn text_part(text: &str) -> Option<Value> {
    // Gemini refuses empty text parts.
    (!text.is_empty()).then(|| json!({ "text": text }))
}

fn file_part(part: &Value) -> Result<Value, String> {
    let file = part.get("file").unwrap_or(&Value::Null);
    if let Some(data) = file.get("file_data").and_then(Value::as_str) {
        return media_part(data, None);
    }
    match file.get("file_id").and_then(Value::as_str) {
        Some(id) if id.starts_with("https://") || id.starts_with("gs://") => {
            let mime = file.get("format").and_then(Value::as_str);
            media_part(id, mime)
        }
        _ => Err("file parts need file_data (a data: URL) or a file URI as file_id".into()),
    }
}

/// `inlineData` for a base64 data: URL, `fileData` for http(s)/gs URIs.
fn media_part(url: &str, mime: Option<&str>) -> Result<Value, String> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| "malformed data: URL".to_string())?;
        let mime_type = meta
            .strip_suffix(";base64")
            .ok_or_else(|| "only base64 data: URLs are supported".to_string())?;
        let mime_type = if mime_type.is_empty() {
            "application/octet-stream"
        } else {
            mime_type
        };
        return Ok(json!({"inlineData": {"mimeType": mime_type, "data": data}}));
    }
    if url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://") {
        let mime_type = mime.unwrap_or_else(|| guess_mime(url));
        return Ok(json!({"fileData": {"mimeType": mime_type, "fileUri": url}}));
    }
    Err("media URLs must be data:, http(s):// or gs:// URLs".into())
}

/// MIME type from a URL's file extension; image/jpeg when unknown.
pub(crate) fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        Some("pdf") => "application/pdf",
        Some("mp3") => "audio/mp3",
        Some("wav") => "audio/wav",
        Some("ogg") => "audio/ogg",
        Some("flac") => "audio/flac",
        Some("mp4") => "video/mp4",
        Some("mov") => "video/mov",
        Some("webm") => "video/webm",
        Some("txt") => "text/plain",
        _ => "image/jpeg",
    }
}

fn assistant_parts(msg: &Value, i: usize) -> Result<Vec<Value>, ApiError> {
    let mut parts = Vec::new();
    let text = text_only(msg.get("content"))
        .ok_or_else(|| bad_message(i, "assistant content may only contain text parts"))?;
    parts.extend(text_part(&text));
    let calls = msg.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
        let f = call.get("function").unwrap_or(&Value::Null);
        parts.push(function_call(id, f, call, i)?);
    }
    if let Some(f) = msg.get("function_call").filter(|f| f.is_object()) {
        parts.push(function_call("", f, &Value::Null, i)?);
    }
    Ok(parts)
}

fn function_call(id: &str, f: &Value, call: &Value, i: usize) -> Result<Value, ApiError> {
    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
    let args = match f.get("arguments") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            serde_json::from_str(s).map_err(|_| {
                bad_message(i, &format!("arguments of tool call '{name}' are not JSON"))
            })?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    };
    if !args.is_object() {
        return Err(bad_message(
            i,
            &format!("arguments of tool call '{name}' must be a JSON object"),
        ));
    }
    let (gid, sig) = split_tool_call_id(id);
    let mut fc = json!({"name": name, "args": args});
    if !gid.is_empty() {
        fc["id"] = json!(gid);
    }
    let mut part = json!({ "functionCall": fc });
    let sig = sig.or_else(|| {
        call.pointer("/extra_content/google/thought_signature")
            .and_then(Value::as_str)
    });
    if let Some(sig) = sig {
        part["thoughtSignature"] = json!(sig);
    }
    Ok(part)
}

/// The function name of the latest earlier assistant tool call with this id.
fn find_call_name<'a>(earlier: &'a [Value], id: &str) -> Option<&'a str> {
    earlier.iter().rev().find_map(|m| {
        m.get("tool_calls")?
            .as_array()?
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(id))?
            .pointer("/function/name")?
            .as_str()
    })
}

/// A `functionResponse` part; Gemini wants an object, so other results are
/// wrapped as `{"content": ...}`.
fn function_response(id: &str, name: &str, content: Option<&Value>) -> Value {
    let text =
        text_only(content).unwrap_or_else(|| content.map(Value::to_string).unwrap_or_default());
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(v) => json!({ "content": v }),
        Err(_) => json!({ "content": text }),
    };
    let mut fr = json!({"name": name, "response": response});
    if !id.is_empty() {
        fr["id"] = json!(id);
    }
    json!({ "functionResponse": fr })
}
