//! One module per provider: how a request reaches it and how its wire format
//! translates to and from OpenAI chat, the pivot.

pub mod anthropic;
pub mod gemini;
pub mod openai;
