//! Aggregates of spend records. Sums are kept in integer micro-dollars and only
//! shown as USD at the end, so every total equals the sum of its records exactly.

use super::dates::{day_of_ms, format_day};
use super::record::{usd, SpendRecord};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Group name for records without the grouped field.
pub const UNASSIGNED: &str = "unassigned";
/// Longest range whose days without spend are listed (with zeros) in per-day summaries.
pub const MAX_FILL_DAYS: u64 = 366;

/// What /global/spend/report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The key's token hash.
    ApiKey,
    /// Model group (the provider model id when the group is unknown).
    Model,
    /// The key's team.
    Team,
    /// `metadata.department`.
    Department,
    /// `metadata.project`.
    Project,
    /// `metadata.cost_center`.
    CostCenter,
}

impl GroupBy {
    /// Accepted values of `group_by`, for error messages.
    pub const NAMES: &'static str = "api_key, model, team, department, project, cost_center";

    /// Parses a `group_by` value.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "api_key" | "key" => GroupBy::ApiKey,
            "model" => GroupBy::Model,
            "team" | "team_id" => GroupBy::Team,
            "department" => GroupBy::Department,
            "project" => GroupBy::Project,
            "cost_center" => GroupBy::CostCenter,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            GroupBy::ApiKey => "api_key",
            GroupBy::Model => "model",
            GroupBy::Team => "team",
            GroupBy::Department => "department",
            GroupBy::Project => "project",
            GroupBy::CostCenter => "cost_center",
        }
    }

    /// The group a record falls in.
    pub fn key(self, r: &SpendRecord) -> String {
        let named = |s: Option<&str>| {
            s.filter(|s| !s.is_empty())
                .unwrap_or(UNASSIGNED)
                .to_string()
        };
        match self {
            GroupBy::ApiKey => named(Some(&r.api_key)),
            GroupBy::Model => model_name(r).to_string(),
            GroupBy::Team => named(r.team_id.as_deref()),
            GroupBy::Department => metadata(r, "department"),
            GroupBy::Project => metadata(r, "project"),
            GroupBy::CostCenter => metadata(r, "cost_center"),
        }
    }
}

/// The model a record is reported under: its group, else the provider model id.
fn model_name(r: &SpendRecord) -> &str {
    [r.model_group.as_str(), r.model.as_str()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or(UNASSIGNED)
}

/// A metadata tag as text; numbers and booleans are shown as written.
fn metadata(r: &SpendRecord, field: &str) -> String {
    match r.metadata.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => UNASSIGNED.to_string(),
    }
}

/// Running totals of a set of records.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    micros: u64,
    requests: u64,
    prompt: u64,
    completion: u64,
}

impl Totals {
    fn add(&mut self, r: &SpendRecord) {
        self.micros = self.micros.saturating_add(r.spend_micros);
        self.requests = self.requests.saturating_add(1);
        self.prompt = self.prompt.saturating_add(r.prompt_tokens);
        self.completion = self.completion.saturating_add(r.completion_tokens);
    }

    fn fields(&self, prefix: &str, out: &mut Map<String, Value>) {
        // "total_" + "total_tokens" would read total_total_tokens.
        let mut put = |k: &str, v: Value| {
            let name = match k.strip_prefix(prefix) {
                Some(_) if !prefix.is_empty() => k.to_string(),
                _ => format!("{prefix}{k}"),
            };
            out.insert(name, v);
        };
        put("spend", usd(self.micros).into());
        put("spend_micros", self.micros.into());
        put("requests", self.requests.into());
        put("prompt_tokens", self.prompt.into());
        put("completion_tokens", self.completion.into());
        put(
            "total_tokens",
            self.prompt.saturating_add(self.completion).into(),
        );
    }
}

/// `{"group_by", "groups": [{"group", "spend", "spend_micros", "requests",
/// "prompt_tokens", "completion_tokens", "total_tokens"}], "total_spend",
/// "total_spend_micros", "total_requests", ...}`; groups by spend, largest first.
pub fn groups(records: &[SpendRecord], by: GroupBy) -> Value {
    let mut map: BTreeMap<String, Totals> = BTreeMap::new();
    let mut total = Totals::default();
    for r in records {
        map.entry(by.key(r)).or_default().add(r);
        total.add(r);
    }
    let mut rows: Vec<(String, Totals)> = map.into_iter().collect();
    rows.sort_by(|a, b| b.1.micros.cmp(&a.1.micros).then_with(|| a.0.cmp(&b.0)));
    let groups: Vec<Value> = rows
        .into_iter()
        .map(|(name, t)| {
            let mut o = Map::new();
            o.insert("group".into(), name.into());
            t.fields("", &mut o);
            Value::Object(o)
        })
        .collect();
    let mut out = Map::new();
    out.insert("group_by".into(), by.name().into());
    out.insert("groups".into(), groups.into());
    total.fields("total_", &mut out);
    Value::Object(out)
}

/// One day of a per-day summary.
#[derive(Default)]
struct Day {
    totals: Totals,
    models: BTreeMap<String, u64>,
    users: BTreeMap<String, u64>,
    api_keys: BTreeMap<String, u64>,
    departments: BTreeMap<String, u64>,
}

impl Day {
    fn to_json(&self, day: u64) -> Value {
        let usd_map = |m: &BTreeMap<String, u64>| -> Value {
            m.iter()
                .map(|(k, v)| (k.clone(), Value::from(usd(*v))))
                .collect::<Map<_, _>>()
                .into()
        };
        let mut o = Map::new();
        o.insert("startTime".into(), format_day(day).into());
        self.totals.fields("", &mut o);
        o.insert("models".into(), usd_map(&self.models));
        o.insert("users".into(), usd_map(&self.users));
        o.insert("api_keys".into(), usd_map(&self.api_keys));
        o.insert("departments".into(), usd_map(&self.departments));
        Value::Object(o)
    }
}

/// LiteLLM's summarized /spend/logs: one entry per UTC day, oldest first, with
/// spend per model, user, key and department (`metadata.department`). Days from `start` (else the first record) to
/// `end` (else the later of `today` and the last record) are all listed, with
/// zeros, when that span is at most [`MAX_FILL_DAYS`]; otherwise only days with spend.
pub fn by_day(records: &[SpendRecord], start: Option<u64>, end: Option<u64>, today: u64) -> Value {
    let mut days: BTreeMap<u64, Day> = BTreeMap::new();
    for r in records {
        let d = days.entry(day_of_ms(r.start_time)).or_default();
        d.totals.add(r);
        let bump = |m: &mut BTreeMap<String, u64>, k: &str| {
            let v = m.entry(k.to_string()).or_default();
            *v = v.saturating_add(r.spend_micros);
        };
        bump(&mut d.models, model_name(r));
        bump(&mut d.users, r.user_id.as_deref().unwrap_or(UNASSIGNED));
        bump(&mut d.api_keys, &GroupBy::ApiKey.key(r));
        bump(&mut d.departments, &GroupBy::Department.key(r));
    }
    let first = start.or_else(|| days.keys().next().copied());
    let last = end.unwrap_or_else(|| days.keys().last().map_or(today, |l| today.max(*l)));
    if let Some(first) = first.filter(|f| *f <= last && last - f < MAX_FILL_DAYS) {
        for day in first..=last {
            days.entry(day).or_default();
        }
    }
    days.iter()
        .map(|(day, d)| d.to_json(*day))
        .collect::<Vec<_>>()
        .into()
}
