//! Spend tracking: list prices, request cost, the spend log ring in the shared
//! store, the LiteLLM-style reporting API and usage capture for relayed responses.

pub mod caps;
pub mod cost;
pub mod dates;
pub mod prices;
pub mod record;
pub mod report;
pub mod ring;
pub mod summary;
pub mod tap;

pub use caps::max_output_tokens_of;
pub use cost::{cost_micros, estimate_prompt_tokens, max_output_tokens, worst_case_micros};
pub use prices::{lookup, Price};
pub use record::SpendRecord;
pub use report::SpendApi;
pub use tap::{usage_from_body, TapFormat, UsageTap};

#[cfg(test)]
mod test_support;
