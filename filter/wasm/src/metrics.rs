//! Gateway metrics as Envoy stats. tollgate-core names the series and decides
//! what moves; this defines each series once per VM (defining is a host call),
//! caches its id and makes the increment / record calls.

use crate::host;
use crate::http::Http;
use crate::store::SharedData;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use std::collections::HashMap;
use tollgate_core::failover::{breaker, Kind};
use tollgate_core::keys::KeyRecord;
use tollgate_core::metrics::{self, KeyValues, Settled, Type, Update};
use tollgate_core::spend::SpendRecord;
use tollgate_core::Gateway;

/// This VM's series ids and the key label values it has met.
#[derive(Default)]
struct Registry {
    ids: HashMap<String, u32>,
    keys: KeyValues,
    /// A settled request's series (id, type) by label set ([`metrics::settled_labels`]):
    /// naming ten series per request costs more than updating them. Bounded like
    /// the series themselves (groups, deployments, status classes, capped keys).
    settled: HashMap<String, Vec<(Option<u32>, Type)>>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

impl Registry {
    fn id(&mut self, u: &Update) -> Option<u32> {
        if let Some(id) = self.ids.get(&u.name) {
            return Some(*id);
        }
        let kind = match u.kind {
            Type::Counter => MetricType::Counter,
            Type::Gauge => MetricType::Gauge,
            Type::Histogram => MetricType::Histogram,
        };
        match hostcalls::define_metric(kind, &u.name) {
            Ok(id) => {
                self.ids.insert(u.name.clone(), id);
                Some(id)
            }
            Err(s) => {
                log::debug!("could not define metric {}: {s:?}", u.name);
                None
            }
        }
    }

    fn apply(&mut self, u: &Update) {
        let id = self.id(u);
        update(id, u.kind, u.value, &u.name);
    }
}

/// One update of a defined series.
fn update(id: Option<u32>, kind: Type, value: u64, name: &str) {
    let Some(id) = id else {
        return;
    };
    let done = match kind {
        // Defined (so the series shows as 0) but nothing to add.
        Type::Counter if value == 0 => Ok(()),
        Type::Counter => hostcalls::increment_metric(id, i64::try_from(value).unwrap_or(i64::MAX)),
        Type::Gauge | Type::Histogram => hostcalls::record_metric(id, value),
    };
    if let Err(s) = done {
        log::debug!("could not update metric {name}: {s:?}");
    }
}

fn apply(updates: &[Update]) {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        for u in updates {
            r.apply(u);
        }
    });
}

/// The `key` label value for a key with these properties (capped gateway-wide).
fn key_label(
    gateway: &Gateway,
    alias: Option<&str>,
    team: Option<&str>,
    user: Option<&str>,
    metadata: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let s = &gateway.config.metrics;
    let raw = s.key_label.pick(alias, team, user, metadata);
    REGISTRY.with(|r| r.borrow_mut().keys.label(&SharedData, s.key_limit, raw))
}

fn group_of<'a>(gateway: &'a Gateway, deployment: &str) -> &'a str {
    gateway
        .config
        .deployments
        .iter()
        .find(|d| d.id == deployment)
        .map_or("", |d| d.group.as_str())
}

/// A request that reached a deployment has settled.
pub fn settled(http: &Http, record: &SpendRecord, ttft_ms: Option<u64>) {
    let key = key_label(
        &http.gateway,
        record.key_alias.as_deref(),
        record.team_id.as_deref(),
        record.user_id.as_deref(),
        &record.metadata,
    );
    let (retries, fallbacks) = match &http.failover {
        Some(fo) => (fo.retries, fo.fallbacks),
        None => (http.envoy_retries, http.fallbacks_before),
    };
    let s = Settled {
        record,
        key: &key,
        duration_ms: record.end_time.saturating_sub(http.started_ms),
        ttft_ms,
        retries,
        fallbacks,
    };
    let labels = metrics::settled_labels(&s);
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(series) = r.settled.get(&labels) {
            for ((id, kind), value) in series.iter().zip(metrics::settled_values(&s)) {
                update(*id, *kind, value, "settled series");
            }
            return;
        }
        // First request with these labels: name the series, define them, remember the ids.
        let updates = metrics::settled(&s);
        let series: Vec<(Option<u32>, Type)> = updates
            .iter()
            .map(|u| {
                let id = r.id(u);
                update(id, u.kind, u.value, &u.name);
                (id, u.kind)
            })
            .collect();
        r.settled.insert(labels, series);
    });
}

/// A key limit or budget refused the request.
pub fn rejected(gateway: &Gateway, key: Option<&KeyRecord>, reason: &str) {
    let label = match key {
        Some(k) => key_label(
            gateway,
            k.key_alias.as_deref(),
            k.team_id.as_deref(),
            k.user_id.as_deref(),
            &k.metadata,
        ),
        None => key_label(gateway, None, None, None, &serde_json::Map::new()),
    };
    apply(&[metrics::rejection(&label, reason)]);
}

/// An upstream attempt on `deployment` failed; `opened`: it opened the breaker.
pub fn failed(gateway: &Gateway, deployment: &str, kind: Kind, opened: bool) {
    let group = group_of(gateway, deployment);
    apply(&[Update::of(
        &metrics::UPSTREAM_ERRORS,
        &[group, deployment, kind.name()],
        1,
    )]);
    if opened {
        cooldown_entered(gateway, deployment);
    }
}

/// `deployment`'s breaker opened (a failed request or health check).
pub fn cooldown_entered(gateway: &Gateway, deployment: &str) {
    let group = group_of(gateway, deployment);
    apply(&[
        Update::of(&metrics::COOLDOWNS, &[group, deployment], 1),
        Update::of(&metrics::COOLING_DOWN, &[group, deployment], 1),
    ]);
}

/// At the end of a request: breakers its failovers opened.
pub fn finished(http: &mut Http) {
    if let Some(fo) = &mut http.failover {
        for dep in std::mem::take(&mut fo.opened) {
            cooldown_entered(&http.gateway, &dep);
        }
    }
}

/// Sets the cooling-down gauge of every deployment from its breaker (each
/// worker's tick writes the same shared state, so the value is the same).
pub fn refresh_cooldowns(gateway: &Gateway) {
    let now = host::now_nanos() / 1_000_000;
    let updates: Vec<Update> = gateway
        .config
        .deployments
        .iter()
        .map(|d| {
            let cooling = !breaker::status(&SharedData, &d.id, now).usable();
            Update::of(
                &metrics::COOLING_DOWN,
                &[&d.group, &d.id],
                u64::from(cooling),
            )
        })
        .collect();
    apply(&updates);
}
