//! Whole-body translators: requests (client format -> pivot -> provider) and
//! responses (provider -> pivot -> client), error mappers included.

use super::check::{self, json};
use crate::error::ApiError;
use crate::exchange::{request::serves, response::Translation};
use crate::provider::Provider;
use crate::providers::gemini::EmbedOptions;
use crate::providers::{anthropic, gemini};
use crate::routes::ClientApi;
use crate::spend::{self, TapFormat};
use crate::translate::responses::{chat_to_responses, check_request, responses_to_chat};
use crate::translate::RequestCtx;
use serde_json::{json, Value};

/// The request facts translators see: plain, streaming with every option on,
/// and degenerate (empty names, extreme default).
pub(crate) fn ctxs() -> [RequestCtx; 3] {
    [
        RequestCtx {
            model: "upstream-model".into(),
            client_model: "client-model".into(),
            stream: false,
            include_usage: false,
            drop_params: false,
            default_max_tokens: 4096,
        },
        RequestCtx {
            model: "models/upstream-model".into(),
            client_model: "best".into(),
            stream: true,
            include_usage: true,
            drop_params: true,
            default_max_tokens: 1,
        },
        RequestCtx {
            model: String::new(),
            client_model: String::new(),
            stream: false,
            include_usage: true,
            drop_params: true,
            default_max_tokens: u64::MAX,
        },
    ]
}

/// A Responses request echoed into translated Responses objects and streams.
pub(crate) fn responses_request() -> Value {
    json!({
        "model": "best",
        "instructions": "Be brief.",
        "input": "hi",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "temperature": 0.5,
        "max_output_tokens": 100,
        "metadata": {"k": "v"},
        "store": false
    })
}

/// Every (client API, provider) pair the gateway translates (same-format pairs
/// pass bytes through untouched).
pub(crate) fn translated_pairs() -> Vec<(ClientApi, Provider)> {
    let clients = [
        ClientApi::Chat,
        ClientApi::Responses,
        ClientApi::Embeddings,
        ClientApi::Anthropic,
        ClientApi::Gemini,
    ];
    let providers = [Provider::OpenAi, Provider::Anthropic, Provider::Gemini];
    let mut out = Vec::new();
    for c in clients {
        for p in providers {
            let served = check::house()
                .deployments
                .iter()
                .any(|d| d.provider == p && serves(d, c));
            if served && !native(c, p) {
                out.push((c, p));
            }
        }
    }
    out
}

fn native(c: ClientApi, p: Provider) -> bool {
    matches!(
        (c, p),
        (
            ClientApi::Chat | ClientApi::Responses | ClientApi::Embeddings,
            Provider::OpenAi
        ) | (ClientApi::Anthropic, Provider::Anthropic)
            | (ClientApi::Gemini, Provider::Gemini)
    )
}

/// The translation plan the gateway would make for a pair.
pub(crate) fn translation(
    client: ClientApi,
    provider: Provider,
    ctx: &RequestCtx,
    stream: bool,
) -> Translation {
    Translation {
        client,
        provider,
        stream,
        // As exchange::prepare: only chat clients choose include_usage; the
        // other client APIs always report usage, so the pivot must carry it.
        ctx: RequestCtx {
            stream,
            include_usage: ctx.include_usage || client != ClientApi::Chat,
            ..ctx.clone()
        },
        responses_request: (client == ClientApi::Responses).then(responses_request),
        embed: (client == ClientApi::Embeddings).then_some(EmbedOptions {
            base64: ctx.drop_params,
            prompt_tokens: ctx.default_max_tokens,
        }),
    }
}

/// Arbitrary JSON through every request translator, with each [`ctxs`] variant.
pub fn request_translators(data: &[u8]) {
    let _ = spend::estimate_prompt_tokens(data);
    let Ok(req) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = EmbedOptions::from_request(&req);
    let _ = spend::max_output_tokens(&req, 4096);
    let checked = check_request(&req);
    if let Err(e) = &checked {
        check::api_error("check_request", e);
    }
    for ctx in &ctxs() {
        // The body as an OpenAI chat request, then as each other client format.
        outbound(&req, ctx);
        let inbound = [
            (
                "messages_to_chat_request",
                anthropic::messages_to_chat_request(&req, ctx),
            ),
            (
                "gemini_to_chat_request",
                gemini::gemini_to_chat_request(&req, ctx),
            ),
            ("responses_to_chat", responses_to_chat(&req, ctx)),
        ];
        for (what, result) in inbound {
            if let Some(chat) = ok(what, result) {
                check::openai_request(what, &chat);
                outbound(&chat, ctx);
            }
        }
    }
}

/// The pivot (OpenAI chat / embeddings request) to each provider.
fn outbound(chat: &Value, ctx: &RequestCtx) {
    if let Some(v) = ok("chat_to_messages", anthropic::chat_to_messages(chat, ctx)) {
        assert!(v.get("messages").is_some_and(Value::is_array), "{v}");
        assert!(v.get("max_tokens").is_some_and(Value::is_u64), "{v}");
    }
    if let Some(v) = ok("chat_to_gemini", gemini::chat_to_gemini(chat, ctx)) {
        assert!(v.get("contents").is_some_and(Value::is_array), "{v}");
    }
    match gemini::embeddings_to_gemini(chat, ctx) {
        Ok((suffix, body)) => {
            assert!(suffix.starts_with(':'), "embeddings method {suffix:?}");
            json("embeddings_to_gemini", body.to_string().as_bytes());
            assert!(body.is_object(), "{body}");
        }
        Err(e) => check::api_error("embeddings_to_gemini", &e),
    }
}

/// The value of an Ok result, checked as JSON; errors are checked as errors.
fn ok(what: &str, r: Result<Value, ApiError>) -> Option<Value> {
    match r {
        Ok(v) => Some(json(what, v.to_string().as_bytes())),
        Err(e) => {
            check::api_error(what, &e);
            None
        }
    }
}

/// Upstream statuses the error mappers are fed.
const ERROR_STATUSES: [u16; 7] = [400, 401, 404, 413, 429, 500, 529];

/// Arbitrary bytes through every whole-body response translator and error mapper.
pub fn response_translators(data: &[u8]) {
    for status in ERROR_STATUSES {
        let (s, b) = anthropic::error_to_openai(status, data);
        assert_eq!(s, status);
        check::openai_error("anthropic::error_to_openai", &json("a2o", &b));
        let (s, b) = anthropic::error_from_openai(status, data);
        assert_eq!(s, status);
        check::anthropic_error("anthropic::error_from_openai", &json("o2a", &b));
        let (s, b) = gemini::error_to_openai(status, data);
        assert!(
            (400..600).contains(&s),
            "gemini::error_to_openai status {s}"
        );
        check::openai_error("gemini::error_to_openai", &json("g2o", &b));
        let (s, b) = gemini::error_from_openai(status, data);
        assert_eq!(s, status);
        check::gemini_error("gemini::error_from_openai", &json("o2g", &b));
    }
    for format in [
        TapFormat::OpenAiChat,
        TapFormat::OpenAiResponses,
        TapFormat::OpenAiEmbeddings,
        TapFormat::Anthropic,
        TapFormat::Gemini,
    ] {
        if let Some((u, _)) = spend::usage_from_body(format, data) {
            check::usage("usage_from_body", &u);
        }
    }
    let ctxs = ctxs();
    for (client, provider) in translated_pairs() {
        for status in [200, 429] {
            let t = translation(client, provider, &ctxs[0], false);
            let (out, usage) = t.translate_body(status, data);
            let what = format!("translate_body {client:?} <- {provider:?} ({status})");
            let body = json(&what, &out);
            client_body(&what, client, status, &body);
            if let Some(u) = usage {
                check::usage(&what, &u);
                reported_usage(&what, client, &body, &u);
            }
        }
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for ctx in &ctxs {
        let provider_results = [
            ("messages_to_chat", anthropic::messages_to_chat(&v, ctx)),
            ("gemini_to_chat", gemini::gemini_to_chat(&v, ctx)),
        ];
        for (what, r) in provider_results {
            match r {
                Ok((chat, u)) => {
                    let chat = json(what, chat.to_string().as_bytes());
                    check::openai_chat(what, &chat);
                    check::usage(what, &u);
                    to_clients(&chat);
                }
                Err(e) => check::api_error(what, &e),
            }
        }
        for base64 in [false, true] {
            let opts = EmbedOptions {
                base64,
                prompt_tokens: ctx.default_max_tokens,
            };
            match gemini::gemini_to_embeddings(&v, opts, ctx) {
                Ok((out, u)) => {
                    let out = json("gemini_to_embeddings", out.to_string().as_bytes());
                    check::openai_embeddings("gemini_to_embeddings", &out);
                    check::usage("gemini_to_embeddings", &u);
                }
                Err(e) => check::api_error("gemini_to_embeddings", &e),
            }
        }
    }
    // The body as an OpenAI-compatible deployment's answer.
    to_clients(&v);
}

/// An OpenAI chat completion to every other client format.
fn to_clients(chat: &Value) {
    for req in [Value::Null, responses_request()] {
        if let Some(v) = ok("chat_to_responses", chat_to_responses(chat, &req)) {
            check::responses_object("chat_to_responses", &v);
        }
    }
    if let Some(v) = ok(
        "chat_to_messages_response",
        anthropic::chat_to_messages_response(chat),
    ) {
        check::anthropic_message("chat_to_messages_response", &v);
    }
    if let Some(v) = ok(
        "chat_to_gemini_response",
        gemini::chat_to_gemini_response(chat),
    ) {
        check::gemini_response("chat_to_gemini_response", &v);
    }
}

/// A whole body as the client receives it: its API's success or error shape.
pub(crate) fn client_body(what: &str, client: ClientApi, status: u16, v: &Value) {
    match (client, status >= 400) {
        (ClientApi::Chat, false) => check::openai_chat(what, v),
        (ClientApi::Responses, false) => check::responses_object(what, v),
        (ClientApi::Embeddings, false) => check::openai_embeddings(what, v),
        (ClientApi::Chat | ClientApi::Responses | ClientApi::Embeddings, true) => {
            check::openai_error(what, v)
        }
        (ClientApi::Anthropic, false) => check::anthropic_message(what, v),
        (ClientApi::Anthropic, true) => check::anthropic_error(what, v),
        (ClientApi::Gemini, false) => check::gemini_response(what, v),
        (ClientApi::Gemini, true) => check::gemini_error(what, v),
    }
}

/// A translated body reports the usage that was metered for it.
fn reported_usage(what: &str, client: ClientApi, body: &Value, metered: &crate::translate::Usage) {
    let n = |p: &str| body.pointer(p).and_then(Value::as_u64);
    let pairs = match client {
        ClientApi::Chat | ClientApi::Embeddings => [
            ("/usage/prompt_tokens", metered.prompt_tokens),
            ("/usage/completion_tokens", metered.completion_tokens),
        ],
        ClientApi::Responses => [
            ("/usage/input_tokens", metered.prompt_tokens),
            ("/usage/output_tokens", metered.completion_tokens),
        ],
        ClientApi::Anthropic => [
            ("/usage/output_tokens", metered.completion_tokens),
            ("/usage/cache_read_input_tokens", metered.cached_tokens),
        ],
        ClientApi::Gemini => [
            ("/usageMetadata/promptTokenCount", metered.prompt_tokens),
            ("/usageMetadata/totalTokenCount", metered.total()),
        ],
    };
    for (pointer, want) in pairs {
        if let Some(got) = n(pointer) {
            assert_eq!(
                got, want,
                "{what}: reported {pointer} differs from {metered:?}"
            );
        }
    }
}
