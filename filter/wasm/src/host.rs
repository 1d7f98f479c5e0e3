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

/// Seconds since the epoch (0 if the host refuses).
pub fn now_secs() -> u64 {
    now_nanos() / 1_000_000_000
}

/// A request header value.
pub fn request_header(name: &str) -> Option<String> {
    header(MapType::HttpRequestHeaders, name)
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
