//! Fixture loading, contexts, re-chunking and stream assembly for the golden tests.

use serde_json::Value;

use crate::translate::{RequestCtx, StreamTranslator};

/// A recorded interaction from shared/fixtures/providers/.
macro_rules! fixture {
    ($path:literal) => {{
        let text = include_str!(concat!("../../../../../../fixtures/providers/", $path));
        serde_json::from_str::<serde_json::Value>(text).unwrap()
    }};
}
pub(crate) use fixture;

/// The context a Gemini deployment of `model` gets.
pub fn ctx(model: &str, stream: bool, include_usage: bool) -> RequestCtx {
    RequestCtx {
        model: model.to_string(),
        client_model: "my-gemini".to_string(),
        stream,
        include_usage,
        drop_params: false,
        default_max_tokens: 4096,
    }
}

/// The raw response body of a stream fixture.
pub fn stream_body(fx: &Value) -> String {
    fx["response"]["body"].as_str().unwrap().to_string()
}

/// Runs a translator over the pieces and returns everything it emitted.
pub fn run<T: StreamTranslator>(mut t: T, pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        out.extend(t.push(p));
    }
    out.extend(t.finish());
    out
}

/// Tiny deterministic xorshift for random split points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The output with every `"created":<n>` zeroed (the clock may tick between runs).
pub fn normalize(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let mut result = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("\"created\":") {
        let (head, tail) = rest.split_at(i + 10);
        result.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        result.push('0');
        rest = &tail[digits..];
    }
    result.push_str(rest);
    result
}

/// Asserts that splitting `input` at every byte offset, and into random small
/// pieces, gives exactly the output of the unsplit translation; returns it.
pub fn check_rechunking<T: StreamTranslator>(input: &[u8], make: impl Fn() -> T) -> Vec<u8> {
    let whole = run(make(), &[input]);
    let want = normalize(&whole);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(normalize(&run(make(), &[a, b])), want, "split at {i}");
    }
    check_random_chunking(input, &want, make);
    whole
}

/// Random small pieces only (for long inputs that are not the subject of a test).
pub fn check_random_chunks<T: StreamTranslator>(input: &[u8], make: impl Fn() -> T) -> Vec<u8> {
    let whole = run(make(), &[input]);
    check_random_chunking(input, &normalize(&whole), make);
    whole
}

fn check_random_chunking<T: StreamTranslator>(input: &[u8], want: &str, make: impl Fn() -> T) {
    let mut rng = Rng::new(0x9e37_79b9);
    for round in 0..20 {
        let mut pieces = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = (1 + rng.below(12) as usize).min(rest.len());
            let (a, b) = rest.split_at(n);
            pieces.push(a);
            rest = b;
        }
        assert_eq!(
            normalize(&run(make(), &pieces)),
            want,
            "random round {round}"
        );
    }
}

/// The `data:` payloads of an SSE body, parsed (`[DONE]` becomes a string).
pub fn events(out: &[u8]) -> Vec<Value> {
    let mut p = crate::translate::sse::SseParser::default();
    let mut evs = p.push(out);
    evs.extend(p.finish());
    evs.into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}

/// An OpenAI chunk stream put back together.
#[derive(Debug, Default)]
pub struct Assembled {
    pub roles: usize,
    pub content: String,
    pub reasoning: String,
    /// (index, id, name, arguments)
    pub tool_calls: Vec<(u64, String, String, String)>,
    pub finish: Option<String>,
    pub usage: Option<Value>,
    pub grounding: Option<Value>,
    pub error: Option<Value>,
    pub done: bool,
    pub ids: Vec<String>,
    pub models: Vec<String>,
}

/// Assembles OpenAI chat chunks (single choice).
pub fn assemble(out: &[u8]) -> Assembled {
    let mut a = Assembled::default();
    for ev in events(out) {
        if ev == Value::String("[DONE]".into()) {
            a.done = true;
            continue;
        }
        assert!(!a.done, "event after [DONE]");
        if ev.get("error").is_some() {
            a.error = Some(ev["error"].clone());
            continue;
        }
        a.ids.push(ev["id"].as_str().unwrap().to_string());
        a.models.push(ev["model"].as_str().unwrap().to_string());
        assert_eq!(ev["object"], "chat.completion.chunk");
        if !ev["usage"].is_null() {
            a.usage = Some(ev["usage"].clone());
        }
        for ch in ev["choices"].as_array().unwrap() {
            let d = &ch["delta"];
            if d.get("role").is_some() {
                a.roles += 1;
            }
            a.content.push_str(d["content"].as_str().unwrap_or(""));
            a.reasoning
                .push_str(d["reasoning_content"].as_str().unwrap_or(""));
            for tc in d["tool_calls"].as_array().into_iter().flatten() {
                a.tool_calls.push((
                    tc["index"].as_u64().unwrap(),
                    tc["id"].as_str().unwrap().to_string(),
                    tc["function"]["name"].as_str().unwrap().to_string(),
                    tc["function"]["arguments"].as_str().unwrap().to_string(),
                ));
            }
            if let Some(g) = d.get("grounding_metadata") {
                a.grounding = Some(g.clone());
            }
            if let Some(f) = ch["finish_reason"].as_str() {
                assert!(a.finish.is_none(), "two finish reasons");
                a.finish = Some(f.to_string());
            }
        }
    }
    a
}

/// Concatenated text of the Gemini stream events in a fixture (by part kind).
pub fn recorded_text(body: &str, thought: bool) -> String {
    let mut text = String::new();
    for ev in gemini_events(body) {
        for part in ev["candidates"][0]["content"]["parts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if part["thought"].as_bool().unwrap_or(false) == thought {
                text.push_str(part["text"].as_str().unwrap_or(""));
            }
        }
    }
    text
}

/// The JSON objects of a recorded Gemini stream (SSE or JSON array).
pub fn gemini_events(body: &str) -> Vec<Value> {
    if body.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<Value>>(body).unwrap();
    }
    events(body.as_bytes())
}
