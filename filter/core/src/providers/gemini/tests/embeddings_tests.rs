//! OpenAI embeddings <-> Gemini embedContent / batchEmbedContents.

use serde_json::json;

use super::support::{ctx, fixture};
use crate::providers::gemini::embeddings::base64;
use crate::providers::gemini::{
    embeddings_to_gemini, gemini_to_embeddings, model_path, EmbedOptions,
};

#[test]
fn single_string_uses_embed_content() {
    let fx = fixture!("openai/embeddings-basic.json");
    let req = &fx["request"]["body"];
    let c = ctx("gemini-embedding-001", false, false);
    let (suffix, body) = embeddings_to_gemini(req, &c).unwrap();
    assert_eq!(suffix, ":embedContent");
    assert_eq!(
        format!("{}{suffix}", model_path("", &c.model)),
        "/v1beta/models/gemini-embedding-001:embedContent"
    );
    assert_eq!(
        body,
        json!({"model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": req["input"].as_str().unwrap()}]}})
    );
}

#[test]
fn lists_use_batch_with_dimensions() {
    let req = json!({"model": "e", "input": ["a", "bb"], "dimensions": 3});
    let (suffix, body) =
        embeddings_to_gemini(&req, &ctx("text-embedding-004", false, false)).unwrap();
    assert_eq!(suffix, ":batchEmbedContents");
    let one = |t: &str| {
        json!({"model": "models/text-embedding-004",
        "content": {"parts": [{"text": t}]}, "outputDimensionality": 3})
    };
    assert_eq!(body, json!({"requests": [one("a"), one("bb")]}));
}

#[test]
fn token_ids_and_bad_values_are_400() {
    let c = ctx("e", false, false);
    for req in [
        json!({"model": "e", "input": [1, 2, 3]}),
        json!({"model": "e", "input": [[1, 2]]}),
        json!({"model": "e", "input": []}),
        json!({"model": "e"}),
        json!({"model": "e", "input": "x", "dimensions": 0}),
        json!({"model": "e", "input": "x", "encoding_format": "hex"}),
        json!({"model": "e", "input": "x", "user": "u"}),
    ] {
        let err = embeddings_to_gemini(&req, &c).unwrap_err();
        assert_eq!(err.status, 400, "{req}");
    }
    let err = embeddings_to_gemini(&json!({"model": "e", "input": [1]}), &c).unwrap_err();
    assert_eq!(err.param, Some("input"));
}

#[test]
fn responses_become_openai_lists_with_estimated_usage() {
    let c = ctx("gemini-embedding-001", false, false);
    let req = json!({"model": "e", "input": ["hello world", "hi"]});
    let opts = EmbedOptions::from_request(&req);
    assert_eq!(
        opts,
        EmbedOptions {
            base64: false,
            prompt_tokens: 3 + 1
        }
    );
    let resp = json!({"embeddings": [{"values": [0.5, -0.25]}, {"values": [1.0, 0.0]}]});
    let (body, usage) = gemini_to_embeddings(&resp, opts, &c).unwrap();
    assert_eq!(
        body,
        json!({"object": "list", "model": "gemini-embedding-001",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
                {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]}],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}})
    );
    assert_eq!(usage.prompt_tokens, 4);
    let single = json!({"embedding": {"values": [0.1]}});
    let (body, _) = gemini_to_embeddings(&single, EmbedOptions::default(), &c).unwrap();
    assert_eq!(body["data"][0]["embedding"], json!([0.1]));
    assert!(gemini_to_embeddings(&json!({}), opts, &c).is_err());
}

#[test]
fn base64_is_little_endian_f32() {
    let opts = EmbedOptions {
        base64: true,
        prompt_tokens: 1,
    };
    let resp = json!({"embedding": {"values": [1.0, -2.5]}});
    let (body, _) = gemini_to_embeddings(&resp, opts, &ctx("e", false, false)).unwrap();
    let mut bytes = 1.0f32.to_le_bytes().to_vec();
    bytes.extend((-2.5f32).to_le_bytes());
    assert_eq!(bytes, [0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]);
    assert_eq!(body["data"][0]["embedding"], "AACAPwAAIMA=");
    assert!(EmbedOptions::from_request(&json!({"input": "x", "encoding_format": "base64"})).base64);
}

#[test]
fn base64_matches_rfc4648_vectors() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
    assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
}
