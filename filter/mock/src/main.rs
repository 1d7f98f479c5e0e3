//! `tollgate-mock`: a scriptable mock LLM provider speaking the OpenAI wire format.

mod anthropic;
mod body;
mod chaos;
mod control;
mod faces;
mod gemini;
mod openai;
mod reply;
mod reqlog;
mod script;
mod server;
mod util;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

const USAGE: &str =
    "usage: tollgate-mock [--host 127.0.0.1] [--port 0] [--name mock] [--quiet] [--chaos JSON]

  --host HOST   address to bind (default 127.0.0.1)
  --port N      port to bind; 0 picks a free one (default 0)
  --name NAME   instance name, sent as x-mock-name and echoed in answers (default mock)
  --quiet       do not log requests to stderr
  --chaos JSON  initial chaos schedule, as for POST /__mock/chaos; times count from start-up

Prints `listening on http://HOST:PORT` once bound. Control API under /__mock/.";

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    host: String,
    port: u16,
    name: String,
    quiet: bool,
    chaos: Option<String>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Args),
    Help,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = Args {
        host: "127.0.0.1".to_owned(),
        port: 0,
        name: "mock".to_owned(),
        quiet: false,
        chaos: None,
    };
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quiet" => args.quiet = true,
            "--host" => args.host = value("--host")?,
            "--name" => args.name = value("--name")?,
            "--chaos" => {
                let raw = value("--chaos")?;
                // Checked here so a typo fails at start-up, not silently later.
                chaos::parse_request(raw.as_bytes(), 0).map_err(|e| format!("--chaos: {e}"))?;
                args.chaos = Some(raw);
            }
            "--port" => {
                let raw = value("--port")?;
                args.port = raw.parse().map_err(|_| format!("invalid port: {raw}"))?;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Command::Run(args))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tollgate-mock: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // One thread is plenty for test traffic and keeps the mock light next to Envoy.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tollgate-mock: cannot start runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tollgate-mock: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{addr}")?;
    // Harnesses block on this line to learn the port, so it must not sit in a buffer.
    stdout.flush()?;
    let state = Arc::new(server::State::new(args.name, args.quiet));
    if let Some(raw) = &args.chaos {
        let request = chaos::parse_request(raw.as_bytes(), util::now_ms())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        state
            .chaos
            .apply(request)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    tokio::spawn(server::run(listener, state));
    wait_for_shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn wait_for_shutdown() {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let on_int = tx.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = on_int.send(()).await;
        }
    });
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            let on_term = tx.clone();
            tokio::spawn(async move {
                if term.recv().await.is_some() {
                    let _ = on_term.send(()).await;
                }
            });
        }
    }
    // Keep one sender alive so recv() waits for a signal instead of seeing a closed channel.
    let _keep = tx;
    rx.recv().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags() {
        let defaults = Args {
            host: "127.0.0.1".into(),
            port: 0,
            name: "mock".into(),
            quiet: false,
            chaos: None,
        };
        assert_eq!(parse(&[]), Ok(Command::Run(defaults)));
        let custom = Args {
            host: "0.0.0.0".into(),
            port: 8080,
            name: "b".into(),
            quiet: true,
            chaos: Some(r#"{"mode":"down","duration_ms":500}"#.into()),
        };
        assert_eq!(
            parse(&[
                "--host",
                "0.0.0.0",
                "--port=8080",
                "--name",
                "b",
                "--quiet",
                "--chaos",
                r#"{"mode":"down","duration_ms":500}"#
            ]),
            Ok(Command::Run(custom))
        );
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--chaos", r#"{"mode":"sideways"}"#]).is_err());
    }
}
