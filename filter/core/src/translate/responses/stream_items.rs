//! The output items a Responses stream builds up, and their JSON.

use serde_json::Value;

use super::items::{function_item, item_id, message_item, reasoning_item, refusal_part, text_part};

/// One content part of a message item.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// A refusal rather than output text.
    pub refusal: bool,
    /// Text so far.
    pub text: String,
}

impl Part {
    /// The part as Responses JSON.
    pub fn to_json(&self) -> Value {
        if self.refusal {
            refusal_part(&self.text)
        } else {
            text_part(&self.text, Value::Array(Vec::new()))
        }
    }
}

/// What an output item holds.
#[derive(Debug)]
pub(super) enum Body {
    /// Reasoning summary text.
    Reasoning(String),
    /// Assistant message content parts.
    Message(Vec<Part>),
    /// A function call.
    Call {
        /// The chat tool call id.
        call_id: String,
        /// Function name.
        name: String,
        /// Arguments JSON text so far.
        args: String,
    },
}

/// One output item.
#[derive(Debug)]
pub(super) struct Item {
    /// `rs_`, `msg_` or `fc_` id.
    pub id: String,
    /// `in_progress`, `completed` or `incomplete`.
    pub status: &'static str,
    /// Content.
    pub body: Body,
}

impl Item {
    /// A new in-progress item at output index `index`.
    pub fn new(prefix: &str, base: &str, index: usize, body: Body) -> Item {
        Item {
            id: item_id(prefix, base, index),
            status: "in_progress",
            body,
        }
    }

    /// Content part `ci` of a message item.
    pub fn part(&self, ci: usize) -> Option<&Part> {
        match &self.body {
            Body::Message(parts) => parts.get(ci),
            _ => None,
        }
    }

    /// The item as Responses JSON in its current state.
    pub fn to_json(&self) -> Value {
        match &self.body {
            Body::Reasoning(text) if self.status == "in_progress" && text.is_empty() => {
                reasoning_item(&self.id, None)
            }
            Body::Reasoning(text) => reasoning_item(&self.id, Some(text)),
            Body::Message(parts) => {
                let content = if self.status == "in_progress" {
                    Vec::new()
                } else {
                    parts.iter().map(Part::to_json).collect()
                };
                message_item(&self.id, self.status, content)
            }
            Body::Call {
                call_id,
                name,
                args,
            } => function_item(&self.id, self.status, call_id, name, args),
        }
    }
}
