#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! Cost of translating recorded streamed answers, chunk by chunk as the filter
//! does. Run: `cargo bench -p tollgate-core --bench translate`.

use serde_json::Value;
use std::time::Instant;
use tollgate_core::providers::{anthropic, gemini};
use tollgate_core::translate::responses::ChatToResponsesStream;
use tollgate_core::translate::{RequestCtx, StreamTranslator};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../fixtures/providers/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"));
    v["response"]["body"]
        .as_str()
        .unwrap_or_default()
        .as_bytes()
        .to_vec()
}

fn ctx() -> RequestCtx {
    RequestCtx {
        model: "m".into(),
        client_model: "m".into(),
        stream: true,
        include_usage: true,
        drop_params: true,
        default_max_tokens: 4096,
    }
}

/// Feeds `body` in `chunk`-byte slices `rounds` times; returns µs per stream.
fn run(
    name: &str,
    body: &[u8],
    chunk: usize,
    rounds: u32,
    make: &dyn Fn() -> Box<dyn StreamTranslator>,
) {
    let mut out_bytes = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut t = make();
        for piece in body.chunks(chunk) {
            out_bytes += t.push(piece).len();
        }
        out_bytes += t.finish().len();
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let chunks = body.len().div_ceil(chunk);
    println!(
        "{name:<48} {:>6} B in {chunks:>3} chunks: {per:>8.1} µs/stream, {:>6.2} µs/chunk, {:>6.0} MB/s ({} B out)",
        body.len(),
        per / chunks as f64,
        body.len() as f64 / per,
        out_bytes / rounds as usize
    );
}

fn main() {
    let rounds = 2000;
    let a = fixture("anthropic/messages-stream-text.json");
    let a_tools = fixture("anthropic/messages-stream-tool-use.json");
    let g = fixture("gemini/stream-generate-content-text.json");
    let o = fixture("openai/chat-completions-stream-include-usage-text.json");
    for chunk in [64, 512] {
        run(
            &format!("anthropic text -> openai chat (chunk {chunk})"),
            &a,
            chunk,
            rounds,
            &|| Box::new(anthropic::MessagesToChatStream::new(&ctx())),
        );
        run(
            &format!("anthropic tool_use -> openai chat (chunk {chunk})"),
            &a_tools,
            chunk,
            rounds,
            &|| Box::new(anthropic::MessagesToChatStream::new(&ctx())),
        );
        run(
            &format!("gemini text -> openai chat (chunk {chunk})"),
            &g,
            chunk,
            rounds,
            &|| Box::new(gemini::GeminiToChatStream::new(ctx())),
        );
        run(
            &format!("openai chat -> responses events (chunk {chunk})"),
            &o,
            chunk,
            rounds,
            &|| Box::new(ChatToResponsesStream::new(&Value::Null)),
        );
        run(
            &format!("openai chat -> anthropic events (chunk {chunk})"),
            &o,
            chunk,
            rounds,
            &|| Box::new(anthropic::ChatToMessagesStream::new(&ctx())),
        );
    }
}
