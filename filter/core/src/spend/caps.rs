//! The output cap a request asks for, read from its bytes without building a
//! `serde_json::Value` tree: admission runs on every request, and a typed pass
//! that skips everything but five fields costs a fraction of a full parse.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Any JSON value, kept when it is a non-negative integer (as `Value::as_u64` reads it).
#[derive(Default)]
struct Count(Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
        Ok(Count(Some(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
        Ok(Count(u64::try_from(v).ok()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Count(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count(None))
    }
}

#[derive(Deserialize)]
struct Camel {
    #[serde(rename = "maxOutputTokens", default)]
    max_output_tokens: Count,
}

#[derive(Deserialize)]
struct Snake {
    #[serde(default)]
    max_output_tokens: Count,
}

#[derive(Deserialize)]
struct Caps {
    #[serde(default)]
    max_tokens: Count,
    #[serde(default)]
    max_completion_tokens: Count,
    #[serde(default)]
    max_output_tokens: Count,
    #[serde(rename = "generationConfig")]
    camel: Option<Camel>,
    generation_config: Option<Snake>,
}

/// [`super::max_output_tokens`] of a request body: None when the body is not JSON.
pub fn max_output_tokens_of(body: &[u8], default: u64) -> Option<u64> {
    // Odd shapes (a duplicate field, a non-object generationConfig, a non-object
    // body) take the general path, so both always agree.
    let general = || {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .map(|v| super::max_output_tokens(&v, default))
    };
    // A derived struct also reads a JSON array positionally; only objects go typed.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return general();
    }
    match serde_json::from_slice::<Caps>(body) {
        Ok(c) => Some(
            [
                c.max_tokens.0,
                c.max_completion_tokens.0,
                c.max_output_tokens.0,
                c.camel.and_then(|g| g.max_output_tokens.0),
                c.generation_config.and_then(|g| g.max_output_tokens.0),
            ]
            .into_iter()
            .flatten()
            .filter(|n| *n > 0)
            .max()
            .unwrap_or(default),
        ),
        Err(_) => general(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agrees_with_the_value_reader() {
        let cases = [
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}),
            json!({"max_tokens": 16, "max_completion_tokens": 40}),
            json!({"max_output_tokens": 7, "max_tokens": 0}),
            json!({"generationConfig": {"maxOutputTokens": 99, "temperature": 1}}),
            json!({"generation_config": {"max_output_tokens": 12}}),
            json!({"max_tokens": "16", "max_completion_tokens": -3}),
            json!({"max_tokens": 1.5}),
            json!({"max_tokens": null, "generationConfig": null}),
            json!({"generationConfig": "odd"}),
            json!({"max_tokens": {"nested": [1, 2]}}),
            json!({}),
            json!([1, 2]),
            json!("text"),
        ];
        for v in cases {
            let bytes = serde_json::to_vec(&v).unwrap();
            assert_eq!(
                max_output_tokens_of(&bytes, 4096),
                Some(super::super::max_output_tokens(&v, 4096)),
                "{v}"
            );
        }
        let dup = br#"{"max_tokens": 5, "max_tokens": 9}"#;
        assert_eq!(max_output_tokens_of(dup, 4096), Some(9));
        assert_eq!(max_output_tokens_of(b"not json", 4096), None);
    }
}
