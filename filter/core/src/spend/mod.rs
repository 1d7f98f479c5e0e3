//! Spend tracking: list prices, request cost, the spend log ring in the shared
//! store, the LiteLLM-style reporting API and usage capture for relayed responses.

pub mod tap;

pub use tap::{usage_from_body, TapFormat, UsageTap};

#[cfg(test)]
mod test_support;
