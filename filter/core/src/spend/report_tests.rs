use super::*;
use crate::keys::{hash_key, KeyRecord, MemStore};
use crate::spend::dates::DAY_MS;
use crate::spend::ring::append;
use serde_json::{json, Map};

const CONFIG: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: k}
general_settings:
  master_key: sk-master
keys:
  - {key: sk-admin-key, key_alias: admin, role: proxy_admin}
  - {key: sk-alice-key, key_alias: alice, user_id: alice, team_id: red}
  - {key: sk-bob-key, key_alias: bob, user_id: bob}
  - {key: sk-cust-key, key_alias: cust, role: customer, models: [gpt-4o]}
"#;

/// 2025-01-01 as days since the epoch.
pub(super) const JAN1: u64 = 20_089;
/// Noon on 2025-01-10, unix seconds.
pub(super) const NOW: u64 = (JAN1 + 9) * 86_400 + 43_200;
pub(super) struct Env {
    pub store: MemStore,
    pub config: Config,
    pub capacity: usize,
    pub records: Vec<SpendRecord>,
}

impl Env {
    pub fn new() -> Env {
        Env::with_capacity(100)
    }

    pub fn with_capacity(capacity: usize) -> Env {
        let mut env = Env {
            store: MemStore::default(),
            config: Config::load(CONFIG, &|_| None).unwrap(),
            capacity,
            records: Vec::new(),
        };
        // (key, day, ms into the day, model group, micros, department)
        let rows: [(&str, u64, u64, &str, u64, Value); 6] = [
            ("sk-alice-key", 0, 0, "gpt-4o", 333_333, json!("eng")),
            ("sk-alice-key", 0, DAY_MS - 1, "claude", 1, json!("eng")),
            (
                "sk-bob-key",
                1,
                43_200_000,
                "gpt-4o",
                1_000_001,
                Value::Null,
            ),
            (
                "sk-admin-key",
                3,
                21_600_000,
                "gemini",
                2_500_000,
                json!("ops"),
            ),
            ("sk-bob-key", 4, 0, "claude", 7, json!(42)),
            ("sk-alice-key", 4, 1, "gpt-4o", 123_456_789, json!("eng")),
        ];
        for (i, (key, day, ms, model, micros, dept)) in rows.into_iter().enumerate() {
            let owner = env.key(key);
            let mut metadata = Map::new();
            if !dept.is_null() {
                metadata.insert("department".into(), dept);
            }
            let i = i as u64;
            let mut r = SpendRecord {
                request_id: format!("req-{i}"),
                api_key: owner.token.clone(),
                key_alias: owner.key_alias.clone(),
                team_id: owner.team_id.clone(),
                user_id: owner.user_id.clone(),
                metadata,
                model_group: model.into(),
                model: format!("{model}-2025"),
                call_type: "/v1/chat/completions".into(),
                start_time: (JAN1 + day) * DAY_MS + ms,
                end_time: (JAN1 + day) * DAY_MS + ms + 10,
                status: 200,
                ..SpendRecord::default()
            };
            r.set_usage(
                &crate::translate::Usage {
                    prompt_tokens: 10 * i + 1,
                    completion_tokens: i,
                    ..Default::default()
                },
                micros,
            );
            append(&env.store, &r, capacity).unwrap();
            env.records.push(r);
        }
        env
    }

    pub fn key(&self, plaintext: &str) -> KeyRecord {
        self.config.declared_keys[&hash_key(plaintext)].clone()
    }

    pub fn who(&self, plaintext: &str) -> Principal {
        Principal::Key(Box::new(self.key(plaintext)))
    }

    pub fn call(
        &self,
        who: &Principal,
        method: &str,
        path: &str,
        query: &str,
    ) -> Result<Value, ApiError> {
        let api = SpendApi {
            store: &self.store,
            config: &self.config,
            capacity: self.capacity,
            now: NOW,
        };
        api.handle(who, method, path, query).map(|(status, v)| {
            assert_eq!(status, 200);
            v
        })
    }

    pub fn get(&self, path: &str, query: &str) -> Value {
        self.call(&Principal::Master, "GET", path, query).unwrap()
    }

    pub fn err(&self, who: &Principal, method: &str, path: &str, query: &str) -> ApiError {
        self.call(who, method, path, query).unwrap_err()
    }
}

pub(super) fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect()
}

#[test]
fn logs_list_records_newest_first_with_litellm_names() {
    let env = Env::new();
    let v = env.get("/spend/logs", "");
    assert_eq!(
        ids(&v),
        ["req-5", "req-4", "req-3", "req-2", "req-1", "req-0"]
    );
    let r = &v[0];
    assert_eq!(r["api_key"], hash_key("sk-alice-key"));
    assert_eq!(r["user"], "alice");
    assert_eq!(r["startTime"], (JAN1 + 4) * DAY_MS + 1);
    assert_eq!(r["spend_micros"], 123_456_789);
    assert_eq!(r["spend"], 123.456789);
    // Trailing slashes are tolerated.
    assert_eq!(env.get("/spend/logs/", ""), v);
}

#[test]
fn logs_filters() {
    let env = Env::new();
    let token = hash_key("sk-bob-key");
    for q in ["api_key=sk-bob-key".to_string(), format!("api_key={token}")] {
        assert_eq!(ids(&env.get("/spend/logs", &q)), ["req-4", "req-2"], "{q}");
    }
    assert_eq!(ids(&env.get("/spend/logs", "request_id=req-3")), ["req-3"]);
    assert_eq!(
        ids(&env.get("/spend/logs", "request_id=nope")),
        Vec::<&str>::new()
    );
    assert_eq!(
        ids(&env.get("/spend/logs", "user_id=alice")),
        ["req-5", "req-1", "req-0"]
    );
    // Dates are inclusive whole UTC days: the last millisecond of the end day counts.
    let q = "start_date=2025-01-01&end_date=2025-01-01&summarize=false";
    assert_eq!(ids(&env.get("/spend/logs", q)), ["req-1", "req-0"]);
    let q = "start_date=2025-01-02&end_date=2025-01-05&summarize=false&user_id=bob";
    assert_eq!(ids(&env.get("/spend/logs", q)), ["req-4", "req-2"]);
    let q = "end_date=2025-01-02&summarize=false";
    assert_eq!(ids(&env.get("/spend/logs", q)), ["req-2", "req-1", "req-0"]);
}

#[test]
fn summarized_logs_are_per_day_totals() {
    let env = Env::new();
    let v = env.get("/spend/logs", "start_date=2025-01-01&end_date=2025-01-05");
    let days = v.as_array().unwrap();
    let dates: Vec<&str> = days
        .iter()
        .map(|d| d["startTime"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2025-01-01",
            "2025-01-02",
            "2025-01-03",
            "2025-01-04",
            "2025-01-05"
        ]
    );
    let micros: Vec<u64> = days
        .iter()
        .map(|d| d["spend_micros"].as_u64().unwrap())
        .collect();
    assert_eq!(micros, [333_334, 1_000_001, 0, 2_500_000, 123_456_796]);
    assert_eq!(days[0]["spend"], 0.333334);
    assert_eq!(days[0]["requests"], 2);
    assert_eq!(
        days[0]["models"],
        json!({"claude": 0.000001, "gpt-4o": 0.333333})
    );
    assert_eq!(days[0]["users"], json!({"alice": 0.333334}));
    assert_eq!(
        days[0]["api_keys"],
        json!({hash_key("sk-alice-key"): 0.333334})
    );
    assert_eq!(days[0]["departments"], json!({"eng": 0.333334}));
    assert_eq!(
        days[4]["departments"],
        json!({"42": 0.000007, "eng": 123.456789})
    );
    assert_eq!(days[1]["departments"], json!({"unassigned": 1.000001}));
    assert_eq!(
        days[2],
        json!({"startTime": "2025-01-03", "spend": 0.0, "spend_micros": 0, "requests": 0,
               "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
               "models": {}, "users": {}, "api_keys": {}, "departments": {}})
    );
    // summarize=true without dates: from the first record to today (2025-01-10).
    let v = env.get("/spend/logs", "summarize=true");
    assert_eq!(v.as_array().unwrap().len(), 10);
    // A start date alone runs to today; filters apply before summing.
    let v = env.get("/spend/logs", "start_date=2025-01-05&api_key=sk-bob-key");
    let days = v.as_array().unwrap();
    assert_eq!(days.len(), 6);
    assert_eq!(days[0]["spend_micros"], 7);
    // Ranges too long to list every day list only days with spend.
    let v = env.get("/spend/logs", "start_date=2020-01-01&end_date=2030-12-31");
    assert_eq!(v.as_array().unwrap().len(), 4);
}
