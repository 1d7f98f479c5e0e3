//! Host calls that return errors instead of panicking: the SDK's convenience
//! methods panic on a failed call, which would kill the worker's VM.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

/// The plugin configuration bytes, if any.
pub fn plugin_configuration() -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        .ok()
        .flatten()
}

/// Nanoseconds since the epoch (0 if the host refuses), for RNG seeding.
pub fn now_nanos() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A header value from the given map; bytes that are not UTF-8 become U+FFFD.
///
/// Header values may carry any byte from 0x80 up (obs-text). The SDK's string
/// getter unwraps the UTF-8 conversion, so such a value from a client or a
/// provider would panic and kill the worker's VM (and print the raw bytes, a key
/// included, to the log): read bytes and convert here instead. The lossy value
/// keeps a garbled credential present, so it is refused rather than skipped for
/// another header; configured credentials never contain U+FFFD, so it cannot match.
pub fn header(map: MapType, name: &str) -> Option<String> {
    hostcalls::get_map_value_bytes(map, name)
        .ok()
        .flatten()
        .map(|bytes| match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
}

#[link(wasm_import_module = "env")]
extern "C" {
    // Declared here as the SDK declares it: its wrapper panics on a status it does
    // not expect and on a header name that is not UTF-8, either of which would kill
    // the worker's VM.
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> proxy_wasm::types::Status;
}

/// One header map read with a single host call: every host call that returns data
/// re-enters the VM to allocate, so a handful of single-header reads costs several
/// times one read of the whole map.
#[derive(Debug, Default, Clone)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The map's headers now (empty if the host refuses).
    pub fn read(map: MapType) -> Headers {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: the host writes a buffer it allocated through this module's
        // allocator (proxy_on_memory_allocate) and its size; ownership passes to us.
        let bytes = unsafe {
            match proxy_get_header_map_pairs(map, &mut data, &mut size) {
                proxy_wasm::types::Status::Ok if !data.is_null() => {
                    Vec::from_raw_parts(data, size, size)
                }
                _ => return Headers::default(),
            }
        };
        Headers(parse_pairs(&bytes).unwrap_or_default())
    }

    /// The first value of a header (names are lower-case in Envoy's maps).
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// True when the header is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Decodes the host's serialised pairs: a count, then (name size, value size)
/// for each, then the NUL-terminated names and values. None if it is malformed.
fn parse_pairs(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = word(0)?;
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    let mut out = Vec::with_capacity(count.min(256));
    for n in 0..count {
        let (ks, vs) = (word(4 + n * 8)?, word(8 + n * 8)?);
        let key = bytes.get(at..at.checked_add(ks)?)?;
        at = at.checked_add(ks + 1)?;
        let value = bytes.get(at..at.checked_add(vs)?)?;
        at = at.checked_add(vs + 1)?;
        out.push((lossy(key), lossy(value)));
    }
    Some(out)
}

/// Text of header bytes; bytes that are not UTF-8 become U+FFFD (see [`header`]).
fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A string property such as `response.code_details`.
pub fn property(path: &[&str]) -> Option<String> {
    hostcalls::get_property(path.to_vec())
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Sets (or with None removes) a header; logs instead of failing the request.
pub fn set_header(map: MapType, name: &str, value: Option<&str>) -> bool {
    match hostcalls::set_map_value(map, name, value) {
        Ok(()) => true,
        Err(status) => {
            log::warn!("setting header {name} failed: {status:?}");
            false
        }
    }
}

/// The first `size` bytes of a body buffer.
pub fn buffer(kind: BufferType, size: usize) -> Vec<u8> {
    hostcalls::get_buffer(kind, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Replaces the first `size` bytes of a body buffer.
pub fn replace_buffer(kind: BufferType, size: usize, body: &[u8]) -> bool {
    match hostcalls::set_buffer(kind, 0, size, body) {
        Ok(()) => true,
        Err(status) => {
            log::warn!("replacing {kind:?} failed: {status:?}");
            false
        }
    }
}

/// Re-evaluates the route after the cluster header changed.
pub fn clear_route_cache() {
    // Header mutation already clears it on this ABI; the explicit call documents
    // intent and covers hosts that do not. Absence of the function is fine.
    let _ = hostcalls::call_foreign_function("clear_route_cache", None);
}

/// Sends a local reply; the request goes no further. Its content-type is
/// application/json unless `headers` names one.
pub fn send_reply(status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        all.push(("content-type", "application/json"));
    }
    all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
    if let Err(s) = hostcalls::send_http_response(u32::from(status), all, Some(body)) {
        log::error!("send_http_response failed: {s:?}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The host's encoding: count, (name size, value size) each, then the NUL-terminated bytes.
    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (k, v) in pairs {
            out.extend((k.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (k, v) in pairs {
            out.extend(*k);
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn pairs_decode_in_order_with_lossy_text() {
        let bytes = encode(&[
            (b":path", b"/v1/chat/completions"),
            (b"authorization", b"Bearer sk-\xff"),
            (b"x-empty", b""),
            (b"authorization", b"second"),
        ]);
        let h = Headers(parse_pairs(&bytes).unwrap());
        assert_eq!(h.get(":path").as_deref(), Some("/v1/chat/completions"));
        assert_eq!(
            h.get("authorization").as_deref(),
            Some("Bearer sk-\u{fffd}")
        );
        assert_eq!(h.get("x-empty").as_deref(), Some(""));
        assert!(h.has("x-empty") && !h.has("x-missing"));
        assert_eq!(parse_pairs(&[]).unwrap(), Vec::<(String, String)>::new());
    }

    #[test]
    fn malformed_pairs_are_refused_not_read_past_their_end() {
        let bytes = encode(&[(b"a", b"bc"), (b"d", b"e")]);
        for cut in 1..bytes.len() - 1 {
            assert_eq!(parse_pairs(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_pairs(&huge), None);
        let mut long = bytes;
        long[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(parse_pairs(&long), None);
    }
}
