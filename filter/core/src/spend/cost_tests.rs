use super::*;
use crate::spend::tap::{usage_from_body, UsageTap};
use crate::spend::test_support::{deployment, fixture};
use crate::translate::StreamTranslator;
use serde_json::json;

/// Usage of a recorded response, whole body or stream.
fn recorded_usage(name: &str) -> Usage {
    let f = fixture(name);
    if f.stream {
        let mut tap = UsageTap::new(f.format);
        tap.push(&f.body);
        tap.finish();
        tap.captured().unwrap()
    } else {
        usage_from_body(f.format, &f.body).unwrap().0
    }
}

fn usage(prompt: u64, cached: u64, created: u64, completion: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: cached,
        cache_creation_tokens: created,
        reasoning_tokens: 0,
    }
}

#[test]
fn recorded_usage_shapes_cost_list_price() {
    // Expected values worked out by hand in pico-dollars (USD x 1e12), rounded up to micros.
    for (fixture, model, want) in [
        // gpt-5-nano: 8 x $0.05/M + 377 x $0.40/M (320 of them reasoning) = 151.2 micros.
        (
            "openai/chat-completions-basic.json",
            "openai/gpt-5-nano",
            152,
        ),
        // gpt-4o via Responses: 14 x $2.50/M + 8 x $10/M.
        ("openai/responses-basic.json", "openai/gpt-4o", 115),
        // 7 x $0.02/M = 0.14 micros, rounded up.
        (
            "openai/embeddings-basic.json",
            "openai/text-embedding-3-small",
            1,
        ),
        // claude-3-7-sonnet stream: 429 x $3/M + 140 x $15/M (message_delta carries only output).
        (
            "anthropic/messages-stream-tool-use.json",
            "anthropic/claude-3-7-sonnet-20250219",
            3387,
        ),
        // gemini-2.5-pro: (17 + 119 tool-use) x $1.25/M + (201 + 213 thoughts) x $10/M.
        (
            "gemini/generate-content-google-search.json",
            "gemini/gemini-2.5-pro",
            4310,
        ),
        // gemini-2.5-flash stream, last cumulative report: 18 x $0.30/M + (80 + 35) x $2.50/M.
        (
            "gemini/stream-generate-content-usage.json",
            "gemini/models/gemini-2.5-flash",
            293,
        ),
    ] {
        let dep = deployment(model, "");
        assert_eq!(
            cost_micros(&dep, &recorded_usage(fixture)),
            want,
            "{fixture}"
        );
    }
}

#[test]
fn cache_reads_and_writes() {
    // OpenAI: 400 plain x $2/M + 600 cached x $0.50/M + 100 x $8/M.
    let dep = deployment("openai/gpt-4.1-2025-04-14", "");
    assert_eq!(cost_micros(&dep, &usage(1000, 600, 0, 100)), 1900);
    // Anthropic: 100 plain x $3/M + 1000 read x $0.30/M + 200 written x $3.75/M + 50 x $15/M.
    let dep = deployment("anthropic/claude-sonnet-4-20250514", "");
    assert_eq!(cost_micros(&dep, &usage(1300, 1000, 200, 50)), 2100);
}

#[test]
fn model_info_overrides_the_table() {
    let u = usage(1300, 1000, 200, 50);
    // Input overridden: cache prices keep the table's 0.1x / 1.25x ratios; output from the table.
    let dep = deployment(
        "anthropic/claude-sonnet-4-5",
        "input_cost_per_token: 0.000006",
    );
    assert_eq!(cost_micros(&dep, &u), 600 + 600 + 1500 + 750);
    // Explicit cache prices win over ratios.
    let dep = deployment(
        "anthropic/claude-sonnet-4-5",
        "cache_read_input_token_cost: 0.0000001, cache_creation_input_token_cost: 0.000005",
    );
    assert_eq!(cost_micros(&dep, &u), 300 + 100 + 1000 + 750);
    // Unknown model: only the configured prices; cached tokens cost the input price.
    let dep = deployment(
        "openai/my-finetune",
        "input_cost_per_token: 0.000001, output_cost_per_token: 0.000002",
    );
    assert_eq!(cost_micros(&dep, &usage(100, 50, 0, 10)), 120);
    // base_model names the list price of a custom deployment name.
    let dep = deployment("openai/prod-small", "base_model: azure/gpt-4o-mini");
    assert_eq!(
        cost_micros(&dep, &usage(1_000_000, 0, 0, 1_000_000)),
        750_000
    );
    // Unknown model without prices: free, never an error.
    let dep = deployment("openai/llama-3-70b", "");
    assert_eq!(cost_micros(&dep, &usage(1000, 0, 0, 1000)), 0);
    assert_eq!(worst_case_micros(&dep, 1000, 1000), 0);
}

#[test]
fn config_validates_cache_prices() {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o}\n    model_info: {cache_read_input_token_cost: -1}\n";
    let e = crate::config::Config::load(yaml, &|_| None).unwrap_err();
    assert_eq!(
        e.path,
        "model_list[0].model_info.cache_read_input_token_cost"
    );
}

#[test]
fn zero_rounding_and_saturation() {
    let dep = deployment("openai/gpt-5-nano", "");
    assert_eq!(cost_micros(&dep, &Usage::default()), 0);
    // One input token is 0.05 micros: any spend rounds up to a whole micro-dollar.
    assert_eq!(cost_micros(&dep, &usage(1, 0, 0, 0)), 1);
    assert_eq!(cost_micros(&dep, &usage(20, 0, 0, 0)), 1);
    assert_eq!(cost_micros(&dep, &usage(21, 0, 0, 0)), 2);
    let max = Usage {
        prompt_tokens: u64::MAX,
        completion_tokens: u64::MAX,
        cached_tokens: u64::MAX,
        cache_creation_tokens: u64::MAX,
        reasoning_tokens: u64::MAX,
    };
    assert_eq!(
        cost_micros(&deployment("openai/gpt-4o", ""), &max),
        u64::MAX
    );
    assert_eq!(
        worst_case_micros(&deployment("openai/gpt-4o", ""), u64::MAX, u64::MAX),
        u64::MAX
    );
    // Cached counts above the prompt (inconsistent provider data): no underflow.
    let dep = deployment("openai/gpt-4o", "");
    assert_eq!(cost_micros(&dep, &usage(10, 20, 5, 0)), 25 + 13);
    // Prices that config validation refuses still cannot produce NaN or wrap.
    let mut dep = deployment("openai/gpt-4o", "");
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
        dep.input_cost_per_token = bad;
        dep.output_cost_per_token = bad;
        assert_eq!(cost_micros(&dep, &usage(14, 0, 0, 8)), 115, "{bad}");
    }
    dep.input_cost_per_token = 1e300;
    assert_eq!(cost_micros(&dep, &usage(1, 0, 0, 0)), u64::MAX);
}

#[test]
fn worst_case_uses_the_dearest_prompt_price() {
    // Anthropic cache writes (1.25x) are the dearest way to bill a prompt token.
    let dep = deployment("anthropic/claude-sonnet-4-0", "");
    assert_eq!(worst_case_micros(&dep, 1000, 100), 3750 + 1500);
    let dep = deployment("openai/gpt-4o", "");
    assert_eq!(worst_case_micros(&dep, 1000, 100), 2500 + 1000);
    // The bound covers any actual split of the same token counts.
    for u in [usage(1000, 1000, 0, 100), usage(1000, 0, 1000, 100)] {
        assert!(cost_micros(&dep, &u) <= worst_case_micros(&dep, 1000, 100));
    }
}

#[test]
fn prompt_estimates() {
    assert_eq!(estimate_prompt_tokens(b""), 1);
    assert_eq!(estimate_prompt_tokens(b"abcd"), 1);
    assert_eq!(estimate_prompt_tokens(b"abcde"), 2);
    assert_eq!(estimate_prompt_tokens(&[b'x'; 4001]), 1001);
}

#[test]
fn output_caps() {
    assert_eq!(max_output_tokens(&json!({}), 4096), 4096);
    assert_eq!(max_output_tokens(&json!({"max_tokens": 100}), 4096), 100);
    assert_eq!(
        max_output_tokens(&json!({"max_completion_tokens": 300}), 7),
        300
    );
    assert_eq!(max_output_tokens(&json!({"max_output_tokens": 50}), 7), 50);
    assert_eq!(
        max_output_tokens(&json!({"generationConfig": {"maxOutputTokens": 64}}), 7),
        64
    );
    assert_eq!(
        max_output_tokens(&json!({"max_tokens": 10, "max_completion_tokens": 20}), 7),
        20
    );
    for ignored in [
        json!({"max_tokens": 0}),
        json!({"max_tokens": -5}),
        json!({"max_tokens": "100"}),
        json!({"max_tokens": null}),
        json!([1, 2]),
        json!("text"),
    ] {
        assert_eq!(max_output_tokens(&ignored, 7), 7, "{ignored}");
    }
}
