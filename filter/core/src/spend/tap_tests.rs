use super::*;
use crate::spend::test_support::{fixture, fixtures, Rng};

/// Runs a tap over `chunks`; returns what it passed through.
fn run(tap: &mut UsageTap, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend(tap.push(c));
    }
    out.extend(tap.finish());
    out
}

fn whole(format: TapFormat, body: &[u8]) -> UsageTap {
    let mut tap = UsageTap::new(format);
    assert_eq!(run(&mut tap, &[body]), body);
    tap
}

fn u(prompt: u64, completion: u64, cached: u64, created: u64, reasoning: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: cached,
        cache_creation_tokens: created,
        reasoning_tokens: reasoning,
    }
}

#[test]
fn every_recording_rechunked_gives_the_same_usage_and_bytes() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for f in fixtures() {
        let reference = whole(f.format, &f.body);
        let (usage, id) = (reference.captured(), reference.response_id());
        match f.name.as_str() {
            // Streamed without stream_options.include_usage: OpenAI reports nothing.
            "openai/chat-completions-stream.json" => assert!(usage.is_none()),
            _ if f.status == 200 => assert!(usage.is_some(), "{}", f.name),
            _ => assert!(usage.is_none() && id.is_none(), "{}", f.name),
        }
        if !f.stream {
            assert_eq!(
                usage_from_body(f.format, &f.body),
                usage.map(|u| (u, id.map(str::to_string))),
                "{}",
                f.name
            );
        }
        for max in [1, 3, 17, 64, 500, 4096] {
            for _ in 0..5 {
                let chunks = rng.chunks(&f.body, max);
                let mut tap = UsageTap::new(f.format);
                assert_eq!(run(&mut tap, &chunks), f.body, "{} passthrough", f.name);
                assert_eq!(tap.captured(), usage, "{} split {max}", f.name);
                assert_eq!(tap.response_id(), id, "{} split {max}", f.name);
                assert_eq!(tap.usage(), usage.unwrap_or_default());
            }
        }
    }
}

#[test]
fn recorded_usage_values() {
    for (name, want, id) in [
        (
            "openai/chat-completions-stream-include-usage-text.json",
            u(78, 9, 0, 0, 0),
            "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc",
        ),
        (
            "openai/chat-completions-stream-include-usage-reasoning.json",
            u(12, 100, 0, 0, 100),
            "chatcmpl-C4Hq5a6K3RaPMymUv70btQNYv6SvY",
        ),
        (
            "openai/responses-stream-function-call.json",
            u(53, 469, 0, 0, 448),
            "resp_0050471a34b36ae60068c97b94a480819587a9d70cf2979b33",
        ),
        (
            "openai/responses-basic.json",
            u(14, 8, 0, 0, 0),
            "resp_68c2e8c147ac819491bcd667055eadbc02e845978fbbb592",
        ),
        (
            "anthropic/messages-stream-tool-use.json",
            u(429, 140, 0, 0, 0),
            "msg_011RyssDpYDzSyU3zK8Bhvbf",
        ),
        (
            "anthropic/messages-text.json",
            u(20, 10, 0, 0, 0),
            "msg_01Fg1JVgvCYUHWsxrj9GkpEv",
        ),
        (
            "gemini/stream-generate-content-usage.json",
            u(18, 115, 0, 0, 35),
            "ru1garvBEoOiqtsP2fznmQw",
        ),
        (
            "gemini/stream-generate-content-json-array.json",
            u(11, 293, 0, 0, 291),
            "IopyaseNCL-s-8YP7urOoAY",
        ),
        (
            "gemini/generate-content-google-search.json",
            u(136, 414, 0, 0, 213),
            "btnJaOrqE4_6qtsP7bOboQs",
        ),
    ] {
        let f = fixture(name);
        let tap = whole(f.format, &f.body);
        assert_eq!(tap.captured(), Some(want), "{name}");
        assert_eq!(tap.response_id(), Some(id), "{name}");
    }
    // Embeddings have usage but no id.
    let f = fixture("openai/embeddings-basic.json");
    assert_eq!(
        usage_from_body(f.format, &f.body),
        Some((u(7, 0, 0, 0, 0), None))
    );
}

#[test]
fn anthropic_cache_counts_merge_across_events() {
    let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","usage":{"input_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":1}}}"#;
    let only_output = r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":30}}"#;
    let repeated = r#"{"type":"message_delta","delta":{},"usage":{"input_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20,"output_tokens":31}}"#;
    for (delta, out) in [(only_output, 30), (repeated, 31)] {
        let body = format!(
            "event: message_start\ndata: {start}\n\nevent: message_delta\ndata: {delta}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
        );
        let tap = whole(TapFormat::Anthropic, body.as_bytes());
        assert_eq!(tap.captured(), Some(u(125, out, 100, 20, 0)));
        assert_eq!(tap.response_id(), Some("msg_1"));
    }
}

#[test]
fn responses_usage_from_any_terminal_event() {
    let body = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_9\",\"usage\":null}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"usage\"}\n\n",
        "event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_9\",",
        "\"usage\":{\"input_tokens\":40,\"input_tokens_details\":{\"cached_tokens\":32},",
        "\"output_tokens\":16,\"output_tokens_details\":{\"reasoning_tokens\":12}}}}\n\n",
    );
    let tap = whole(TapFormat::OpenAiResponses, body.as_bytes());
    assert_eq!(tap.captured(), Some(u(40, 16, 32, 0, 12)));
    assert_eq!(tap.response_id(), Some("resp_9"));
}

#[test]
fn a_last_event_without_its_blank_line_is_read_at_finish() {
    let body = b"data: {\"id\":\"c1\",\"choices\":[]}\n\ndata: {\"id\":\"c1\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
    let mut tap = UsageTap::new(TapFormat::OpenAiChat);
    tap.push(body);
    assert_eq!(tap.captured(), None);
    assert!(tap.finish().is_empty());
    assert_eq!(tap.captured(), Some(u(3, 4, 0, 0, 0)));
}

#[test]
fn garbage_passes_through_and_captures_nothing() {
    let mut rng = Rng(99);
    let random: Vec<u8> = (0..5000).map(|_| rng.next() as u8).collect();
    let cases: Vec<&[u8]> = vec![
        b"",
        b"   \n\n",
        b"data: {not json\n\n",
        b"data: [DONE]\n\n",
        b"data: {\"usage\": 5, \"id\": 7}\n\n",
        b"{\"usage\": [1, 2]",
        b"[1, 2, {\"usageMetadata\": \"x\"}",
        b"}}}]]]{{{",
        b"event: x\r\n\r\n\xff\xfe\x00",
        &random,
    ];
    for format in [
        TapFormat::OpenAiChat,
        TapFormat::OpenAiResponses,
        TapFormat::OpenAiEmbeddings,
        TapFormat::Anthropic,
        TapFormat::Gemini,
    ] {
        for body in &cases {
            for max in [1, 7, 10_000] {
                let mut tap = UsageTap::new(format);
                assert_eq!(run(&mut tap, &rng.chunks(body, max)), *body);
                assert_eq!(tap.captured(), None, "{format:?} {body:?}");
                assert_eq!(tap.usage(), Usage::default());
            }
            assert_eq!(usage_from_body(format, body), None);
        }
    }
}

#[test]
fn an_endless_event_makes_the_tap_stop_looking() {
    let mut tap = UsageTap::new(TapFormat::OpenAiChat);
    let filler = vec![b'a'; 1024 * 1024];
    tap.push(b"data: ");
    for _ in 0..=MAX_PENDING / filler.len() {
        assert_eq!(tap.push(&filler).len(), filler.len());
    }
    assert!(matches!(tap.mode, Mode::Off));
    tap.push(b"\n\ndata: {\"id\":\"x\",\"usage\":{\"prompt_tokens\":1}}\n\n");
    tap.finish();
    assert_eq!(tap.captured(), None);
}

#[test]
fn whole_bodies_read_the_same_as_a_full_parse() {
    let gemini_array = br#"[{"responseId":"g1","usageMetadata":{"promptTokenCount":3}},
        {"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":5}}]"#;
    let cases: [(TapFormat, &[u8], Option<&str>, u64); 5] = [
        // A duplicate key makes the skipping parse refuse; the full one keeps the last.
        (
            TapFormat::OpenAiChat,
            br#"{"id":"a","id":"b","usage":{"prompt_tokens":2,"completion_tokens":1}}"#,
            Some("b"),
            3,
        ),
        (
            TapFormat::OpenAiChat,
            br#" {"choices":[{"message":{"content":"{\"usage\":1}"}}],"usage":{"prompt_tokens":4,"completion_tokens":2},"id":"c"}"#,
            Some("c"),
            6,
        ),
        (TapFormat::Gemini, gemini_array, Some("g1"), 8),
        (
            TapFormat::Anthropic,
            br#"{"type":"message","id":"m","usage":{"input_tokens":2,"output_tokens":2}}"#,
            Some("m"),
            4,
        ),
        (
            TapFormat::OpenAiResponses,
            br#"{"id":"r","usage":{"input_tokens":1,"output_tokens":1},"output":[]}"#,
            Some("r"),
            2,
        ),
    ];
    for (format, body, id, total) in cases {
        let (usage, got) = usage_from_body(format, body).unwrap();
        assert_eq!(got.as_deref(), id, "{format:?}");
        assert_eq!(usage.total(), total, "{format:?}");
    }
}
