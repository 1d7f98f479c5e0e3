//! Splits Gemini's non-SSE stream (one JSON array whose elements arrive over
//! time) into its top-level objects, carrying bytes across chunks.

/// Incremental splitter of a streamed JSON array into element objects.
#[derive(Debug, Default)]
pub(crate) struct JsonSeq {
    buf: Vec<u8>,
    depth: u32,
    in_str: bool,
    escape: bool,
}

impl JsonSeq {
    /// Feeds bytes; returns the objects completed by them.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.depth == 0 {
                // Between elements: the opening bracket, commas, whitespace, the end.
                if b == b'{' {
                    self.depth = 1;
                    self.buf.push(b);
                }
                continue;
            }
            self.buf.push(b);
            if self.in_str {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_str = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        out.push(std::mem::take(&mut self.buf));
                    }
                }
                _ => {}
            }
        }
        out
    }
}
