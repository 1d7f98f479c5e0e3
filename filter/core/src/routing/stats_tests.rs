use super::*;
use crate::config::Config;
use crate::keys::MemStore;

fn routing(strategy: Strategy) -> Routing {
    Routing {
        strategy,
        ..Routing::default()
    }
}

fn dep(id: &str) -> Deployment {
    let text = format!("model_list:\n  - {{model_name: g, litellm_params: {{model: openai/m}}, model_info: {{id: {id}}}}}\n");
    let cfg = Config::load(&text, &|_| None).unwrap();
    cfg.deployments[0].clone()
}

#[test]
fn least_busy_counts_in_flight_until_the_end() {
    let s = MemStore::default();
    let r = routing(Strategy::LeastBusy);
    let t1 = begin(&s, &r, "d");
    let t2 = begin(&s, &r, "d");
    assert!(t1.in_flight && !t1.latency);
    assert_eq!(in_flight(&s, "d"), 2);
    end(&s, &r, "d", t1, Some(10), 100);
    assert_eq!(in_flight(&s, "d"), 1);
    // Failures and disconnects end the same way (no latency).
    end(&s, &r, "d", t2, None, 100);
    assert_eq!(in_flight(&s, "d"), 0);
    assert!(latency(&s, "d").is_none(), "least-busy keeps no latency");
}

#[test]
fn the_gauge_never_goes_below_zero() {
    let s = MemStore::default();
    let r = routing(Strategy::LeastBusy);
    let t = begin(&s, &r, "d");
    end(&s, &r, "d", t, None, 0);
    end(&s, &r, "d", t, None, 0);
    assert_eq!(in_flight(&s, "d"), 0);
    assert_eq!(in_flight(&s, "other"), 0);
}

#[test]
fn what_was_taken_is_given_back_even_after_a_strategy_change() {
    let s = MemStore::default();
    let t = begin(&s, &routing(Strategy::LeastBusy), "d");
    // A reload switched to simple-shuffle while the request was in flight.
    end(&s, &routing(Strategy::SimpleShuffle), "d", t, Some(5), 0);
    assert_eq!(in_flight(&s, "d"), 0);
    // And a request begun without tracking releases nothing.
    let other = begin(&s, &routing(Strategy::LeastBusy), "d");
    let untracked = begin(&s, &routing(Strategy::SimpleShuffle), "d");
    assert_eq!(untracked, Tracked::default());
    end(&s, &routing(Strategy::LeastBusy), "d", untracked, None, 0);
    assert_eq!(in_flight(&s, "d"), 1);
    end(&s, &routing(Strategy::LeastBusy), "d", other, None, 0);
    assert_eq!(in_flight(&s, "d"), 0);
}

#[test]
fn latency_is_an_exponential_moving_average_of_successes() {
    let s = MemStore::default();
    let r = Routing {
        latency_alpha: 0.5,
        ..routing(Strategy::LatencyBased)
    };
    let t = begin(&s, &r, "d");
    assert!(t.latency && !t.in_flight);
    assert_eq!(in_flight(&s, "d"), 0, "latency-based keeps no gauge");
    end(&s, &r, "d", t, Some(100), 1_000);
    assert_eq!(latency(&s, "d").unwrap().ewma_ms, 100.0, "first sample");
    end(&s, &r, "d", t, Some(200), 1_001);
    assert_eq!(latency(&s, "d").unwrap().ewma_ms, 150.0);
    end(&s, &r, "d", t, None, 1_002);
    let l = latency(&s, "d").unwrap();
    assert_eq!(
        (l.ewma_ms, l.updated),
        (150.0, 1_001),
        "failures add no sample"
    );
}

#[test]
fn stale_latency_counts_as_unmeasured_and_restarts() {
    let s = MemStore::default();
    let r = Routing {
        latency_ttl_secs: 60,
        latency_alpha: 0.5,
        ..routing(Strategy::LatencyBased)
    };
    let d = dep("d");
    record_latency(&s, "d", 900.0, &r, 1_000).unwrap();
    assert_eq!(StoreLoad::new(&s, &r, 1_060).latency_ms(&d), Some(900.0));
    assert_eq!(StoreLoad::new(&s, &r, 1_061).latency_ms(&d), None);
    record_latency(&s, "d", 100.0, &r, 1_061).unwrap();
    assert_eq!(latency(&s, "d").unwrap().ewma_ms, 100.0, "not blended");
}

#[test]
fn corrupt_latency_reads_as_unmeasured() {
    let s = MemStore::default();
    let d = dep("d");
    let r = routing(Strategy::LatencyBased);
    for junk in [&b"fast"[..], b"NaN:5", b"-3:5", b"12"] {
        s.set(&latency_key("d"), junk, None).unwrap();
        assert_eq!(StoreLoad::new(&s, &r, 5).latency_ms(&d), None, "{junk:?}");
    }
    record_latency(&s, "d", 40.0, &r, 6).unwrap();
    assert_eq!(StoreLoad::new(&s, &r, 6).latency_ms(&d), Some(40.0));
}

#[test]
fn store_load_reads_the_deployment_tpm_window() {
    let s = MemStore::default();
    let d = dep("d");
    let r = routing(Strategy::UsageBased);
    let key = deployment_counter("d", "tpm");
    crate::limits::counter::window_add(&s, &key, 100, 250, None).unwrap();
    assert_eq!(StoreLoad::new(&s, &r, 100 * 60 + 59).tpm_used(&d), 250);
    assert_eq!(
        StoreLoad::new(&s, &r, 101 * 60).tpm_used(&d),
        0,
        "next minute"
    );
    assert_eq!(
        begin(&s, &r, "d"),
        Tracked::default(),
        "admission counts tpm"
    );
}
