//! Seed inputs for each target, built from the recorded provider traffic in
//! `fixtures/providers/` and the example configs, in the layout each target
//! reads. `scripts/fuzz.sh` writes them into the corpora at run time; the
//! robustness tests mutate them.

use super::check::HOUSE_CONFIG;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Target name (see [`super::TARGETS`]).
    pub target: &'static str,
    /// A file name for it, unique within the target.
    pub name: String,
    /// The input bytes.
    pub data: Vec<u8>,
}

/// A recorded interaction.
struct Fixture {
    /// `<provider>-<case>`.
    name: String,
    provider: String,
    path: String,
    request: Value,
    response: Value,
}

/// Every seed, for every target. `root` is the repository root.
pub fn all(root: &Path) -> Result<Vec<Seed>, String> {
    let fixtures = fixtures(&root.join("fixtures/providers"))?;
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: String, data: Vec<u8>| {
        out.push(Seed { target, name, data });
    };
    for f in &fixtures {
        if f.request.is_object() {
            add(
                "request_translators",
                f.name.clone(),
                f.request.to_string().into_bytes(),
            );
        }
        let body = match &f.response {
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        add("response_translators", f.name.clone(), body.clone());
        let mut plain = vec![0u8];
        plain.extend(&body);
        add("streams", f.name.clone(), plain);
        // Three splits, at a quarter, half and three quarters of the body.
        let mut split = vec![0x13];
        for q in 1..=3u16 {
            let at = (body.len() * usize::from(q) / 4).min(usize::from(u16::MAX)) as u16;
            split.extend(at.to_le_bytes());
        }
        split.extend(&body);
        add("streams", format!("{}-split", f.name), split);
        for (i, req) in gateway_requests(f).into_iter().enumerate() {
            add("gateway", format!("{}-{i}", f.name), req.into_bytes());
        }
    }
    for (i, text) in GATEWAY_SCRIPTS.iter().enumerate() {
        add("gateway", format!("script-{i}"), text.as_bytes().to_vec());
    }
    for (i, text) in ADMIN_SCRIPTS.iter().enumerate() {
        add("admin_api", format!("script-{i}"), text.as_bytes().to_vec());
    }
    for (i, v) in extra_responses().iter().enumerate() {
        add(
            "response_translators",
            format!("extra-{i}"),
            v.to_string().into_bytes(),
        );
    }
    add("config", "house".into(), HOUSE_CONFIG.as_bytes().to_vec());
    for (i, text) in CONFIGS.iter().enumerate() {
        add("config", format!("inline-{i}"), text.as_bytes().to_vec());
    }
    let examples = root.join("examples");
    let mut names: Vec<_> = fs::read_dir(&examples)
        .map_err(|e| format!("{}: {e}", examples.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    for p in names {
        let text = fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = p
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into());
        add("config", format!("example-{name}"), text);
    }
    for (i, s) in PARSER_INPUTS.iter().enumerate() {
        add("parsers", format!("input-{i}"), s.as_bytes().to_vec());
    }
    Ok(out)
}

fn fixtures(dir: &Path) -> Result<Vec<Fixture>, String> {
    let mut files = Vec::new();
    for provider in ["anthropic", "gemini", "openai"] {
        let d = dir.join(provider);
        let entries = fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push((provider, p));
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for (provider, p) in files {
        let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let case = p
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into());
        out.push(Fixture {
            name: format!("{provider}-{case}"),
            provider: provider.to_string(),
            path: v
                .pointer("/request/path")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string(),
            request: v.pointer("/request/body").cloned().unwrap_or(Value::Null),
            response: v.pointer("/response/body").cloned().unwrap_or(Value::Null),
        });
    }
    Ok(out)
}

/// The fixture's request sent to the gateway once per house model group that
/// serves it differently (natively, and translated to the other providers).
fn gateway_requests(f: &Fixture) -> Vec<String> {
    let Some(obj) = f.request.as_object() else {
        return Vec::new();
    };
    let http = |path: &str, auth: &str, body: &Value| {
        format!("POST {path}\n{auth}\nx-fuzz-usage: 1200,340,100,20,7\n\n{body}")
    };
    let with_model = |m: &str| {
        let mut b = obj.clone();
        b.insert("model".into(), json!(m));
        Value::Object(b)
    };
    let (route, auth, models): (&str, &str, &[&str]) = match f.provider.as_str() {
        "anthropic" => (
            "/v1/messages",
            "x-api-key: sk-user-fuzz",
            &["claude", "gpt-4o", "gemini"],
        ),
        "gemini" => {
            let stream = f.path.contains("streamGenerateContent");
            let method = if stream {
                "streamGenerateContent?alt=sse&"
            } else {
                "generateContent?"
            };
            return ["gemini", "claude", "gpt-4o", "flash"]
                .iter()
                .map(|m| {
                    let path = format!("/v1beta/models/{m}:{method}key=sk-master-fuzz");
                    http(&path, "x-goog-api-key: sk-master-fuzz", &f.request)
                })
                .collect();
        }
        _ if f.path.contains("/embeddings") => (
            "/v1/embeddings",
            "authorization: Bearer sk-user-fuzz",
            &["embed", "embed-oa"],
        ),
        _ if f.path.contains("/responses") => (
            "/v1/responses",
            "authorization: Bearer sk-master-fuzz",
            &["gpt-4o", "best", "gemini"],
        ),
        _ => (
            "/v1/chat/completions",
            "authorization: Bearer sk-master-fuzz",
            &["gpt-4o", "claude", "gemini"],
        ),
    };
    models
        .iter()
        .map(|m| http(route, auth, &with_model(m)))
        .collect()
}

/// Provider answers the recordings lack.
fn extra_responses() -> Vec<Value> {
    vec![
        json!({"embedding": {"values": [0.25, -0.5, 1e-7]}}),
        json!({"embeddings": [{"values": [0.1, 0.2]}, {"values": []}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
               "tool_calls": [{"id": "call_1", "type": "function",
               "function": {"name": "f", "arguments": "{\"a\":1}"}}]}, "finish_reason": "tool_calls"}],
               "usage": {"prompt_tokens": 18446744073709551615u64, "completion_tokens": 2,
               "total_tokens": 3, "prompt_tokens_details": {"cached_tokens": 18446744073709551615u64}}}),
        json!({"type": "message", "id": "msg_1", "role": "assistant", "model": "claude",
               "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 18446744073709551615u64, "output_tokens": 18446744073709551615u64,
               "cache_read_input_tokens": 18446744073709551615u64, "cache_creation_input_tokens": 1}}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
               "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 18446744073709551615u64,
               "candidatesTokenCount": 18446744073709551615u64, "thoughtsTokenCount": 9,
               "toolUsePromptTokenCount": 18446744073709551615u64}}),
    ]
}

const GATEWAY_SCRIPTS: [&str; 6] = [
    "POST /v1/chat/completions\nauthorization: Bearer sk-user-fuzz\nx-fuzz-usage: 100,20,0,0,0\n\n\
     {\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":50}\n\
     ~~~\nGET /spend/logs\nauthorization: Bearer sk-admin-fuzz\n\n\
     ~~~\nGET /key/info\nauthorization: Bearer sk-user-fuzz\n\n",
    "GET /v1/models\nauthorization: Bearer sk-customer-fuzz\n\n\
     ~~~\nGET /health/liveliness\n\n\
     ~~~\nPOST /anthropic/v1/messages?beta=true\nx-api-key: sk-master-fuzz\n\n\
     {\"model\":\"claude\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n\
     ~~~\nPOST /gemini/v1beta/models/gemini-2.5-flash:countTokens?key=sk-master-fuzz\n\n{\"contents\":[]}",
    "POST /v1/chat/completions\nauthorization: Bearer sk-user-fuzz\nx-fuzz-usage: 900000,900000,0,0,0\n\n\
     {\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n\
     ~~~\nPOST /v1/chat/completions\nauthorization: Bearer sk-user-fuzz\nx-fuzz-advance: 86400\n\n\
     {\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}\n\
     ~~~\nGET /global/spend/report?start_date=2025-01-01&end_date=2025-02-01&group_by=api_key\nauthorization: Bearer sk-master-fuzz\n\n",
    "POST /key/generate\nauthorization: Bearer sk-master-fuzz\n\n\
     {\"key\":\"sk-fuzz-generated-0001\",\"models\":[\"gemini\"],\"max_budget\":0.01,\"rpm_limit\":2}\n\
     ~~~\nPOST /v1beta/models/gemini:generateContent\nx-goog-api-key: sk-fuzz-generated-0001\nx-fuzz-usage: 10,10,0,0,0\n\n\
     {\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}\n\
     ~~~\nPOST /v1/embeddings\nauthorization: Bearer sk-fuzz-generated-0001\n\n{\"model\":\"embed\",\"input\":[\"a\",\"b\"]}",
    "POST /v1/responses\nauthorization: Bearer sk-master-fuzz\ncontent-length: 99999999\n\n{}\n\
     ~~~\nDELETE /key/delete\nauthorization: Bearer sk-master-fuzz\n\n\
     ~~~\nPOST /v1/chat/completions\nauthorization: Basic abc\n\n{}\n\
     ~~~\nPOST /v1/chat/completions?key=sk-master-fuzz\nauthorization: Bearer sk-customer-fuzz\n\n\
     {\"model\":\"flash\",\"messages\":[]}",
    "POST /v1/messages\nx-api-key: sk-user-fuzz\nx-fuzz-usage: 18446744073709551615,18446744073709551615,1,1,1\n\n\
     {\"model\":\"best\",\"max_tokens\":18446744073709551615,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n\
     ~~~\nGET /key/info\nauthorization: Bearer sk-user-fuzz\n\n",
];

const ADMIN_SCRIPTS: [&str; 6] = [
    "POST /key/generate\nauthorization: Bearer sk-master-fuzz\n\n\
     {\"key\":\"sk-fuzz-key-000001\",\"key_alias\":\"a1\",\"models\":[\"gpt-4o\"],\"max_budget\":10,\"budget_duration\":\"30d\",\"duration\":\"1h\",\"metadata\":{\"team\":\"x\"}}\n\
     ~~~\nGET /key/info?key=sk-fuzz-key-000001\nauthorization: Bearer sk-fuzz-key-000001\n\n\
     ~~~\nPOST /key/update\nauthorization: Bearer sk-admin-fuzz\n\n{\"key\":\"sk-fuzz-key-000001\",\"rpm_limit\":5,\"tpm_limit\":1000}\n\
     ~~~\nGET /key/list?return_full_object=true&page=1&size=10\nauthorization: Bearer sk-master-fuzz\n\n",
    "POST /key/generate\nauthorization: Bearer sk-master-fuzz\n\n{}\n\
     ~~~\nGET /key/list\nauthorization: Bearer sk-master-fuzz\n\n\
     ~~~\nPOST /key/generate\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-fuzz-key-000003\",\"key_alias\":\"b\"}\n\
     ~~~\nPOST /key/block\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-fuzz-key-000003\"}\n\
     ~~~\nGET /key/info\nauthorization: Bearer sk-fuzz-key-000003\n\n\
     ~~~\nPOST /key/unblock\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-fuzz-key-000003\"}\n\
     ~~~\nPOST /key/block\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-user-fuzz\"}",
    "POST /key/generate\nauthorization: Bearer sk-admin-fuzz\n\n{\"key\":\"sk-fuzz-key-000002\",\"role\":\"internal_user\",\"user_id\":\"u\",\"team_id\":\"t\"}\n\
     ~~~\nPOST /key/regenerate\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-fuzz-key-000002\"}\n\
     ~~~\nPOST /key/sk-fuzz-key-000002/regenerate\nauthorization: Bearer sk-master-fuzz\n\n{}\n\
     ~~~\nPOST /key/delete\nauthorization: Bearer sk-master-fuzz\n\n{\"keys\":[\"sk-fuzz-key-000002\"]}",
    "GET /key/info\nauthorization: Bearer sk-user-fuzz\n\n\
     ~~~\nGET /key/info?key=sk-admin-fuzz\nauthorization: Bearer sk-user-fuzz\n\n\
     ~~~\nPOST /key/generate\nauthorization: Bearer sk-customer-fuzz\n\n{}\n\
     ~~~\nGET /key/list?user_id=alice&team_id=red&key_alias=alice\nx-api-key: sk-admin-fuzz\n\n",
    "POST /key/generate\nauthorization: Bearer sk-master-fuzz\n\n\
     {\"models\":[\"claude\",\"best\"],\"aliases\":{\"x\":\"claude\"},\"model_rpm_limit\":{\"claude\":1},\"model_tpm_limit\":{\"claude\":10},\"max_parallel_requests\":1,\"soft_budget\":0.5,\"allowed_routes\":[\"/v1/chat/completions\"],\"blocked\":false}\n\
     ~~~\nPOST /key/update\nauthorization: Bearer sk-master-fuzz\n\n{\"key\":\"sk-user-fuzz\",\"duration\":\"-1d\"}\n\
     ~~~\nPOST /key/delete\nauthorization: Bearer sk-master-fuzz\n\n{\"key_aliases\":[\"ops\"]}",
    "POST /key/generate\nauthorization: Bearer sk-master-fuzz\nx-fuzz-advance: 18446744073709551615\n\n{\"duration\":\"1y\",\"budget_duration\":\"1mo\",\"max_budget\":1e308}\n\
     ~~~\nGET /key/list?page=18446744073709551615&size=0\nauthorization: Bearer sk-master-fuzz\n\n",
];

const CONFIGS: [&str; 4] = [
    "model_list:\n  - model_name: g\n    litellm_params: {model: openai/a, weight: 1e308}\n  - model_name: g\n    litellm_params: {model: openai/b, weight: 1e308, order: 2}\n",
    "model_list:\n  - {model_name: c, litellm_params: {model: anthropic/claude-opus-4-5, api_key: os.environ/UNSET_KEY}, model_info: {base_model: claude-opus-4-5, input_cost_per_token: 1e300}}\nrouter_settings: {model_group_alias: {x: {model: c, hidden: true}}, fallbacks: [{c: [c]}]}\n",
    "general_settings: {master_key: os.environ/MK, max_request_size_mb: 4096, spend_log_size: 1000000}\nkeys:\n  - {key: os.environ/K1, models: [\"*\"], budget_duration: 1mo, max_budget: 0}\n",
    "model_list: &a [*a]\n",
];

const PARSER_INPUTS: [&str; 20] = [
    "30s",
    "1mo",
    "2w",
    " 1y ",
    "18446744073709551615d",
    "2025-02-28",
    "2024-02-29",
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=sk-1",
    "/anthropic/v1/messages/../../x",
    "/key/sk-1%2F/regenerate",
    "gpt-4o-mini-2024-07-18",
    "models/gemini-2.5-flash",
    "azure/claude-sonnet-4-5-20250929",
    "{\"model\":\"gpt-4o\",\"stream\":true,\"max_tokens\":5}",
    "{\"model\":\"\\u00e9\\ud83d\\ude00\",\"stream\":null}",
    "Bearer sk-1",
    "event: a\r\ndata: {\"x\":1}\r\n\r\n: c\ndata: [DONE]\n\n",
    "[{\"a\":\"}\\\"\"},\n{\"b\":[2,{}]}]",
    "team_id=a%20b&key=x+y&key_alias=%zz",
    "/health?key=",
];
