//! Turns an `api_base` URL into the Envoy cluster that reaches it.
//!
//! The CLI (which renders clusters) and the filter (which names the cluster per
//! request) both call [`Upstream::parse`], so the names always agree.

/// Where a deployment's requests go: one Envoy cluster per scheme/host/port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// TLS (https) or plain HTTP.
    pub tls: bool,
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// TCP port, defaulted from the scheme.
    pub port: u16,
    /// Path prefix of the base URL without trailing slash ("/v1", or "").
    pub base_path: String,
    /// Value for `:authority`: host, plus the port when it is not the scheme's default.
    pub authority: String,
    /// Envoy cluster name; deterministic and stats-friendly.
    pub cluster: String,
}

impl Upstream {
    /// Parses `http(s)://host[:port][/path]`; query strings and credentials are refused.
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?} must start with http:// or https://"));
        };
        if rest.contains(['?', '#']) {
            return Err(format!("{url:?} must not contain a query or fragment"));
        }
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if hostport.contains('@') {
            return Err(format!("{url:?} must not embed credentials"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_host_port(hostport, default_port)
            .ok_or_else(|| format!("{url:?} has an invalid host or port"))?;
        let host_in_authority = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let authority = if port == default_port {
            host_in_authority
        } else {
            format!("{host_in_authority}:{port}")
        };
        let cluster = format!(
            "tollgate_{}_{}_{}",
            if tls { "https" } else { "http" },
            sanitize(host),
            port
        );
        Ok(Upstream {
            tls,
            host: host.to_string(),
            port,
            base_path: path.trim_end_matches('/').to_string(),
            authority,
            cluster,
        })
    }

    /// True when the host is an IP literal (a STATIC cluster, no DNS).
    pub fn is_ip(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }
}

fn split_host_port(hostport: &str, default_port: u16) -> Option<(&str, u16)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return valid_host(host).then_some((host, port));
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, default_port),
    };
    (valid_host(host) && port != 0).then_some((host, port))
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

fn sanitize(host: &str) -> String {
    host.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_default_port_and_path() {
        let u = Upstream::parse("https://api.openai.com/v1/").unwrap();
        assert!(u.tls);
        assert_eq!(u.port, 443);
        assert_eq!(u.base_path, "/v1");
        assert_eq!(u.authority, "api.openai.com");
        assert_eq!(u.cluster, "tollgate_https_api_openai_com_443");
        assert!(!u.is_ip());
    }

    #[test]
    fn http_with_port() {
        let u = Upstream::parse("http://127.0.0.1:8080").unwrap();
        assert!(!u.tls);
        assert_eq!(u.port, 8080);
        assert_eq!(u.base_path, "");
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert!(u.is_ip());
    }

    #[test]
    fn ipv6_literal() {
        let u = Upstream::parse("http://[::1]:9000/v1").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.authority, "[::1]:9000");
        assert!(u.is_ip());
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "ftp://x",
            "api.openai.com",
            "http://",
            "http://a:b",
            "http://a:0",
            "http://u:p@host",
            "http://h/v1?x=1",
            "http://bad host",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
