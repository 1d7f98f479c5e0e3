//! Command-line parsing, by hand: two subcommands do not justify a parser dependency.

use std::net::IpAddr;
use std::path::PathBuf;

/// Printed for `help`, `--help` and usage errors.
pub const USAGE: &str = "\
usage:
  tollgate validate CONFIG [--no-env]
  tollgate render CONFIG --port N [--admin-port N] [--listen ADDR] [--admin-listen ADDR]
                         [--wasm PATH] [-o FILE]
  tollgate help | --version

validate  checks CONFIG (LiteLLM-style config.yaml) with the process environment;
          --no-env fills unset os.environ/ variables with placeholders.
render    writes a complete Envoy v3 bootstrap (YAML) to stdout or FILE.
          --port         listener port (required)
          --listen       listener address (default 0.0.0.0)
          --admin-port   Envoy admin port (default 9901; 0 lets Envoy pick)
          --admin-listen admin address (default 127.0.0.1)
          --wasm         filter module (default ./target/wasm32-wasip1/release/tollgate_wasm.wasm)
          -o, --output   write to FILE instead of stdout";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `tollgate validate`.
    Validate {
        /// Config file path.
        config: PathBuf,
        /// Use placeholders for unset variables.
        no_env: bool,
    },
    /// `tollgate render`.
    Render(RenderArgs),
    /// `tollgate help`.
    Help,
    /// `tollgate --version`.
    Version,
}

/// Arguments of `tollgate render`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderArgs {
    /// Config file path.
    pub config: PathBuf,
    /// Listener port.
    pub port: u16,
    /// Listener address.
    pub listen: IpAddr,
    /// Admin port (0: Envoy picks).
    pub admin_port: u16,
    /// Admin address.
    pub admin_listen: IpAddr,
    /// Wasm module path as given (made absolute later, against the working directory).
    pub wasm: Option<PathBuf>,
    /// Output file; stdout when absent.
    pub output: Option<PathBuf>,
    /// Where Envoy writes the JSON access log with spend records.
    pub access_log: String,
    /// Directory for watched cluster and filter-config files (reload without restart).
    pub dynamic: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match sub.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        "validate" => parse_validate(rest),
        "render" => parse_render(rest),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Flags seen on a command line: (name, value) in order, plus positionals.
struct Parsed {
    flags: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

/// Splits flags from positionals; `with_value` flags take the next argument or `=value`.
fn split(rest: &[String], with_value: &[&str], switches: &[&str]) -> Result<Parsed, String> {
    let mut out = Parsed {
        flags: Vec::new(),
        positional: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.positional.extend(it.cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            out.positional.push(a.clone());
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        if with_value.contains(&name) {
            let v = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            };
            out.flags.push((name.to_string(), Some(v)));
        } else if switches.contains(&name) {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            out.flags.push((name.to_string(), None));
        } else {
            return Err(format!("unknown option {name:?}"));
        }
    }
    Ok(out)
}

fn one_config(positional: Vec<String>) -> Result<PathBuf, String> {
    let mut it = positional.into_iter();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(PathBuf::from(c)),
        (None, _) => Err("missing CONFIG path".into()),
        (Some(_), Some(extra)) => Err(format!("unexpected argument {extra:?}")),
    }
}

fn parse_validate(rest: &[String]) -> Result<Command, String> {
    let p = split(rest, &[], &["--no-env"])?;
    Ok(Command::Validate {
        no_env: !p.flags.is_empty(),
        config: one_config(p.positional)?,
    })
}

fn parse_render(rest: &[String]) -> Result<Command, String> {
    let p = split(
        rest,
        &[
            "--port",
            "--admin-port",
            "--listen",
            "--admin-listen",
            "--wasm",
            "--access-log",
            "--dynamic",
            "-o",
            "--output",
        ],
        &[],
    )?;
    let mut r = RenderArgs {
        config: one_config(p.positional)?,
        port: 0,
        listen: [0, 0, 0, 0].into(),
        admin_port: 9901,
        admin_listen: [127, 0, 0, 1].into(),
        wasm: None,
        output: None,
        access_log: "/dev/stdout".to_string(),
        dynamic: None,
    };
    let mut port = None;
    for (name, value) in p.flags {
        let v = value.unwrap_or_default();
        match name.as_str() {
            "--port" => port = Some(port_value(&name, &v, false)?),
            "--admin-port" => r.admin_port = port_value(&name, &v, true)?,
            "--listen" => r.listen = address(&name, &v)?,
            "--admin-listen" => r.admin_listen = address(&name, &v)?,
            "--wasm" => r.wasm = Some(PathBuf::from(v)),
            "--access-log" => r.access_log = v,
            "--dynamic" => r.dynamic = Some(PathBuf::from(v)),
            _ => r.output = Some(PathBuf::from(v)),
        }
    }
    r.port = port.ok_or("render needs --port N (the listener port)")?;
    Ok(Command::Render(r))
}

fn port_value(name: &str, v: &str, zero_ok: bool) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(0) if !zero_ok => Err(format!("{name}: 0 is not a usable listener port")),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("{name}: {v:?} is not a port number (0-65535)")),
    }
}

fn address(name: &str, v: &str) -> Result<IpAddr, String> {
    // Envoy's socket_address wants an IP literal; a host name would only fail at start-up.
    v.parse()
        .map_err(|_| format!("{name}: {v:?} is not an IP address (e.g. 0.0.0.0 or ::)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn validate_with_and_without_no_env() {
        assert_eq!(
            parse(&argv("validate c.yaml")).unwrap(),
            Command::Validate {
                config: "c.yaml".into(),
                no_env: false
            }
        );
        assert_eq!(
            parse(&argv("validate --no-env c.yaml")).unwrap(),
            Command::Validate {
                config: "c.yaml".into(),
                no_env: true
            }
        );
        assert!(parse(&argv("validate")).is_err());
        assert!(parse(&argv("validate a b")).is_err());
        assert!(parse(&argv("validate --bogus a")).is_err());
        assert!(parse(&argv("validate --no-env=1 a")).is_err());
    }

    #[test]
    fn render_defaults_and_options() {
        let Command::Render(r) = parse(&argv("render c.yaml --port 10000")).unwrap() else {
            unreachable!()
        };
        assert_eq!(r.port, 10000);
        assert_eq!(r.admin_port, 9901);
        assert_eq!(r.listen.to_string(), "0.0.0.0");
        assert_eq!(r.admin_listen.to_string(), "127.0.0.1");
        assert_eq!(r.wasm, None);
        assert_eq!(r.output, None);

        let Command::Render(r) = parse(&argv(
            "render --port=8080 --admin-port 0 --listen :: --admin-listen=::1 --wasm f.wasm -o out.yaml c.yaml",
        ))
        .unwrap() else {
            unreachable!()
        };
        assert_eq!(r.port, 8080);
        assert_eq!(r.admin_port, 0);
        assert_eq!(r.listen.to_string(), "::");
        assert_eq!(r.admin_listen.to_string(), "::1");
        assert_eq!(r.wasm, Some("f.wasm".into()));
        assert_eq!(r.output, Some("out.yaml".into()));
        assert_eq!(r.config, PathBuf::from("c.yaml"));
    }

    #[test]
    fn render_errors() {
        for (args, want) in [
            ("render c.yaml", "--port"),
            ("render c.yaml --port", "needs a value"),
            ("render c.yaml --port 0", "not a usable"),
            ("render c.yaml --port 70000", "not a port"),
            ("render c.yaml --port 1 --listen localhost", "not an IP"),
            ("render --port 1", "missing CONFIG"),
            ("render c.yaml --port 1 --nope", "unknown option"),
        ] {
            let err = parse(&argv(args)).unwrap_err();
            assert!(err.contains(want), "{args}: {err}");
        }
    }

    #[test]
    fn help_version_unknown() {
        assert_eq!(parse(&argv("--help")).unwrap(), Command::Help);
        assert_eq!(parse(&argv("--version")).unwrap(), Command::Version);
        assert!(parse(&argv("frobnicate")).is_err());
        assert!(parse(&[]).is_err());
    }
}
