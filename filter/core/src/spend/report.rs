//! The spend reporting API (`/spend/logs`, `/global/spend/report`), answered by
//! the filter itself from the spend log ring.

use super::dates::{format_day, parse_day, DAY_MS};
use super::record::SpendRecord;
use super::{ring, summary};
use crate::auth::Principal;
use crate::config::Config;
use crate::error::ApiError;
use crate::keys::query::{get, params};
use crate::keys::secret::token_of;
use crate::keys::{KeyStore, Role};
use serde_json::Value;

/// Everything one reporting call needs.
pub struct SpendApi<'a> {
    /// Where the spend log lives.
    pub store: &'a dyn KeyStore,
    /// Gateway configuration.
    pub config: &'a Config,
    /// Spend log capacity (records).
    pub capacity: usize,
    /// Unix seconds; "today" for ranges left open at the end.
    pub now: u64,
}

/// Whose records the caller may see.
enum Scope<'p> {
    All,
    /// Only records made with this key (token hash).
    Own(&'p str),
}

/// Which records a query selects.
#[derive(Default)]
struct Filter {
    api_key: Option<String>,
    request_id: Option<String>,
    user_id: Option<String>,
    /// First and last day (inclusive), as given.
    start_day: Option<u64>,
    end_day: Option<u64>,
}

impl Filter {
    fn keeps(&self, r: &SpendRecord) -> bool {
        let day = r.start_time / DAY_MS;
        self.api_key.as_ref().is_none_or(|k| *k == r.api_key)
            && self
                .request_id
                .as_ref()
                .is_none_or(|id| *id == r.request_id)
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| r.user_id.as_ref() == Some(u))
            && self.start_day.is_none_or(|s| day >= s)
            && self.end_day.is_none_or(|e| day <= e)
    }

    fn has_dates(&self) -> bool {
        self.start_day.is_some() || self.end_day.is_some()
    }
}

impl SpendApi<'_> {
    /// Serves one reporting call; (status, JSON body) on success.
    pub fn handle(
        &self,
        caller: &Principal,
        method: &str,
        path: &str,
        query: &str,
    ) -> Result<(u16, Value), ApiError> {
        let path = path.trim_end_matches('/');
        let global = match path {
            "/spend/logs" => false,
            "/global/spend/report" => true,
            _ => return Err(ApiError::unknown_route(method, path)),
        };
        if method != "GET" {
            return Err(ApiError::method_not_allowed(method, path, "GET"));
        }
        let scope = match caller {
            Principal::Master | Principal::Anonymous => Scope::All,
            Principal::Key(k) => match k.role {
                Role::ProxyAdmin => Scope::All,
                Role::InternalUser => Scope::Own(&k.token),
                Role::Customer => {
                    return Err(ApiError::forbidden(
                        "Customer keys may not use the spend API.",
                    ))
                }
            },
        };
        let value = if global {
            if let Scope::Own(_) = scope {
                return Err(ApiError::forbidden(
                    "Only proxy_admin keys may call /global/spend/report.",
                ));
            }
            self.report(query)?
        } else {
            self.logs(&scope, query)?
        };
        Ok((200, value))
    }

    /// GET /spend/logs: records (newest first), or per-day totals when dates are given.
    fn logs(&self, scope: &Scope, query: &str) -> Result<Value, ApiError> {
        let p = params(query);
        let mut filter = self.dates(&p)?;
        filter.api_key = get(&p, "api_key").map(token_of);
        if let Scope::Own(own) = scope {
            // Checked before reading anything, so the answer says nothing about other keys.
            if filter.api_key.as_ref().is_some_and(|k| k != own) {
                return Err(ApiError::forbidden("A key may only view its own spend."));
            }
            filter.api_key = Some(own.to_string());
        }
        filter.request_id = get(&p, "request_id").map(str::to_string);
        filter.user_id = get(&p, "user_id").map(str::to_string);
        let summarize = match get(&p, "summarize").map(str::to_ascii_lowercase).as_deref() {
            None => filter.has_dates(),
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(_) => {
                return Err(ApiError::bad_request("summarize must be true or false.")
                    .with_param("summarize"))
            }
        };
        let records = self.select(&filter);
        if summarize {
            let today = self.now / 86_400;
            return Ok(summary::by_day(
                &records,
                filter.start_day,
                filter.end_day,
                today,
            ));
        }
        let mut records = records;
        records.reverse();
        records.sort_by_key(|r| std::cmp::Reverse(r.start_time));
        serde_json::to_value(records)
            .map_err(|e| ApiError::internal(500, format!("encoding spend logs failed: {e}")))
    }

    /// GET /global/spend/report: totals per group.
    fn report(&self, query: &str) -> Result<Value, ApiError> {
        let p = params(query);
        let filter = self.dates(&p)?;
        let by = match get(&p, "group_by") {
            None => summary::GroupBy::Team,
            Some(name) => summary::GroupBy::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "group_by must be one of {}; got {name:?}.",
                    summary::GroupBy::NAMES
                ))
                .with_param("group_by")
            })?,
        };
        let mut out = summary::groups(&self.select(&filter), by);
        if let Some(obj) = out.as_object_mut() {
            obj.insert("start_date".into(), filter.start_day.map(format_day).into());
            obj.insert("end_date".into(), filter.end_day.map(format_day).into());
        }
        Ok(out)
    }

    /// The date part of a filter; 400 naming the parameter when a date is invalid.
    fn dates(&self, p: &[(String, String)]) -> Result<Filter, ApiError> {
        let day = |name: &'static str| -> Result<Option<u64>, ApiError> {
            get(p, name)
                .map(|s| {
                    parse_day(s).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name} must be a date as YYYY-MM-DD (UTC); got {s:?}."
                        ))
                        .with_param(name)
                    })
                })
                .transpose()
        };
        let (start_day, end_day) = (day("start_date")?, day("end_date")?);
        if let (Some(s), Some(e)) = (start_day, end_day) {
            if e < s {
                return Err(
                    ApiError::bad_request("end_date is before start_date.").with_param("end_date")
                );
            }
        }
        Ok(Filter {
            start_day,
            end_day,
            ..Filter::default()
        })
    }

    /// The retained records the filter keeps, oldest first.
    fn select(&self, filter: &Filter) -> Vec<SpendRecord> {
        let mut records = ring::read_all(self.store, self.capacity);
        records.retain(|r| filter.keeps(r));
        records
    }
}

#[cfg(test)]
#[path = "report_rules_tests.rs"]
mod rules_tests;
#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
