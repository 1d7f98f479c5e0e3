//! Starts the built mock binary and talks to it with a minimal blocking HTTP/1.1 client.

use std::error::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// A running mock; killed when dropped so a failing test leaves nothing behind.
pub struct Mock {
    pub child: Child,
    pub port: u16,
}

impl Mock {
    /// Starts `tollgate-mock --port 0 --name NAME` and reads the port from its first line.
    pub fn start(name: &str) -> TestResult<Mock> {
        Mock::start_with(name, &[])
    }

    /// As [`Mock::start`], with extra command-line arguments.
    pub fn start_with(name: &str, extra: &[&str]) -> TestResult<Mock> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate-mock"))
            .args(["--port", "0", "--name", name])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .parse()?;
        Ok(Mock { child, port })
    }

    /// Sends one request on a fresh connection and reads until the server closes it.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> TestResult<Resp> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: mock\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let started = Instant::now();
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        let mut head_at = None;
        let mut body_at = None;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                // A reset is how some scripted drops look from here; treat it as end of data.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                head_at.get_or_insert(started.elapsed());
                if raw.len() > end + 4 {
                    body_at.get_or_insert(started.elapsed());
                }
            }
        }
        let mut resp = Resp::parse(&raw)?;
        resp.head_at = head_at;
        resp.body_at = body_at;
        Ok(resp)
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, body: &str) -> TestResult<Resp> {
        self.send("POST", path, &[("content-type", "application/json")], body)
    }

    /// GET without a body.
    pub fn get(&self, path: &str) -> TestResult<Resp> {
        self.send("GET", path, &[], "")
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed response; `complete` is false when the body framing was cut short.
#[derive(Debug, Default)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub complete: bool,
    pub head_at: Option<Duration>,
    pub body_at: Option<Duration>,
}

impl Resp {
    fn parse(raw: &[u8]) -> TestResult<Resp> {
        let Some(end) = find(raw, b"\r\n\r\n") else {
            return Ok(Resp::default());
        };
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .ok_or("no status line")?
            .parse()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let rest = &raw[end + 4..];
        let mut resp = Resp {
            status,
            headers,
            ..Resp::default()
        };
        if resp.header("transfer-encoding") == Some("chunked") {
            let (body, complete) = dechunk(rest);
            resp.body = String::from_utf8_lossy(&body).into_owned();
            resp.complete = complete;
        } else {
            resp.body = String::from_utf8_lossy(rest).into_owned();
            let expected = resp
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok());
            resp.complete = expected.is_none_or(|n| n == rest.len());
        }
        Ok(resp)
    }

    /// First value of a header (names are lower-cased).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> TestResult<serde_json::Value> {
        Ok(serde_json::from_str(&self.body)?)
    }

    /// The `data:` payloads of an SSE body, in order (including "[DONE]").
    pub fn sse_data(&self) -> Vec<String> {
        self.body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes chunked transfer coding; the flag says whether the terminating chunk arrived.
fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = find(data, b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return (out, false);
        };
        data = &data[line_end + 2..];
        if size == 0 {
            return (out, true);
        }
        if data.len() < size + 2 {
            out.extend_from_slice(&data[..size.min(data.len())]);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
