//! Time-based scripted outages ("chaos"): a schedule of phases, each a mode that applies to
//! every provider request arriving while the phase is active.
//!
//! A phase starts at an absolute time (`at_ms`, Unix milliseconds), after a delay
//! (`start_in_ms`), or when the previous phase of the same list ends; it lasts
//! `duration_ms`, until `until_ms`, or until the schedule is replaced or cleared. Where
//! phases overlap, the one that started last wins (the later one in the list on a tie).
//! A phase with `count` applies to that many requests only, then steps aside.

use std::sync::Mutex;

use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most phases one schedule may hold (appends included), so a runaway client cannot grow it.
pub const MAX_PHASES: usize = 256;
/// `slow`: default wait before the response headers.
pub const DEFAULT_SLOW_MS: u64 = 1_000;
/// `429`: default `retry-after`, in seconds.
pub const DEFAULT_RETRY_AFTER_S: u64 = 1;
/// `500`: default status.
pub const DEFAULT_ERROR_STATUS: u16 = 500;
/// `cut`: default number of stream events sent before the connection is aborted.
pub const DEFAULT_CUT_AFTER: usize = 2;

/// What a phase does to the requests it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "String")]
pub enum Mode {
    /// Normal answers (scripts still apply); masks phases that started earlier.
    Ok,
    /// No response at all: the connection is closed (`reset`) or not accepted (`refuse`).
    Down,
    /// Normal answers after a delay before the headers.
    Slow,
    /// 429 with `retry-after` and the provider's rate-limit error body.
    RateLimit,
    /// A 5xx (500 by default; 502, 503, 529, …) with the provider's error body.
    ServerError,
    /// The normal answer, aborted mid-body.
    Cut,
}

impl Mode {
    /// The name used on the wire and in the request log.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Ok => "ok",
            Mode::Down => "down",
            Mode::Slow => "slow",
            Mode::RateLimit => "429",
            Mode::ServerError => "500",
            Mode::Cut => "cut",
        }
    }
}

impl From<Mode> for String {
    fn from(mode: Mode) -> String {
        mode.label().to_owned()
    }
}

impl TryFrom<Value> for Mode {
    type Error = String;

    /// Accepts the names as strings, and 429 / 500 also as numbers.
    fn try_from(value: Value) -> Result<Mode, String> {
        let name = match &value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("mode must be a string, not {other}")),
        };
        Ok(match name.as_str() {
            "ok" => Mode::Ok,
            "down" => Mode::Down,
            "slow" => Mode::Slow,
            "429" => Mode::RateLimit,
            "500" => Mode::ServerError,
            "cut" => Mode::Cut,
            _ => {
                return Err(format!(
                    "unknown mode {value} (expected ok, down, slow, 429, 500 or cut)"
                ))
            }
        })
    }
}

/// How a `down` phase keeps the provider from answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DownHow {
    /// Read (and log) each request, then close the connection without a response.
    Reset,
    /// Stop listening: new connections are refused; requests on open ones are reset.
    Refuse,
}

/// One phase as a client writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseSpec {
    mode: Mode,
    start_in_ms: Option<u64>,
    at_ms: Option<u64>,
    duration_ms: Option<u64>,
    until_ms: Option<u64>,
    count: Option<u64>,
    delay_ms: Option<u64>,
    status: Option<u16>,
    retry_after_s: Option<u64>,
    after_chunks: Option<usize>,
    how: Option<DownHow>,
}

/// `{"phases": [...], "append": true}`: the long form of a chaos request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    phases: Vec<Value>,
    #[serde(default)]
    append: bool,
}

/// A phase with absolute times and the effective settings of its mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// What the phase does.
    pub mode: Mode,
    /// Unix milliseconds from which the phase applies.
    pub start_ms: u64,
    /// Unix milliseconds at which it stops applying; `None` = until replaced or cleared.
    pub end_ms: Option<u64>,
    /// Apply to at most this many requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Requests this phase has applied to so far.
    pub served: u64,
    /// `slow`: wait before the headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// `500`: status sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `429`: `retry-after` seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// `cut`: stream events sent before the abort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_chunks: Option<usize>,
    /// `down`: reset or refuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<DownHow>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Answer normally.
    Normal,
    /// Close the connection without a response.
    Drop,
    /// Wait, then answer normally.
    Delay(u64),
    /// 429 with this `retry-after`.
    RateLimit {
        /// Seconds for the `retry-after` header.
        retry_after_s: u64,
    },
    /// This 5xx status with the provider's error body.
    Error(StatusCode),
    /// Stream: send this many events, then abort; plain body: send half, then abort.
    Cut(usize),
}

impl Phase {
    fn active_at(&self, now_ms: u64) -> bool {
        self.start_ms <= now_ms
            && self.end_ms.is_none_or(|end| now_ms < end)
            && self.count.is_none_or(|n| self.served < n)
    }

    /// The action this phase applies to a request.
    pub fn action(&self) -> Action {
        match self.mode {
            Mode::Ok => Action::Normal,
            Mode::Down => Action::Drop,
            Mode::Slow => Action::Delay(self.delay_ms.unwrap_or(DEFAULT_SLOW_MS)),
            Mode::RateLimit => Action::RateLimit {
                retry_after_s: self.retry_after_s.unwrap_or(DEFAULT_RETRY_AFTER_S),
            },
            Mode::ServerError => Action::Error(
                StatusCode::from_u16(self.status.unwrap_or(DEFAULT_ERROR_STATUS))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ),
            Mode::Cut => Action::Cut(self.after_chunks.unwrap_or(DEFAULT_CUT_AFTER)),
        }
    }

    fn refuses(&self) -> bool {
        self.mode == Mode::Down && self.how == Some(DownHow::Refuse)
    }
}

/// A parsed chaos request: the phases, and whether they replace or extend the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Phases with absolute times.
    pub phases: Vec<Phase>,
    /// Append to the schedule instead of replacing it.
    pub append: bool,
}

/// Parses a chaos request body: one phase object, a list of phases, or
/// `{"phases": [...], "append": bool}`. Relative times count from `now_ms`.
pub fn parse_request(body: &[u8], now_ms: u64) -> Result<Request, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("chaos request is not JSON: {e}"))?;
    let (items, append) = match value {
        Value::Array(items) => (items, false),
        Value::Object(ref map) if map.contains_key("phases") => {
            let envelope: Envelope =
                serde_json::from_value(value).map_err(|e| format!("invalid chaos request: {e}"))?;
            (envelope.phases, envelope.append)
        }
        object @ Value::Object(_) => (vec![object], false),
        _ => return Err("chaos request must be a phase object or a list of them".to_owned()),
    };
    if items.is_empty() {
        return Err("chaos request has no phases (DELETE /__mock/chaos clears)".to_owned());
    }
    if items.len() > MAX_PHASES {
        return Err(format!("chaos request has more than {MAX_PHASES} phases"));
    }
    let mut phases = Vec::with_capacity(items.len());
    let mut previous_end = Some(now_ms);
    for (i, item) in items.into_iter().enumerate() {
        let spec: PhaseSpec =
            serde_json::from_value(item).map_err(|e| format!("invalid chaos phase {i}: {e}"))?;
        let phase =
            resolve(spec, now_ms, previous_end).map_err(|e| format!("chaos phase {i}: {e}"))?;
        previous_end = phase.end_ms;
        phases.push(phase);
    }
    Ok(Request { phases, append })
}

/// Absolute times and checked settings for one phase.
fn resolve(spec: PhaseSpec, now_ms: u64, previous_end: Option<u64>) -> Result<Phase, String> {
    let start_ms = match (spec.at_ms, spec.start_in_ms) {
        (Some(_), Some(_)) => return Err("give at_ms or start_in_ms, not both".to_owned()),
        (Some(at), None) => at,
        (None, Some(delay)) => now_ms.saturating_add(delay),
        (None, None) => previous_end
            .ok_or("it follows an open-ended phase, so it needs start_in_ms or at_ms".to_owned())?,
    };
    let end_ms = match (spec.until_ms, spec.duration_ms) {
        (Some(_), Some(_)) => return Err("give until_ms or duration_ms, not both".to_owned()),
        (Some(until), None) if until <= start_ms => {
            return Err(format!(
                "until_ms {until} is not after the start {start_ms}"
            ))
        }
        (Some(until), None) => Some(until),
        (None, Some(0)) => return Err("duration_ms must be above 0".to_owned()),
        (None, Some(duration)) => Some(start_ms.saturating_add(duration)),
        (None, None) => None,
    };
    let mode = spec.mode;
    let only = |present: bool, field: &str, wanted: Mode| {
        if present && mode != wanted {
            Err(format!("{field} applies to mode {} only", wanted.label()))
        } else {
            Ok(())
        }
    };
    only(spec.delay_ms.is_some(), "delay_ms", Mode::Slow)?;
    only(spec.status.is_some(), "status", Mode::ServerError)?;
    only(
        spec.retry_after_s.is_some(),
        "retry_after_s",
        Mode::RateLimit,
    )?;
    only(spec.after_chunks.is_some(), "after_chunks", Mode::Cut)?;
    only(spec.how.is_some(), "how", Mode::Down)?;
    if let Some(status) = spec.status {
        if !(500..=599).contains(&status) {
            return Err(format!("status {status} is not a 5xx"));
        }
    }
    if spec.count == Some(0) {
        return Err("count must be above 0".to_owned());
    }
    let how = (mode == Mode::Down).then(|| spec.how.unwrap_or(DownHow::Reset));
    if how == Some(DownHow::Refuse) {
        if spec.count.is_some() {
            return Err(
                "count does not combine with how: refuse (refused connects are not requests)"
                    .to_owned(),
            );
        }
        if end_ms.is_none() {
            return Err(
                "how: refuse needs duration_ms or until_ms: the control API is \
                 refused too, so nothing could end it"
                    .to_owned(),
            );
        }
    }
    Ok(Phase {
        mode,
        start_ms,
        end_ms,
        count: spec.count,
        served: 0,
        delay_ms: (mode == Mode::Slow).then(|| spec.delay_ms.unwrap_or(DEFAULT_SLOW_MS)),
        status: (mode == Mode::ServerError).then(|| spec.status.unwrap_or(DEFAULT_ERROR_STATUS)),
        retry_after_s: (mode == Mode::RateLimit)
            .then(|| spec.retry_after_s.unwrap_or(DEFAULT_RETRY_AFTER_S)),
        after_chunks: (mode == Mode::Cut).then(|| spec.after_chunks.unwrap_or(DEFAULT_CUT_AFTER)),
        how,
    })
}

/// Index of the phase that applies at `now_ms`: the active one that started last.
fn pick(phases: &[Phase], now_ms: u64) -> Option<usize> {
    phases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.active_at(now_ms))
        .max_by_key(|(i, p)| (p.start_ms, *i))
        .map(|(i, _)| i)
}

/// The schedule shared by every connection of one mock instance.
#[derive(Debug, Default)]
pub struct ChaosStore {
    phases: Mutex<Vec<Phase>>,
}

impl ChaosStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Phase>> {
        // Phases are replaced whole or have a counter bumped: a poisoned lock holds valid data.
        self.phases.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces or extends the schedule; fails when it would exceed [`MAX_PHASES`].
    pub fn apply(&self, request: Request) -> Result<(), String> {
        let mut phases = self.lock();
        if request.append {
            if phases.len() + request.phases.len() > MAX_PHASES {
                return Err(format!(
                    "the chaos schedule would exceed {MAX_PHASES} phases"
                ));
            }
            phases.extend(request.phases);
        } else {
            *phases = request.phases;
        }
        Ok(())
    }

    /// Drops every phase and returns how many there were.
    pub fn clear(&self) -> usize {
        let mut phases = self.lock();
        let n = phases.len();
        phases.clear();
        n
    }

    /// The schedule, in the order it was given.
    pub fn snapshot(&self) -> Vec<Phase> {
        self.lock().clone()
    }

    /// The phase that applies at `now_ms`, if any, without counting a request.
    pub fn active(&self, now_ms: u64) -> Option<Phase> {
        let phases = self.lock();
        pick(&phases, now_ms).and_then(|i| phases.get(i).cloned())
    }

    /// Decides the fate of a request arriving at `now_ms` and counts it against the phase.
    pub fn decide(&self, now_ms: u64) -> Option<(Mode, Action)> {
        let mut phases = self.lock();
        let i = pick(&phases, now_ms)?;
        let phase = phases.get_mut(i)?;
        phase.served += 1;
        Some((phase.mode, phase.action()))
    }

    /// The next time after `now_ms` at which a phase starts or ends.
    pub fn next_change(&self, now_ms: u64) -> Option<u64> {
        self.lock()
            .iter()
            .flat_map(|p| [Some(p.start_ms), p.end_ms])
            .flatten()
            .filter(|&t| t > now_ms)
            .min()
    }

    /// True while a `down` phase with `how: refuse` applies: the listener should be closed.
    pub fn refusing(&self, now_ms: u64) -> bool {
        let phases = self.lock();
        pick(&phases, now_ms)
            .and_then(|i| phases.get(i))
            .is_some_and(Phase::refuses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn parse(text: &str) -> Result<Request, String> {
        parse_request(text.as_bytes(), NOW)
    }

    fn phases(text: &str) -> Vec<Phase> {
        parse(text)
            .map(|r| r.phases)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn store(text: &str) -> ChaosStore {
        let store = ChaosStore::default();
        store.apply(parse(text).unwrap()).unwrap();
        store
    }

    #[test]
    fn one_phase_starts_now_and_fills_mode_defaults() {
        let p = phases(r#"{"mode":"down"}"#);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].start_ms, p[0].end_ms), (NOW, None));
        assert_eq!(p[0].how, Some(DownHow::Reset));
        assert_eq!(p[0].action(), Action::Drop);
        assert_eq!(
            phases(r#"{"mode":"slow"}"#)[0].action(),
            Action::Delay(DEFAULT_SLOW_MS)
        );
        assert_eq!(
            phases(r#"{"mode":429}"#)[0].action(),
            Action::RateLimit { retry_after_s: 1 }
        );
        assert_eq!(
            phases(r#"{"mode":"500","status":529}"#)[0].action(),
            Action::Error(StatusCode::from_u16(529).unwrap())
        );
        assert_eq!(phases(r#"{"mode":"cut"}"#)[0].action(), Action::Cut(2));
        assert_eq!(phases(r#"{"mode":"ok"}"#)[0].action(), Action::Normal);
    }

    #[test]
    fn times_are_relative_absolute_or_sequential() {
        let p = phases(r#"{"mode":"down","start_in_ms":2000,"duration_ms":5000}"#);
        assert_eq!((p[0].start_ms, p[0].end_ms), (NOW + 2000, Some(NOW + 7000)));
        let p = phases(&format!(
            r#"{{"mode":"429","at_ms":{},"until_ms":{}}}"#,
            NOW - 10,
            NOW + 10
        ));
        assert_eq!((p[0].start_ms, p[0].end_ms), (NOW - 10, Some(NOW + 10)));
        // A list runs back to back unless a phase names its own start.
        let p = phases(
            r#"[{"mode":"ok","duration_ms":2000},{"mode":"down","duration_ms":5000},
                {"mode":"slow","delay_ms":50},{"mode":"cut","start_in_ms":100}]"#,
        );
        let times: Vec<_> = p.iter().map(|p| (p.start_ms, p.end_ms)).collect();
        assert_eq!(
            times,
            vec![
                (NOW, Some(NOW + 2000)),
                (NOW + 2000, Some(NOW + 7000)),
                (NOW + 7000, None),
                (NOW + 100, None),
            ]
        );
    }

    #[test]
    fn envelope_sets_append() {
        let r = parse(r#"{"phases":[{"mode":"down"}],"append":true}"#).unwrap();
        assert!(r.append);
        assert!(!parse(r#"[{"mode":"down"}]"#).unwrap().append);
        assert!(!parse(r#"{"phases":[{"mode":"down"}]}"#).unwrap().append);
    }

    #[test]
    fn rejects_bad_requests_with_a_reason() {
        let bad = [
            ("nope", "not JSON"),
            ("3", "phase object"),
            ("[]", "no phases"),
            (r#"{"mode":"sideways"}"#, "unknown mode"),
            (r#"{"mode":"down","colour":1}"#, "unknown field"),
            (r#"{"phases":[],"extra":1}"#, "unknown field"),
            (r#"{"mode":"down","start_in_ms":1,"at_ms":1}"#, "not both"),
            (
                r#"{"mode":"down","duration_ms":1,"until_ms":1}"#,
                "not both",
            ),
            (r#"{"mode":"down","duration_ms":0}"#, "above 0"),
            (r#"{"mode":"down","until_ms":5}"#, "not after"),
            (r#"{"mode":"down","delay_ms":5}"#, "mode slow only"),
            (r#"{"mode":"429","status":503}"#, "mode 500 only"),
            (r#"{"mode":"500","status":404}"#, "not a 5xx"),
            (r#"{"mode":"slow","retry_after_s":1}"#, "mode 429 only"),
            (r#"{"mode":"500","after_chunks":1}"#, "mode cut only"),
            (r#"{"mode":"cut","how":"reset"}"#, "mode down only"),
            (
                r#"{"mode":"down","how":"refuse","count":1,"duration_ms":9}"#,
                "count does not",
            ),
            (r#"{"mode":"down","how":"refuse"}"#, "needs duration_ms"),
            (r#"{"mode":"500","count":0}"#, "above 0"),
            (r#"[{"mode":"down"},{"mode":"ok"}]"#, "open-ended"),
        ];
        for (body, want) in bad {
            let err = parse(body).expect_err(body);
            assert!(err.contains(want), "{body}: {err}");
        }
        let err = parse(r#"[{"mode":"ok","duration_ms":5},{"mode":"x"}]"#).unwrap_err();
        assert!(err.contains("phase 1"), "{err}");
        let many = format!("[{}]", vec![r#"{"mode":"ok"}"#; MAX_PHASES + 1].join(","));
        assert!(parse(&many).unwrap_err().contains("more than"));
    }

    #[test]
    fn latest_start_wins_and_phases_expire() {
        let s = store(
            r#"[{"mode":"500","duration_ms":10000},
                {"mode":"down","start_in_ms":2000,"duration_ms":3000}]"#,
        );
        let mode_at = |t: u64| s.decide(NOW + t).map(|(m, _)| m);
        assert_eq!(mode_at(0), Some(Mode::ServerError));
        assert_eq!(mode_at(1999), Some(Mode::ServerError));
        assert_eq!(mode_at(2000), Some(Mode::Down));
        assert_eq!(mode_at(4999), Some(Mode::Down));
        assert_eq!(mode_at(5000), Some(Mode::ServerError));
        assert_eq!(mode_at(10_000), None);
        assert_eq!(s.decide(NOW - 1), None);
        let served: Vec<u64> = s.snapshot().iter().map(|p| p.served).collect();
        assert_eq!(served, vec![3, 2]);
    }

    #[test]
    fn ties_go_to_the_later_phase_and_ok_masks() {
        let s = store(r#"{"phases":[{"mode":"429"},{"mode":"ok","start_in_ms":0}]}"#);
        assert_eq!(s.decide(NOW), Some((Mode::Ok, Action::Normal)));
    }

    #[test]
    fn count_limits_a_phase_then_it_steps_aside() {
        let s = store(
            r#"{"phases":[{"mode":"slow","delay_ms":5},{"mode":"500","status":503,"count":2,"start_in_ms":0}]}"#,
        );
        let got: Vec<_> = (0..4).map(|_| s.decide(NOW).map(|(m, _)| m)).collect();
        assert_eq!(
            got,
            vec![
                Some(Mode::ServerError),
                Some(Mode::ServerError),
                Some(Mode::Slow),
                Some(Mode::Slow)
            ]
        );
        assert_eq!(s.active(NOW).map(|p| p.mode), Some(Mode::Slow));
    }

    #[test]
    fn refusing_follows_the_active_phase() {
        let s = store(
            r#"[{"mode":"ok","duration_ms":100},{"mode":"down","how":"refuse","duration_ms":100},
                {"mode":"down","duration_ms":100}]"#,
        );
        assert!(!s.refusing(NOW));
        assert!(s.refusing(NOW + 100));
        assert!(s.refusing(NOW + 199));
        assert!(!s.refusing(NOW + 200));
        assert!(!s.refusing(NOW + 300));
        assert_eq!(s.next_change(NOW), Some(NOW + 100));
        assert_eq!(s.next_change(NOW + 100), Some(NOW + 200));
        assert_eq!(s.next_change(NOW + 250), Some(NOW + 300));
        assert_eq!(s.next_change(NOW + 300), None);
        // Asking does not count requests.
        assert!(s.snapshot().iter().all(|p| p.served == 0));
    }

    #[test]
    fn append_extends_replace_replaces_and_the_cap_holds() {
        let s = store(r#"{"mode":"down"}"#);
        s.apply(parse(r#"{"phases":[{"mode":"slow"}],"append":true}"#).unwrap())
            .unwrap();
        assert_eq!(s.snapshot().len(), 2);
        s.apply(parse(r#"{"mode":"cut"}"#).unwrap()).unwrap();
        assert_eq!(s.snapshot().len(), 1);
        let chunk = format!(
            r#"{{"phases":[{}],"append":true}}"#,
            vec![r#"{"mode":"ok","start_in_ms":0}"#; MAX_PHASES].join(",")
        );
        assert!(s.apply(parse(&chunk).unwrap()).is_err());
        assert_eq!(s.snapshot().len(), 1);
        assert_eq!(s.clear(), 1);
        assert_eq!(s.decide(NOW), None);
    }

    #[test]
    fn serialises_for_the_control_api() {
        let p = phases(r#"{"mode":"429","duration_ms":5,"retry_after_s":3}"#);
        let v = serde_json::to_value(&p[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"mode":"429","start_ms":NOW,"end_ms":NOW+5,"served":0,"retry_after_s":3})
        );
        let v = serde_json::to_value(&phases(r#"{"mode":"down"}"#)[0]).unwrap();
        assert_eq!(v["how"], "reset");
        assert_eq!(v["end_ms"], Value::Null);
    }
}
