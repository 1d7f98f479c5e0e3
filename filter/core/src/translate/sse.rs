//! Server-sent events: an incremental parser that carries bytes (not strings)
//! across body chunks, so events, lines, CRLF pairs and multi-byte UTF-8
//! characters may be split at any byte.

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if present.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Longest line (and so event field) kept; an upstream that never ends a line
/// cannot grow the filter's memory past this.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Incremental SSE parser.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    skip_lf: bool,
    /// The current line passed MAX_LINE_BYTES: its bytes are dropped up to the newline.
    discarding: bool,
    overflowed: bool,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.skip_lf {
                self.skip_lf = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.skip_lf = true;
                    self.end_line(&mut out);
                }
                _ if self.discarding => {}
                _ if self.line.len() >= MAX_LINE_BYTES => {
                    self.line.clear();
                    self.discarding = true;
                    self.overflowed = true;
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// The stream ended: completes an event left without its blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.line.is_empty() {
            let mut out = Vec::new();
            self.end_line(&mut out);
        }
        self.dispatch()
    }

    /// True when bytes of an unfinished event are held.
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.data.is_some() || self.event.is_some()
    }

    /// True once a line exceeded [`MAX_LINE_BYTES`] (that line's event was dropped).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::take(&mut self.discarding) {
            // The oversized line's event is incomplete: drop what it had gathered.
            self.event = None;
            self.data = None;
            return;
        }
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if let Some(ev) = self.dispatch() {
                out.push(ev);
            }
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        // Per the SSE spec an event without data is not dispatched.
        let data = self.data.take()?;
        Some(SseEvent { event, data })
    }
}

/// Appends one event in wire format: optional `event:` line, `data:` line(s), blank line.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &str) {
    if let Some(e) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(e.as_bytes());
        out.push(b'\n');
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.push(c)).collect();
        out.extend(p.finish());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn parses_lf_crlf_cr_and_comments() {
        let text = b"event: a\ndata: {\"x\":1}\n\n: comment\r\ndata: one\r\ndata:two\r\n\r\ndata: three\r\rdata: [DONE]\n\n";
        let want = vec![
            ev(Some("a"), "{\"x\":1}"),
            ev(None, "one\ntwo"),
            ev(None, "three"),
            ev(None, "[DONE]"),
        ];
        assert_eq!(parse_all(&[text]), want);
        // Every split point, including inside CRLF pairs, gives the same events.
        for i in 0..text.len() {
            assert_eq!(parse_all(&[&text[..i], &text[i..]]), want, "split at {i}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(parse_all(&bytes), want);
    }

    #[test]
    fn multibyte_utf8_split_across_chunks() {
        let text = "data: {\"t\":\"héllo → 世界 🎉\"}\n\n".as_bytes();
        for i in 0..text.len() {
            let got = parse_all(&[&text[..i], &text[i..]]);
            assert_eq!(
                got,
                vec![ev(None, "{\"t\":\"héllo → 世界 🎉\"}")],
                "split at {i}"
            );
        }
    }

    #[test]
    fn unterminated_last_event_is_completed_by_finish() {
        assert_eq!(parse_all(&[b"data: x"]), vec![ev(None, "x")]);
        assert_eq!(parse_all(&[b"event: ping\n\n"]), vec![]);
        let mut p = SseParser::default();
        assert!(p.push(b"data: partial").is_empty());
        assert!(p.has_partial());
    }

    #[test]
    fn oversized_lines_are_dropped_not_buffered() {
        let mut p = SseParser::default();
        let big = vec![b'x'; MAX_LINE_BYTES + 10];
        assert!(p.push(b"data: ").is_empty());
        assert!(p.push(&big).is_empty());
        assert!(p.line.len() <= MAX_LINE_BYTES);
        let evs = p.push(b"\n\ndata: ok\n\n");
        assert_eq!(evs, vec![ev(None, "ok")]);
        assert!(p.overflowed());
    }

    #[test]
    fn writes_events() {
        let mut out = Vec::new();
        write_event(
            &mut out,
            Some("message_stop"),
            "{\"type\":\"message_stop\"}",
        );
        write_event(&mut out, None, "[DONE]");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\ndata: [DONE]\n\n"
        );
    }
}
