//! Query strings and path segments of key API calls, percent-decoded.

/// Decoded `name=value` pairs (`+` is a space, `%XX` escapes; bad escapes kept as is).
pub fn params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (decode(name, true), decode(value, true))
        })
        .collect()
}

/// The first value of `name`; empty values count as absent (`?team_id=` filters nothing).
pub fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Percent-decodes one component; in paths `+` is literal.
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(if b == b'+' && plus_is_space { b' ' } else { b });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let p = params("page=2&key_alias=my+key%2Fprod&empty=&flag&bad=%zz%4");
        assert_eq!(get(&p, "page"), Some("2"));
        assert_eq!(get(&p, "key_alias"), Some("my key/prod"));
        assert_eq!(get(&p, "empty"), None);
        assert_eq!(get(&p, "flag"), None);
        assert_eq!(get(&p, "bad"), Some("%zz%4"));
        assert_eq!(get(&p, "missing"), None);
        assert_eq!(decode("a+b%20c", false), "a+b c");
    }
}
