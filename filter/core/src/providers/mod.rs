//! One module per provider: how a request reaches it and, later, how its
//! wire format translates to and from the client's.

pub mod anthropic;
pub mod openai;
