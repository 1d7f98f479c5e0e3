//! One request/response exchange with a deployment: building the upstream
//! request for (client API, provider) and the plan for its response.

pub mod request;
pub mod response;
pub mod whole;

pub use request::{prepare, UpstreamRequest};
pub use response::{from_openai_error, ResponsePlan, Translation};
