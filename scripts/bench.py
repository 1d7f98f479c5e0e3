"""tollgate vs plain Envoy vs LiteLLM's proxy: one run, one machine, one upstream.

Starts tollgate-bench-upstream (a fast provider: OpenAI and Anthropic, whole or
streamed), then for each Envoy worker count: plain Envoy (the rendered bootstrap
minus the filter), Envoy + tollgate, and LiteLLM's proxy (when --litellm names its
Python). Each is driven by the same wrk load, and streams by the same raw-socket
client. Cells, per repetition, back to back:

- direct   the upstream itself (the floor every proxy adds to)
- plain    plain Envoy
- floor    plain Envoy plus a proxy-wasm filter that does nothing
           (filter/bench-floor): what any wasm filter costs before it works
- bodies   the same filter holding and reading the request and the response
           body, as any gateway routing on the JSON and pricing the usage must:
           the ceiling for such a filter on this machine
- minimal  the bodies floor plus the fewest host calls a gateway with keys,
           limits, routing and spend makes per request (headers read and held,
           the key record read and written at admission and at settlement, the
           upstream and its credential set, the clock, a metric, the spend record),
           each once and with no logic: the ceiling for a proxy-wasm filter doing
           tollgate's work, before any of its own code runs
- master   tollgate, master key: auth, routing, spend records, metrics
- limits   tollgate, a virtual key with rpm/tpm/parallel limits and a budget:
           everything on (the configuration the targets are judged on)
- anthropic  tollgate translating OpenAI chat to Anthropic Messages and back
- litellm  LiteLLM's proxy (no database), master key
- *_delay  plain, limits and litellm again in front of an upstream that takes
           --delay-ms to answer (how LLM providers behave): throughput at
           --delay-connections, where a proxy's CPU cost matters less than its
           concurrency

Measured: latency at 1 connection (p50/p99), throughput at saturation, CPU time
per request (the proxy's utime+stime over the cell / answered requests), resident
memory idle and at the end of the run, and for streams: time to first token and
the time each chunk takes to cross the proxy (the upstream stamps every chunk with
the time it wrote it), spaced (a gap between chunks: each crosses alone) and in a
burst (back to back: the per-chunk CPU cost). Ratios are computed pair by pair
within a repetition, then summarised as median and range.

With --concurrency 1 the proxy is pinned to CPU 0 and the load generator and the
upstream to CPU 1, so the proxy has one core to itself as Envoy's one worker does.

Exit status: 0 done (targets are reported, not enforced), 1 setup failed,
2 bad arguments, 3 --check-targets and a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
CLI = TARGET / "release" / "tollgate"
UPSTREAM = TARGET / "release" / "tollgate-bench-upstream"
WASM = TARGET / "wasm32-wasip1" / "release" / "tollgate_wasm.wasm"
FLOOR_WASM = TARGET / "wasm32-wasip1" / "release" / "tollgate_bench_floor.wasm"
MASTER_KEY = "sk-bench-master"
PROMPT = [{"role": "user", "content": "Say hello in five words."}]
START_TIMEOUT_S = 60.0

# The targets the issue sets, as (name, description). Judged on the `limits` cell.
TARGETS = {
    "throughput_vs_plain": "Envoy+tollgate sustains >= 80% of plain Envoy's throughput",
    "added_p50_us": "adds <= 50 us at p50 over plain Envoy at 1 connection",
    "stream_chunk_us": "streaming translation adds < 5 us per chunk",
    "idle_rss_mb": "idle memory within 30 MB of plain Envoy's",
    "vs_litellm": "throughput >= 50x LiteLLM's proxy",
}

# The wasm floors, cheapest first: see the module documentation.
FLOORS = ("floor", "bodies", "minimal")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ processes


class Proc:
    """A started process with its log; stopped on exit."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict | None = None,
                 cpus: str | None = None):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        if cpus is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", cpus, *argv]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})})
        LIVE.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in LIVE:
            LIVE.remove(self)


LIVE: list[Proc] = []


def cpu_seconds(pid: int) -> float:
    """CPU time of a process so far, in seconds: the scheduler's nanosecond count
    summed over its threads (/proc/PID/task/*/schedstat), which resolves one
    stream's work where utime/stime move in 10 ms ticks."""
    total = 0
    tasks = Path(f"/proc/{pid}/task")
    for t in tasks.iterdir():
        try:
            total += int((t / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between listing and reading
    return total / 1e9


def tree_pids(pid: int) -> list[int]:
    """pid and its descendants (LiteLLM's proxy runs its server in a child)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return out


def tree_cpu(pid: int) -> float:
    total = 0.0
    for p in tree_pids(pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


def tree_rss_mb(pid: int) -> float:
    total = 0
    for p in tree_pids(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def wait_http(url: str, proc: Proc, ok=lambda status: status < 500,
              timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise SystemExit(f"{proc.name} exited during start-up:\n{proc.tail()}")
        try:
            req = urllib.request.Request(url, method="GET")
            with urllib.request.urlopen(req, timeout=2) as r:
                if ok(r.status):
                    return
        except urllib.error.HTTPError as e:
            if ok(e.code):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.tail()}")


def start_upstream(workdir: Path, name: str, cpus: str | None, gap_ms: int = 0,
                   delay_ms: int = 0) -> tuple[Proc, str]:
    p = Proc(name, [str(UPSTREAM), "--port", "0", "--chunk-gap-ms", str(gap_ms),
                    "--delay-ms", str(delay_ms)], workdir, cpus=cpus)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"listening on (http://\S+)", p.log_path.read_text())
        if m:
            return p, m.group(1)
        if p.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"bench upstream did not start:\n{p.tail()}")


TOLLGATE_CONFIG = """\
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{up}/v1", api_key: os.environ/BENCH_PROVIDER_KEY}}
    model_info: {{id: bench-openai}}
  - model_name: claude-haiku
    litellm_params: {{model: anthropic/claude-3-5-haiku-20241022, api_base: "{up}", api_key: os.environ/BENCH_PROVIDER_KEY}}
    model_info: {{id: bench-anthropic}}
  - model_name: gpt-4o-mini-spaced
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{spaced}/v1", api_key: os.environ/BENCH_PROVIDER_KEY}}
    model_info: {{id: bench-openai-spaced}}
  - model_name: gpt-4o-mini-delay
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{delay}/v1", api_key: os.environ/BENCH_PROVIDER_KEY}}
    model_info: {{id: bench-openai-delay}}
  - model_name: claude-haiku-spaced
    litellm_params: {{model: anthropic/claude-3-5-haiku-20241022, api_base: "{spaced}", api_key: os.environ/BENCH_PROVIDER_KEY}}
    model_info: {{id: bench-anthropic-spaced}}
general_settings: {{master_key: os.environ/BENCH_MASTER_KEY}}
"""

LITELLM_CONFIG = """\
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{up}/v1", api_key: sk-bench-provider}}
  - model_name: gpt-4o-mini-spaced
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{spaced}/v1", api_key: sk-bench-provider}}
  - model_name: gpt-4o-mini-delay
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{delay}/v1", api_key: sk-bench-provider}}
general_settings: {{master_key: {master}}}
litellm_settings: {{telemetry: false, drop_params: true}}
"""

ENVOY_ENV = {"BENCH_MASTER_KEY": MASTER_KEY, "BENCH_PROVIDER_KEY": "sk-bench-provider"}


def render(workdir: Path, config: str, port: int, admin: int) -> Path:
    cfg = workdir / "config.yaml"
    cfg.write_text(config)
    out = workdir / "tollgate.yaml"
    p = subprocess.run([str(CLI), "render", str(cfg), "--port", str(port), "--admin-port",
                        str(admin), "--listen", "127.0.0.1", "--admin-listen", "127.0.0.1",
                        "--wasm", str(WASM), "-o", str(out)],
                       capture_output=True, text=True, env={**os.environ, **ENVOY_ENV})
    if p.returncode != 0:
        raise SystemExit(f"tollgate render failed:\n{p.stderr}{p.stdout}")
    return out


def plain_bootstrap(tollgate: Path, dst: Path, port: int, admin: int, up: str,
                    spaced: str, delay: str | None = None, floor: Path | None = None,
                    floor_mode: str = "pass") -> None:
    """The same bootstrap without the filter: one route per upstream, by path prefix.
    With `floor`, the wasm filter stays (same VM settings) but runs that module,
    configured with `floor_mode` ("pass"; "bodies" to hold and read both bodies;
    "gateway" for the minimal gateway's host calls)."""
    import yaml

    b = yaml.safe_load(tollgate.read_text())
    b["admin"]["address"]["socket_address"]["port_value"] = admin
    lst = b["static_resources"]["listeners"][0]
    lst["address"]["socket_address"]["port_value"] = port
    hcm = lst["filter_chains"][0]["filters"][0]["typed_config"]
    if floor is None:
        hcm["http_filters"] = [f for f in hcm["http_filters"]
                               if f["name"] != "envoy.filters.http.wasm"]
    else:
        for f in hcm["http_filters"]:
            if f["name"] == "envoy.filters.http.wasm":
                vm = f["typed_config"]["config"]["vm_config"]
                vm["code"] = {"local": {"filename": str(floor)}}
                vm["vm_id"] = "bench-floor"
                f["typed_config"]["config"]["configuration"] = {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": floor_mode}
    clusters = b["static_resources"]["clusters"]

    def cluster_for(url: str) -> str:
        port_value = int(url.rsplit(":", 1)[1])
        for c in clusters:
            for ep in c.get("load_assignment", {}).get("endpoints", []):
                for lb in ep.get("lb_endpoints", []):
                    if lb["endpoint"]["address"]["socket_address"]["port_value"] == port_value:
                        return c["name"]
        raise SystemExit(f"no cluster for {url} in the rendered bootstrap")

    vh = hcm["route_config"]["virtual_hosts"][0]
    vh["routes"] = [
        {"match": {"prefix": "/spaced/"},
         "route": {"cluster": cluster_for(spaced), "prefix_rewrite": "/", "timeout": "60s"}},
        {"match": {"prefix": "/delay/"},
         "route": {"cluster": cluster_for(delay or up), "prefix_rewrite": "/", "timeout": "60s"}},
        {"match": {"prefix": "/"}, "route": {"cluster": cluster_for(up), "timeout": "60s"}},
    ]
    dst.write_text(yaml.safe_dump(b))


def start_envoy(envoy: str, name: str, bootstrap: Path, workdir: Path, port: int, admin: int,
                concurrency: int, cpus: str | None) -> Proc:
    p = Proc(name, [envoy, "-c", str(bootstrap), "--disable-hot-restart", "--concurrency",
                    str(concurrency), "-l", "error"], workdir, env=ENVOY_ENV, cpus=cpus)
    wait_http(f"http://127.0.0.1:{admin}/ready", p, ok=lambda s: s == 200)
    wait_http(f"http://127.0.0.1:{port}/", p, ok=lambda s: True)
    return p


def start_litellm(python: str, workdir: Path, ups: dict, port: int, workers: int,
                  cpus: str | None) -> Proc:
    cfg = workdir / "litellm.yaml"
    cfg.write_text(LITELLM_CONFIG.format(**ups, master=MASTER_KEY))
    env = {
        # No fetch of the model price map: this machine reaches package registries only.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
    p = Proc(f"litellm-{workers}", [python, "-m", "litellm.proxy.proxy_cli", "--config", str(cfg), "--host", "127.0.0.1",
                                    "--port", str(port), "--num_workers", str(workers)],
             workdir, env=env, cpus=cpus)
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", p, ok=lambda s: s == 200,
              timeout=180)
    return p


def generate_key(url: str) -> str:
    body = json.dumps({
        "key_alias": "bench-team", "models": [], "max_budget": 1_000_000,
        "rpm_limit": 100_000_000, "tpm_limit": 100_000_000_000,
        "max_parallel_requests": 10_000, "metadata": {"department": "bench"},
    }).encode()
    req = urllib.request.Request(f"{url}/key/generate", data=body, method="POST", headers={
        "authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["key"]


# ------------------------------------------------------------------ load: wrk

WRK_LUA = """\
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
{auth}
wrk.body = {body}
"""


def lua_string(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def wrk_script(workdir: Path, name: str, model: str, key: str | None) -> Path:
    body = json.dumps({"model": model, "messages": PROMPT, "temperature": 0.2,
                       "max_tokens": 16})
    auth = f'wrk.headers["authorization"] = "Bearer {key}"' if key else ""
    path = workdir / f"{name}.lua"
    path.write_text(WRK_LUA.format(auth=auth, body=lua_string(body)))
    return path


UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def parse_duration_us(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """wrk --latency output -> {rps, requests, p50_us, p99_us, non2xx, errors}."""
    def pct(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+(\S+)", out, re.M)
        if not m:
            raise ValueError(f"wrk printed no {label}% line:\n{out}")
        return parse_duration_us(m.group(1))

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    reqs = re.search(r"(\d+) requests in", out)
    if not rps or not reqs:
        raise ValueError(f"wrk printed no totals:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)),
        "requests": int(reqs.group(1)),
        "p50_us": pct("50"),
        "p99_us": pct("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(map(int, errs.groups())) if errs else 0,
    }


def run_wrk(url: str, script: Path, conns: int, threads: int, seconds: float,
            proxy_pid: int | None, cpus: str | None) -> dict:
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s",
            "-s", str(script), f"{url}/v1/chat/completions"]
    if cpus is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", cpus, *argv]
    before = tree_cpu(proxy_pid) if proxy_pid else None
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    res = parse_wrk(out)
    if proxy_pid:
        answered = max(res["requests"], 1)
        res["cpu_us_per_req"] = (tree_cpu(proxy_pid) - before) * 1e6 / answered
        res["rss_mb"] = tree_rss_mb(proxy_pid)
    return res


# ------------------------------------------------------------------ streams

STAMP = re.compile(rb"t=(\d{16,20})")


class StreamClient:
    """One keep-alive HTTP/1.1 connection sending streamed chat requests."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def request(self, path: str, body: dict, key: str | None) -> tuple[float, list[float]]:
        """-> (time to first chunk in us, each chunk's crossing time in us)."""
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\n"
                + (f"authorization: Bearer {key}\r\n" if key else "") + "\r\n").encode()
        for attempt in range(2):
            if self.sock is None:
                self.sock = self._connect()
            try:
                return self._exchange(head + data)
            except (ConnectionError, socket.timeout, ValueError):
                self.sock.close()
                self.sock = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _exchange(self, payload: bytes) -> tuple[float, list[float]]:
        assert self.sock is not None
        sent = time.time_ns()
        self.sock.sendall(payload)
        buf, first, crossings, scanned = b"", None, [], 0
        while True:
            chunk = self.sock.recv(65536)
            now = time.time_ns()
            if not chunk:
                raise ConnectionError("closed mid-stream")
            buf += chunk
            # Stamps are matched from just before the new bytes: one may straddle reads.
            for m in STAMP.finditer(buf, max(0, scanned - 24)):
                if m.end() <= scanned:
                    continue
                crossings.append((now - int(m.group(1))) / 1000)
                if first is None:
                    first = (now - sent) / 1000
            scanned = len(buf)
            if b"\r\n0\r\n\r\n" in buf[-16:] or buf.endswith(b"0\r\n\r\n") and b"[DONE]" in buf:
                break
        status = buf.split(b" ", 2)[1] if b" " in buf else b"?"
        if status != b"200":
            raise SystemExit(f"stream answered {status!r}: {buf[:400]!r}")
        if b"connection: close" in buf.split(b"\r\n\r\n", 1)[0].lower():
            self.sock.close()
            self.sock = None
        return first or 0.0, crossings

    def close(self) -> None:
        if self.sock:
            self.sock.close()


def run_stream(port: int, path: str, model: str, key: str | None, chunks: int,
               requests: int, proxy_pid: int | None = None) -> dict:
    client = StreamClient(port)
    body = {"model": model, "messages": PROMPT, "stream": True, "max_tokens": chunks,
            "stream_options": {"include_usage": True}}
    ttfts, crossings, totals = [], [], []
    try:
        client.request(path, body, key)  # warm-up
        cpu_before = tree_cpu(proxy_pid) if proxy_pid else 0.0
        for _ in range(requests):
            t0 = time.perf_counter_ns()
            first, cross = client.request(path, body, key)
            totals.append((time.perf_counter_ns() - t0) / 1000)
            if len(cross) != chunks + 1 and len(cross) != chunks:
                raise SystemExit(f"stream via {path} {model}: {len(cross)} stamped chunks, "
                                 f"expected {chunks}")
            ttfts.append(first)
            crossings.extend(cross)
        cpu = (tree_cpu(proxy_pid) - cpu_before) * 1e6 / requests if proxy_pid else None
    finally:
        client.close()
    return {
        "cpu_us_per_stream": cpu,
        "ttft_p50_us": statistics.median(ttfts),
        "chunk_p50_us": statistics.median(crossings),
        "chunk_p99_us": quantile(crossings, 0.99),
        "total_p50_us": statistics.median(totals),
        "chunks": chunks,
        "requests": requests,
    }


# ------------------------------------------------------------------ summary


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    return s[min(len(s) - 1, int(q * len(s)))]


def summarize(values: list[float]) -> dict:
    """median and range of a list of per-repetition values."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def ratios(reps: list[dict], cell: str, other: str, metric: str, op: str) -> list[float]:
    """Per repetition, cell's metric against other's: 'div' (a/b) or 'sub' (a-b)."""
    out = []
    for r in reps:
        a, b = r.get(cell, {}).get(metric), r.get(other, {}).get(metric)
        if a is None or b is None:
            continue
        out.append(a / b if op == "div" and b else a - b)
    return out


def derive(run: dict) -> dict:
    """Pairwise comparisons per worker count, summarised over repetitions."""
    out: dict = {}
    for conc, data in run["by_concurrency"].items():
        lat, sat, streams = data["latency"], data["saturation"], data.get("stream", [])
        d: dict = {}
        for cell in FLOORS + ("master", "limits", "anthropic", "litellm"):
            if not any(cell in r for r in sat):
                continue
            d[cell] = {
                "throughput_vs_plain": summarize(ratios(sat, cell, "plain", "rps", "div")),
                "added_p50_us": summarize(ratios(lat, cell, "plain", "p50_us", "sub")),
                "added_p99_us": summarize(ratios(lat, cell, "plain", "p99_us", "sub")),
                "added_cpu_us_per_req": summarize(
                    ratios(sat, cell, "plain", "cpu_us_per_req", "sub")),
            }
        for cell in ("plain",) + FLOORS + ("master", "limits", "anthropic", "litellm"):
            if any(cell in r for r in lat) and any("direct" in r for r in lat):
                d.setdefault(cell, {})["added_p50_over_direct_us"] = summarize(
                    ratios(lat, cell, "direct", "p50_us", "sub"))
        if any("litellm" in r for r in sat):
            for cell in ("master", "limits"):
                d[cell]["vs_litellm"] = summarize(ratios(sat, cell, "litellm", "rps", "div"))
        if any("limits_delay" in r for r in sat):
            d["limits"]["delay_throughput_vs_plain"] = summarize(
                ratios(sat, "limits_delay", "plain_delay", "rps", "div"))
            if any("litellm_delay" in r for r in sat):
                d["limits"]["delay_vs_litellm"] = summarize(
                    ratios(sat, "limits_delay", "litellm_delay", "rps", "div"))
                d.setdefault("litellm", {})["delay_throughput_vs_plain"] = summarize(
                    ratios(sat, "litellm_delay", "plain_delay", "rps", "div"))
        for kind in ("spaced", "burst"):
            rows = [s[kind] for s in streams if kind in s]
            for cell in ("master", "anthropic", "litellm"):
                if not any(cell in r for r in rows):
                    continue
                base = "plain_anthropic" if cell == "anthropic" else "plain"
                entry = d.setdefault(cell, {})
                if kind == "spaced":
                    entry["stream_added_chunk_us"] = summarize(
                        ratios(rows, cell, base, "chunk_p50_us", "sub"))
                    entry["stream_added_ttft_us"] = summarize(
                        ratios(rows, cell, base, "ttft_p50_us", "sub"))
                else:
                    # Per chunk: the extra time of a long burst beyond a one-chunk stream.
                    vals = []
                    for r in rows:
                        if cell in r and base in r and f"{cell}_1" in r and f"{base}_1" in r:
                            n = r[cell]["chunks"] - 1
                            extra = ((r[cell]["total_p50_us"] - r[base]["total_p50_us"])
                                     - (r[f"{cell}_1"]["total_p50_us"]
                                        - r[f"{base}_1"]["total_p50_us"]))
                            vals.append(extra / n)
                    if vals:
                        entry["stream_burst_added_chunk_us"] = summarize(vals)
                    cpu = []
                    for r in rows:
                        keys = (cell, base, f"{cell}_1", f"{base}_1")
                        if all(r.get(k, {}).get("cpu_us_per_stream") is not None for k in keys):
                            n = r[cell]["chunks"] - 1
                            a_, b_, a1, b1 = (r[k]["cpu_us_per_stream"] for k in keys)
                            cpu.append(((a_ - a1) - (b_ - b1)) / n)
                    if cpu:
                        entry["stream_burst_added_cpu_chunk_us"] = summarize(cpu)
        d["idle_rss_mb"] = data["idle_rss_mb"]
        d["end_rss_mb"] = data.get("end_rss_mb", {})
        out[conc] = d
    return out


def check_targets(derived: dict) -> dict:
    """Each target: the measured median and whether it was met (None: not measured)."""
    res = {}
    one = derived.get("1", {})
    lim = one.get("limits", {})

    def med(entry: dict | None) -> float | None:
        return entry["median"] if entry else None

    def across(metric: str, pick, cell: str = "limits") -> float | None:
        """The worst per-worker-count median of a cell's comparison."""
        vals = [med(derived[c].get(cell, {}).get(metric)) for c in derived]
        vals = [v for v in vals if v is not None]
        return pick(vals) if vals else None

    # What the bodies floor (a filter that only holds and reads both bodies) and the
    # minimal gateway floor (the same plus a gateway's fewest host calls) reach on the
    # same measure: no body-reading wasm filter, and no proxy-wasm filter doing a
    # gateway's work, can do better here.
    rss = one.get("idle_rss_mb", {})

    def ceiling(cell: str) -> dict:
        return {
            "throughput_vs_plain": across("throughput_vs_plain", min, cell),
            "added_p50_us": med(one.get(cell, {}).get("added_p50_us")),
            "idle_rss_mb": (rss[cell] - rss["plain"]) if cell in rss and "plain" in rss
            else None,
        }

    bodies, minimal = ceiling("bodies"), ceiling("minimal")
    res["throughput_vs_plain"] = (across("throughput_vs_plain", min), 0.80, ">=")
    res["added_p50_us"] = (med(lim.get("added_p50_us")), 50.0, "<=")
    # Judged on the proxy's CPU per chunk: wall time over a burst also moves with how
    # the client's reads happen to batch the chunks.
    anth = one.get("anthropic", {})
    chunk = med(anth.get("stream_burst_added_cpu_chunk_us") or anth.get("stream_burst_added_chunk_us"))
    res["stream_chunk_us"] = (chunk, 5.0, "<")
    res["idle_rss_mb"] = ((rss["tollgate"] - rss["plain"]) if "tollgate" in rss and "plain" in rss
                          else None, 30.0, "<=")
    res["vs_litellm"] = (across("vs_litellm", min), 50.0, ">=")
    out = {}
    for name, (value, bound, op) in res.items():
        met = None if value is None else (value >= bound if op == ">=" else
                                          value <= bound if op == "<=" else value < bound)
        out[name] = {"value": value, "bound": bound, "op": op, "met": met,
                     "what": TARGETS[name], "bodies_floor": bodies.get(name),
                     "minimal_floor": minimal.get(name)}
    return out


# ------------------------------------------------------------------ the run


def one_concurrency(args, envoy: str, conc: int, work: Path, ups: dict) -> dict:
    pin = conc == 1 and not args.no_pin
    proxy_cpu, load_cpu = ("0", "1") if pin else (None, None)
    threads = 1 if conc == 1 else 2
    gw_port, gw_admin, pl_port, pl_admin, fl_port, fl_admin = (free_port() for _ in range(6))
    bo_port, bo_admin, mi_port, mi_admin = (free_port() for _ in range(4))
    cdir = work / f"c{conc}"
    cdir.mkdir()
    up = ups["up"]
    boot = render(cdir, TOLLGATE_CONFIG.format(**ups), gw_port, gw_admin)
    plain_boot, floor_boot, bodies_boot, minimal_boot = (
        cdir / f"{n}.yaml" for n in ("plain", "floor", "bodies", "minimal"))
    plain_bootstrap(boot, plain_boot, pl_port, pl_admin, up, ups["spaced"], ups["delay"])
    plain_bootstrap(boot, floor_boot, fl_port, fl_admin, up, ups["spaced"], ups["delay"],
                    floor=FLOOR_WASM)
    plain_bootstrap(boot, bodies_boot, bo_port, bo_admin, up, ups["spaced"], ups["delay"],
                    floor=FLOOR_WASM, floor_mode="bodies")
    plain_bootstrap(boot, minimal_boot, mi_port, mi_admin, up, ups["spaced"], ups["delay"],
                    floor=FLOOR_WASM, floor_mode="gateway")
    gw = start_envoy(envoy, f"tollgate-c{conc}", boot, cdir, gw_port, gw_admin, conc, proxy_cpu)
    plain = start_envoy(envoy, f"plain-c{conc}", plain_boot, cdir, pl_port, pl_admin, conc,
                        proxy_cpu)
    floor = start_envoy(envoy, f"floor-c{conc}", floor_boot, cdir, fl_port, fl_admin, conc,
                        proxy_cpu)
    bodies = start_envoy(envoy, f"bodies-c{conc}", bodies_boot, cdir, bo_port, bo_admin, conc,
                         proxy_cpu)
    minimal = start_envoy(envoy, f"minimal-c{conc}", minimal_boot, cdir, mi_port, mi_admin,
                          conc, proxy_cpu)
    lite = None
    lite_port = None
    if args.litellm:
        lite_port = free_port()
        lite = start_litellm(args.litellm, cdir, ups, lite_port, conc, proxy_cpu)
    gw_url = f"http://127.0.0.1:{gw_port}"
    pl_url = f"http://127.0.0.1:{pl_port}"
    vkey = generate_key(gw_url)

    cells = {
        "direct": (up, None, "gpt-4o-mini", None),
        "plain": (pl_url, plain, "gpt-4o-mini", None),
        "floor": (f"http://127.0.0.1:{fl_port}", floor, "gpt-4o-mini", None),
        "bodies": (f"http://127.0.0.1:{bo_port}", bodies, "gpt-4o-mini", None),
        "minimal": (f"http://127.0.0.1:{mi_port}", minimal, "gpt-4o-mini", None),
        "master": (gw_url, gw, "gpt-4o-mini", MASTER_KEY),
        "limits": (gw_url, gw, "gpt-4o-mini", vkey),
        "anthropic": (gw_url, gw, "claude-haiku", vkey),
    }
    if lite:
        cells["litellm"] = (f"http://127.0.0.1:{lite_port}", lite, "gpt-4o-mini", MASTER_KEY)
    # Saturation only, in front of the slow upstream.
    delayed = {
        "plain_delay": (pl_url + "/delay", plain, "gpt-4o-mini", None),
        "limits_delay": (gw_url, gw, "gpt-4o-mini-delay", vkey),
    }
    if lite:
        delayed["litellm_delay"] = (f"http://127.0.0.1:{lite_port}", lite, "gpt-4o-mini-delay",
                                    MASTER_KEY)
    scripts = {n: wrk_script(cdir, n, model, key)
               for n, (_, _, model, key) in {**cells, **delayed}.items()}
    # Warm-up: V8's JIT, connection pools, LiteLLM's imports on first use.
    for name, (url, p, _, _) in cells.items():
        run_wrk(url, scripts[name], 4, 1, 1, None, load_cpu)
    # Every proxy whose memory is reported, by the name the report gives it.
    proxies = {"plain": plain, "floor": floor, "bodies": bodies, "minimal": minimal,
               "tollgate": gw}
    if lite:
        proxies["litellm"] = lite
    idle = {name: tree_rss_mb(p.pid) for name, p in proxies.items()}

    latency, saturation, streams = [], [], []
    for rep in range(args.reps):
        log(f"concurrency {conc}: repetition {rep + 1}/{args.reps}")
        lat, sat = {}, {}
        for name, (url, p, _, _) in cells.items():
            if name == "direct" and conc != 1:
                continue
            pid = p.pid if p else None
            lat[name] = run_wrk(url, scripts[name], 1, 1, args.duration, pid, load_cpu)
            if name == "direct":
                continue
            conns = args.connections if name != "litellm" else min(args.connections, 32)
            sat[name] = run_wrk(url, scripts[name], conns, threads, args.duration, pid, load_cpu)
        for name, (url, p, _, _) in delayed.items():
            conns = args.delay_connections
            sat[name] = run_wrk(url, scripts[name], conns, threads, args.duration, p.pid, load_cpu)
        latency.append(lat)
        saturation.append(sat)
        if conc == 1 and args.stream_requests:
            pids = {"plain": plain.pid, "master": gw.pid, "anthropic": gw.pid,
                    "litellm": lite.pid if lite else None}
            streams.append(stream_cells(args, pl_port, gw_port, lite_port, vkey, pin, pids))
    end = {name: tree_rss_mb(p.pid) for name, p in proxies.items()}
    for p in proxies.values():
        p.stop()
    return {"latency": latency, "saturation": saturation, "stream": streams,
            "idle_rss_mb": idle, "end_rss_mb": end, "connections": args.connections,
            "delay_connections": args.delay_connections}


def stream_cells(args, pl_port: int, gw_port: int, lite_port: int | None, vkey: str,
                 pin: bool, pids: dict) -> dict:
    """Spaced streams (each chunk crosses alone) and bursts (back to back)."""
    if pin and hasattr(os, "sched_setaffinity"):
        # The client shares CPU 1 with the load generator and the upstream.
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {1})
        try:
            return stream_cells(args, pl_port, gw_port, lite_port, vkey, False, pids)
        finally:
            os.sched_setaffinity(0, before)
    n, m = args.chunks, args.stream_requests
    spaced_n = min(n, 50)
    out: dict = {"spaced": {}, "burst": {}}
    targets = [
        ("plain", pl_port, "/spaced/v1/chat/completions", "/v1/chat/completions", "gpt-4o-mini", None),
        ("plain_anthropic", pl_port, "/spaced/v1/messages", "/v1/messages",
         "claude-3-5-haiku-20241022", None),
        ("master", gw_port, "/v1/chat/completions", "/v1/chat/completions", "gpt-4o-mini", MASTER_KEY),
        ("anthropic", gw_port, "/v1/chat/completions", "/v1/chat/completions", "claude-haiku", vkey),
    ]
    if lite_port:
        targets.append(("litellm", lite_port, "/v1/chat/completions", "/v1/chat/completions",
                        "gpt-4o-mini", MASTER_KEY))
    for name, port, spaced_path, burst_path, model, key in targets:
        # tollgate and LiteLLM pick the spaced upstream by model group; plain Envoy by path.
        spaced_model = model + "-spaced" if name in ("master", "anthropic", "litellm") else model
        pid = pids.get(name.split("_")[0])
        out["spaced"][name] = run_stream(port, spaced_path, spaced_model, key, spaced_n,
                                         max(2, m // 4))
        out["burst"][name] = run_stream(port, burst_path, model, key, n, m, pid)
        out["burst"][f"{name}_1"] = run_stream(port, burst_path, model, key, 1, m, pid)
    return out


def fmt(entry, digits: int = 0, unit: str = "") -> str:
    if entry is None:
        return "–"
    if isinstance(entry, dict):
        spread = "" if entry["n"] < 2 else (
            f" ({entry['min']:.{digits}f}–{entry['max']:.{digits}f})")
        return f"{entry['median']:.{digits}f}{unit}{spread}"
    return f"{entry:.{digits}f}{unit}"


def cell_median(reps: list[dict], cell: str, metric: str):
    vals = [r[cell][metric] for r in reps if cell in r and metric in r[cell]]
    return summarize(vals) if vals else None


def markdown(run: dict) -> str:
    lines = [f"## {run['date']} — {run['machine']}", ""]
    lines.append(f"Versions: {run['versions']}. Command: `{run['command']}`.")
    lines.append(f"{run['reps']} repetitions of {run['duration']} s per cell; medians, "
                 "with the range over repetitions in brackets.")
    lines.append("")
    for conc, data in run["by_concurrency"].items():
        pinned = " (proxy pinned to CPU 0, load generator and upstream to CPU 1)" \
            if conc == "1" and not run["no_pin"] else ""
        lines += [f"### Envoy --concurrency {conc} / LiteLLM --num_workers {conc}{pinned}", "",
                  f"| cell | p50 µs @1 conn | p99 µs @1 conn | req/s @{data['connections']} conns "
                  "| p99 µs at saturation | proxy CPU µs/req | non-2xx |",
                  "|---|---|---|---|---|---|---|"]
        for cell in ("direct", "plain") + FLOORS + ("master", "limits", "anthropic",
                                                    "litellm"):
            if not any(cell in r for r in data["latency"]):
                continue
            sat = data["saturation"]
            bad = sum(r[cell]["non2xx"] + r[cell]["errors"] for r in data["latency"] + sat
                      if cell in r)
            lines.append(
                f"| {cell} | {fmt(cell_median(data['latency'], cell, 'p50_us'))} "
                f"| {fmt(cell_median(data['latency'], cell, 'p99_us'))} "
                f"| {fmt(cell_median(sat, cell, 'rps'))} "
                f"| {fmt(cell_median(sat, cell, 'p99_us'))} "
                f"| {fmt(cell_median(sat, cell, 'cpu_us_per_req'), 1)} | {bad} |")
        lines.append("")
        delayed = [c for c in ("plain_delay", "limits_delay", "litellm_delay")
                   if any(c in r for r in data["saturation"])]
        if delayed:
            lines += [f"In front of an upstream that takes {run.get('delay_ms', '?')} ms to answer, "
                      f"{data.get('delay_connections', '?')} connections:", "",
                      "| cell | req/s | p50 µs | p99 µs | proxy CPU µs/req | non-2xx |",
                      "|---|---|---|---|---|---|"]
            for cell in delayed:
                sat = data["saturation"]
                bad = sum(r[cell]["non2xx"] + r[cell]["errors"] for r in sat if cell in r)
                lines.append(
                    f"| {cell} | {fmt(cell_median(sat, cell, 'rps'))} "
                    f"| {fmt(cell_median(sat, cell, 'p50_us'))} "
                    f"| {fmt(cell_median(sat, cell, 'p99_us'))} "
                    f"| {fmt(cell_median(sat, cell, 'cpu_us_per_req'), 1)} | {bad} |")
            lines.append("")
        d = run["derived"][conc]
        compared = FLOORS + ("master", "limits", "anthropic", "litellm")
        lines += ["| comparison (pair by pair per repetition) | " + " | ".join(compared) + " |",
                  "|---" * (len(compared) + 1) + "|"]
        for metric, label, digits in (
                ("throughput_vs_plain", "throughput / plain Envoy", 2),
                ("added_p50_us", "added p50 µs over plain Envoy @1 conn", 0),
                ("added_p99_us", "added p99 µs over plain Envoy @1 conn", 0),
                ("added_p50_over_direct_us", "added p50 µs over the upstream itself", 0),
                ("added_cpu_us_per_req", "added proxy CPU µs/req over plain Envoy", 1),
                ("vs_litellm", "throughput / LiteLLM", 0),
                ("stream_added_ttft_us", "stream: added time to first token µs", 0),
                ("stream_added_chunk_us", "stream: added µs per chunk crossing (spaced)", 1),
                ("stream_burst_added_chunk_us", "stream: added µs per chunk (burst, wall)", 2),
                ("stream_burst_added_cpu_chunk_us", "stream: added proxy CPU µs per chunk (burst)", 2),
                ("delay_throughput_vs_plain", "slow upstream: throughput / plain Envoy", 2),
                ("delay_vs_litellm", "slow upstream: throughput / LiteLLM", 1)):
            row = [fmt(d.get(c, {}).get(metric), digits) for c in compared]
            if all(v == "–" for v in row):
                continue
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        rss, end = d["idle_rss_mb"], d["end_rss_mb"]
        lines += ["", "Resident memory (MB), idle after warm-up / at the end of the run: " + ", ".join(
            f"{k} {rss[k]:.0f} / {end.get(k, 0):.0f}" for k in rss), ""]
    lines += ["### Targets", "",
              "The last two columns are what the floors reach on the same measure in this "
              "run: the bodies floor (no work but holding and reading both bodies) and the "
              "minimal gateway floor (the same plus a gateway's fewest host calls, no logic).",
              "",
              "| target | measured | bound | met | bodies floor | minimal gateway floor |",
              "|---|---|---|---|---|---|"]
    for name, t in run["targets"].items():
        value = "not measured" if t["value"] is None else f"{t['value']:.2f}"
        met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
        floors = ["–" if t.get(k) is None else f"{t[k]:.2f}"
                  for k in ("bodies_floor", "minimal_floor")]
        lines.append(f"| {t['what']} | {value} | {t['op']} {t['bound']:g} | {met} | "
                     + " | ".join(floors) + " |")
    return "\n".join(lines) + "\n"


def versions(envoy: str, litellm: str | None) -> str:
    ev = subprocess.run([envoy, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version: \S+/([\d.]+)/", ev)
    parts = [f"Envoy {m.group(1) if m else '?'}"]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    wm = re.search(r"wrk \S*?([\d][\d.]*)", wrk.stdout + wrk.stderr)
    parts.append(f"wrk {wm.group(1) if wm else '?'}")
    if litellm:
        lv = subprocess.run([litellm, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                            capture_output=True, text=True).stdout.strip()
        parts.append(f"LiteLLM {lv}")
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk cell")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32, help="connections at saturation")
    ap.add_argument("--concurrency", default="1 2", help="Envoy worker counts to run")
    ap.add_argument("--delay-ms", type=int, default=50, help="the slow upstream's answer time")
    ap.add_argument("--delay-connections", type=int, default=128,
                    help="connections in front of the slow upstream")
    ap.add_argument("--chunks", type=int, default=200, help="content chunks per burst stream")
    ap.add_argument("--stream-requests", type=int, default=40, help="0 skips streams")
    ap.add_argument("--litellm", help="Python of a venv with litellm[proxy]; omitted: no LiteLLM cells")
    ap.add_argument("--envoy", required=True)
    ap.add_argument("--wasm", help="filter module to load (default: the release build)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    ap.add_argument("--out-md", help="append the markdown report here")
    ap.add_argument("--out-json", help="write the machine-readable run here")
    ap.add_argument("--command", help="how the run was started, for the report")
    ap.add_argument("--check-targets", action="store_true", help="exit 3 when a target is missed")
    args = ap.parse_args(argv)
    if args.duration <= 0 or args.duration > 120 or args.reps < 1 or args.reps > 20:
        ap.error("--duration must be in (0, 120] and --reps in [1, 20]")
    if not 0 < args.delay_ms <= 5000 or not 1 <= args.delay_connections <= 1000:
        ap.error("--delay-ms must be in (0, 5000] and --delay-connections in [1, 1000]")
    global WASM
    if args.wasm:
        WASM = Path(args.wasm)
    concs = [int(c) for c in args.concurrency.split()]
    if not concs or any(c < 1 or c > 8 for c in concs):
        ap.error("--concurrency takes worker counts from 1 to 8")
    for path in (CLI, UPSTREAM, WASM, FLOOR_WASM):
        if not path.exists():
            log(f"missing {path}: run scripts/bench.sh (it builds everything)")
            return 1
    if not shutil.which("wrk"):
        log("wrk not found: scripts/bench.sh installs it")
        return 1
    work = Path(tempfile.mkdtemp(prefix="tollgate-bench-"))
    pin = not args.no_pin and os.cpu_count() and os.cpu_count() >= 2
    args.no_pin = not pin
    try:
        cpu = "1" if pin else None
        up_proc, up = start_upstream(work, "upstream", cpu)
        spaced_proc, spaced = start_upstream(work, "upstream-spaced", cpu, gap_ms=1)
        delay_proc, delay = start_upstream(work, "upstream-delay", cpu, delay_ms=args.delay_ms)
        ups = {"up": up, "spaced": spaced, "delay": delay}
        run = {
            "date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                       f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB",
            "versions": versions(args.envoy, args.litellm),
            "command": args.command or "scripts/bench.py " + " ".join(
                sys.argv[1:] if argv is None else argv),
            "duration": args.duration, "reps": args.reps, "no_pin": args.no_pin,
            "delay_ms": args.delay_ms,
            "by_concurrency": {},
        }
        for conc in concs:
            run["by_concurrency"][str(conc)] = one_concurrency(args, args.envoy, conc, work, ups)
        for p in (up_proc, spaced_proc, delay_proc):
            p.stop()
    finally:
        for p in list(LIVE):
            p.stop()
    run["derived"] = derive(run)
    run["targets"] = check_targets(run["derived"])
    md = markdown(run)
    print(md)
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(run, indent=1) + "\n")
    if args.out_md:
        path = Path(args.out_md)
        if not path.exists():
            path.write_text("# Benchmarks\n\n")
        with open(path, "a") as f:
            f.write("\n" + md)
    shutil.rmtree(work, ignore_errors=True)
    missed = [n for n, t in run["targets"].items() if t["met"] is False]
    if args.check_targets and missed:
        log("missed targets: " + ", ".join(missed))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
