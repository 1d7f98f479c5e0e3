use super::*;
use crate::keys::store::MemStore;
use crate::spend::SpendRecord;

#[test]
fn series_names_carry_their_labels_before_the_metric() {
    let n = series(&REQUESTS, &["gpt-4o", "d1", "openai", "2xx", "alice"]);
    assert_eq!(
        n,
        "model_group=gpt-4o;deployment=d1;provider=openai;status_class=2xx;key=alice;tollgate_requests_total"
    );
    // Missing values read `none`.
    assert_eq!(
        series(&RETRIES, &[]),
        "model_group=none;tollgate_retries_total"
    );
}

#[test]
fn values_cannot_break_tag_extraction() {
    assert_eq!(sanitize("openai/gpt-4.1"), "openai_gpt-4_1");
    assert_eq!(sanitize("a;key=b"), "a_key_b");
    assert_eq!(sanitize("x y\tz\n"), "x_y_z_");
    assert_eq!(sanitize("dépt"), "d_pt");
    assert_eq!(sanitize(""), "none");
    let long = "a".repeat(200);
    assert_eq!(sanitize(&long).len(), MAX_VALUE_LEN);
    for v in ["a.b", "k=v", "x;y", "\"q\"", "back\\slash", "{}"] {
        let s = sanitize(v);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{v} -> {s}"
        );
    }
}

/// Applies the stats_tags the way Envoy does (every regex against the original
/// name; first group cut, second group the value), without a regex engine: the
/// regexes are all `(?:^|[.;])(L=([^;]*);)`.
fn extract(name: &str) -> (String, Vec<(String, String)>) {
    let mut rest = String::new();
    let mut tags = Vec::new();
    let labels = label_names();
    for part in name.split_inclusive(';') {
        let tag = part
            .strip_suffix(';')
            .and_then(|p| p.split_once('='))
            .filter(|(l, _)| labels.contains(l));
        match tag {
            Some((l, v)) => tags.push((l.to_string(), v.to_string())),
            None => rest.push_str(part),
        }
    }
    (rest, tags)
}

#[test]
fn every_label_has_a_tag_regex_and_the_name_comes_out_clean() {
    let tags = stats_tags();
    for m in ALL {
        for l in m.labels {
            let (_, re) = tags.iter().find(|(n, _)| n == l).unwrap();
            assert_eq!(re, &format!("(?:^|[.;])({l}=([^;]*);)"));
        }
        let values: Vec<&str> = m.labels.iter().map(|_| "v.a;l=ue").collect();
        let (rest, got) = extract(&series(&m, &values));
        assert_eq!(rest, m.name);
        assert_eq!(got.len(), m.labels.len());
        assert!(got.iter().all(|(_, v)| v == "v_a_l_ue"));
    }
    // Envoy's $-anchored extractors (`_rq_200`) never see a label value at the end.
    assert!(ALL.iter().all(|m| !m.name.contains("_rq_")));
}

#[test]
fn names_are_prometheus_names() {
    for m in ALL {
        assert!(m.name.starts_with("tollgate_"), "{}", m.name);
        assert!(m
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        if m.kind == Type::Counter {
            assert!(m.name.ends_with("_total"), "{}", m.name);
        }
    }
}

#[test]
fn status_classes() {
    assert_eq!(status_class(200), "2xx");
    assert_eq!(status_class(429), "4xx");
    assert_eq!(status_class(499), "4xx");
    assert_eq!(status_class(503), "5xx");
    assert_eq!(status_class(0), "other");
    assert_eq!(status_class(700), "other");
}

#[test]
fn key_label_settings() {
    assert_eq!(KeyLabel::parse("key_alias"), Ok(KeyLabel::Alias));
    assert_eq!(KeyLabel::parse("alias"), Ok(KeyLabel::Alias));
    assert_eq!(KeyLabel::parse("team"), Ok(KeyLabel::Team));
    assert_eq!(KeyLabel::parse("user_id"), Ok(KeyLabel::User));
    assert_eq!(KeyLabel::parse("none"), Ok(KeyLabel::None));
    assert_eq!(
        KeyLabel::parse("metadata.department"),
        Ok(KeyLabel::Metadata("department".into()))
    );
    assert!(KeyLabel::parse("metadata.").is_err());
    assert!(KeyLabel::parse("token").unwrap_err().contains("key_alias"));
    let mut meta = serde_json::Map::new();
    meta.insert("department".into(), "research".into());
    meta.insert("n".into(), 3.into());
    let pick = |l: KeyLabel| {
        l.pick(Some("alice"), Some("t1"), None, &meta)
            .map(String::from)
    };
    assert_eq!(pick(KeyLabel::Alias).as_deref(), Some("alice"));
    assert_eq!(pick(KeyLabel::Team).as_deref(), Some("t1"));
    assert_eq!(pick(KeyLabel::User), None);
    assert_eq!(pick(KeyLabel::None), None);
    assert_eq!(
        pick(KeyLabel::Metadata("department".into())).as_deref(),
        Some("research")
    );
    assert_eq!(pick(KeyLabel::Metadata("n".into())), None, "strings only");
    assert_eq!(KeyLabel::Alias.pick(Some(""), None, None, &meta), None);
}

#[test]
fn key_values_are_capped_gateway_wide() {
    let store = MemStore::default();
    let mut a = KeyValues::default();
    let mut b = KeyValues::default();
    assert_eq!(a.label(&store, 2, Some("alice")), "alice");
    assert_eq!(b.label(&store, 2, Some("bob.smith")), "bob_smith");
    // Both places are taken: a third name is `other` in every VM.
    assert_eq!(a.label(&store, 2, Some("carol")), OTHER);
    assert_eq!(b.label(&store, 2, Some("carol")), OTHER);
    // Known names stay, in a VM that had not met them too.
    assert_eq!(a.label(&store, 2, Some("bob.smith")), "bob_smith");
    assert_eq!(b.label(&store, 2, Some("alice")), "alice");
    assert_eq!(a.label(&store, 2, None), "none");
    // Names that sanitise alike share a place.
    assert_eq!(a.label(&store, 2, Some("bob;smith")), "bob_smith");
}

#[test]
fn settled_request_updates() {
    let r = SpendRecord {
        model_group: "gpt-4o".into(),
        model_id: "d.1".into(),
        provider: "openai".into(),
        prompt_tokens: 10,
        completion_tokens: 5,
        cached_tokens: 2,
        reasoning_tokens: 1,
        spend_micros: 123,
        status: 200,
        ..SpendRecord::default()
    };
    let u = settled(&Settled {
        record: &r,
        key: "alice",
        duration_ms: 40,
        ttft_ms: Some(7),
        retries: 1,
        fallbacks: 0,
    });
    let find = |m: &str| u.iter().find(|x| x.name.ends_with(m)).unwrap().clone();
    let req = find("tollgate_requests_total");
    assert_eq!(
        req.name,
        "model_group=gpt-4o;deployment=d_1;provider=openai;status_class=2xx;key=alice;tollgate_requests_total"
    );
    assert_eq!((req.kind, req.value), (Type::Counter, 1));
    assert_eq!(find("tollgate_prompt_tokens_total").value, 10);
    assert_eq!(find("tollgate_completion_tokens_total").value, 5);
    assert_eq!(find("tollgate_cached_tokens_total").value, 2);
    assert_eq!(find("tollgate_reasoning_tokens_total").value, 1);
    assert_eq!(find("tollgate_cost_micro_usd_total").value, 123);
    let d = find("tollgate_request_duration_milliseconds");
    assert_eq!((d.kind, d.value), (Type::Histogram, 40));
    assert_eq!(find("tollgate_time_to_first_token_milliseconds").value, 7);
    assert_eq!(find("tollgate_retries_total").value, 1);
    assert_eq!(find("tollgate_fallbacks_total").value, 0);
    // No TTFT sample without a stream.
    let u = settled(&Settled {
        ttft_ms: None,
        record: &r,
        key: "alice",
        duration_ms: 1,
        retries: 0,
        fallbacks: 0,
    });
    assert!(!u.iter().any(|x| x.name.contains("first_token")));
    let rej = rejection("alice", "rpm");
    assert_eq!(rej.name, "key=alice;reason=rpm;tollgate_rejections_total");
}

#[test]
fn settled_values_and_labels_match_the_named_updates() {
    let mut r = SpendRecord {
        model_group: "g".into(),
        model_id: "d".into(),
        provider: "anthropic".into(),
        prompt_tokens: 3,
        completion_tokens: 4,
        cached_tokens: 5,
        reasoning_tokens: 6,
        spend_micros: 7,
        status: 200,
        ..SpendRecord::default()
    };
    let mut seen = std::collections::HashMap::new();
    for (status, ttft, key) in [
        (200, Some(9), "a"),
        (200, None, "a"),
        (503, None, "a"),
        (200, None, "b"),
        (201, None, "a"),
    ] {
        r.status = status;
        let s = Settled {
            record: &r,
            key,
            duration_ms: 8,
            ttft_ms: ttft,
            retries: 2,
            fallbacks: 1,
        };
        let named = settled(&s);
        let values: Vec<u64> = named.iter().map(|u| u.value).collect();
        assert_eq!(settled_values(&s), values);
        let names: Vec<String> = named.into_iter().map(|u| u.name).collect();
        // One label string per distinct set of series names, and back.
        if let Some(before) = seen.insert(settled_labels(&s), names.clone()) {
            assert_eq!(before, names);
        }
    }
    assert_eq!(seen.len(), 4, "200 and 201 share their series");
}

#[test]
fn limit_refusals_are_marked_for_the_rejections_metric() {
    use crate::limits::reject::Limit;
    for (l, name) in [
        (Limit::Rpm(1), "rpm"),
        (Limit::Tpm(1, 1, 1), "tpm"),
        (Limit::Parallel(1), "parallel"),
        (Limit::ModelRpm("g", 1), "model_rpm"),
        (Limit::ModelTpm("g", 1, 1, 1), "model_tpm"),
    ] {
        assert_eq!(l.name(), name);
    }
    let e = crate::ApiError::rate_limited("requests", "x").with_limit("rpm");
    assert_eq!(crate::LocalReply::from(e).limit, Some("rpm"));
}
