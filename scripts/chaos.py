"""Failover under a scripted provider outage, measured from the client's side.

Starts tollgate-mock providers (an OpenAI-face primary, an Anthropic-face fallback and,
with --gemini, a Gemini-face second fallback) and Envoy with the tollgate filter, with a
config where group gpt-4o falls back to claude-sonnet (then gemini-pro). It then sends a
steady, bounded load of chat completions (streaming and not, alternately) and schedules
an outage of the primary through the mock's chaos API: `--mode` from --outage-at to
--recover-at seconds into the run. It reports client error rates and latency per phase,
the time from the outage start to the last client error, and the time from the
provider's recovery until the primary answers again, as a table and as JSON.

Run through scripts/chaos.sh (it builds and installs what is needed). Exit status: 0 run
completed; 1 setup failed or the gateway was unreachable or died; 2 bad arguments;
3 the error rate was above --max-error-rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

import harness  # noqa: E402

MASTER_KEY = "sk-chaos-master"
ENV = {
    "CHAOS_MASTER_KEY": MASTER_KEY,
    "CHAOS_OPENAI_KEY": "sk-chaos-openai",
    "CHAOS_ANTHROPIC_KEY": "sk-ant-chaos",
    "CHAOS_GEMINI_KEY": "chaos-gemini-key",
}
PRIMARY, FALLBACK, FALLBACK2 = "openai-primary", "anthropic-fallback", "gemini-fallback"
GROUP = "gpt-4o"
PREFLIGHT_TIMEOUT_S = 15.0
MAX_REQUESTS = 50_000
DETAIL_CHARS = 300

CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: "{primary}/v1"
      api_key: os.environ/CHAOS_OPENAI_KEY
      timeout: {timeout}
    model_info: {{id: {primary_id}}}
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: "{fallback}"
      api_key: os.environ/CHAOS_ANTHROPIC_KEY
      timeout: {timeout}
    model_info: {{id: {fallback_id}}}
{gemini_entry}
router_settings:
  routing_strategy: simple-shuffle
  num_retries: {num_retries}
  allowed_fails: {allowed_fails}
  cooldown_time: {cooldown}
  fallbacks: [{{gpt-4o: [{chain}]}}]
general_settings: {{master_key: os.environ/CHAOS_MASTER_KEY}}
"""

GEMINI_ENTRY = """\
  - model_name: gemini-pro
    litellm_params:
      model: gemini/gemini-2.5-pro
      api_base: "{base}"
      api_key: os.environ/CHAOS_GEMINI_KEY
      timeout: {timeout}
    model_info: {{id: {gemini_id}}}
"""


class SetupError(Exception):
    """The stack could not be started or the gateway did not answer."""


# ------------------------------------------------------------------------ arguments


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scripts/chaos.sh",
        description="Failover under a scripted outage of the primary provider.",
    )
    p.add_argument("--rate", type=float, default=40.0, help="requests per second (default 40)")
    p.add_argument("--duration", type=float, default=30.0, help="load duration in s (default 30)")
    p.add_argument("--outage-at", type=float, default=5.0, help="outage start, s into the run (default 5)")
    p.add_argument("--recover-at", type=float, default=15.0, help="provider recovery, s (default 15)")
    p.add_argument("--mode", default="down",
                   choices=["down", "refuse", "slow", "429", "500", "cut"],
                   help="what the primary does during the outage (default down: connections "
                        "closed without a response; refuse: connects refused)")
    p.add_argument("--phase", default="{}", metavar="JSON",
                   help='extra chaos phase fields, e.g. \'{"status": 503}\' or \'{"delay_ms": 3000}\'')
    p.add_argument("--stream-share", type=float, default=0.5,
                   help="share of streaming requests, 0..1 (default 0.5)")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most (default 64)")
    p.add_argument("--timeout", type=float, default=10.0, help="client timeout per request in s (default 10)")
    p.add_argument("--upstream-timeout", type=float, default=5.0,
                   help="deployment timeout in the config, s (default 5)")
    p.add_argument("--allowed-fails", type=int, default=2, help="router_settings.allowed_fails (default 2)")
    p.add_argument("--cooldown", type=float, default=5.0, help="router_settings.cooldown_time in s (default 5)")
    p.add_argument("--num-retries", type=int, default=1, help="router_settings.num_retries (default 1)")
    p.add_argument("--gemini", action="store_true", help="add a Gemini-face mock as second fallback")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON result path (default .run/chaos/result.json)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where configs and logs go (default .run/chaos/run-<time>)")
    p.add_argument("--max-error-rate", type=float, default=None,
                   help="exit 3 when the overall client error rate is above this (0..1)")
    p.add_argument("--envoy-log-level", default="warning")
    args = p.parse_args(argv)
    problems = []
    if not 0 < args.rate <= 1000:
        problems.append("--rate must be in (0, 1000]")
    if not 0 < args.duration <= 600:
        problems.append("--duration must be in (0, 600]")
    if not 0 <= args.outage_at < args.recover_at <= args.duration:
        problems.append("need 0 <= --outage-at < --recover-at <= --duration")
    if not 0 <= args.stream_share <= 1:
        problems.append("--stream-share must be in [0, 1]")
    if not 1 <= args.concurrency <= 1024:
        problems.append("--concurrency must be in [1, 1024]")
    if args.rate * args.duration > MAX_REQUESTS:
        problems.append(f"--rate x --duration must stay under {MAX_REQUESTS} requests")
    if args.timeout <= 0 or args.upstream_timeout <= 0 or args.cooldown <= 0:
        problems.append("timeouts and --cooldown must be positive")
    try:
        extra = json.loads(args.phase)
        if not isinstance(extra, dict):
            raise ValueError
        args.phase = extra
    except ValueError:
        problems.append("--phase must be a JSON object")
    if problems:
        p.error("; ".join(problems))
    return args


def outage_phase(args: argparse.Namespace, start_ms: int, end_ms: int) -> dict:
    """The chaos phase posted to the primary mock."""
    phase: dict = {"mode": args.mode, "at_ms": start_ms, "until_ms": end_ms}
    if args.mode == "refuse":
        phase.update(mode="down", how="refuse")
    phase.update(args.phase)
    return phase


# --------------------------------------------------------------------------- stack


@dataclass
class Stack:
    mocks: dict  # deployment id -> harness.Mock
    gateway: harness.Gateway | None = None

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for m in self.mocks.values():
            m.stop()


def start_stack(args: argparse.Namespace, workdir: Path) -> Stack:
    stack = Stack(mocks={})
    try:
        names = [PRIMARY, FALLBACK] + ([FALLBACK2] if args.gemini else [])
        for name in names:
            stack.mocks[name] = harness.start_mock(name, workdir / "mocks")
        chain = "claude-sonnet" + (", gemini-pro" if args.gemini else "")
        gemini_entry = GEMINI_ENTRY.format(
            base=stack.mocks[FALLBACK2].base_url, timeout=_num(args.upstream_timeout),
            gemini_id=FALLBACK2) if args.gemini else ""
        config = CONFIG.format(
            primary=stack.mocks[PRIMARY].base_url, primary_id=PRIMARY,
            fallback=stack.mocks[FALLBACK].base_url, fallback_id=FALLBACK,
            gemini_entry=gemini_entry.rstrip("\n"), timeout=_num(args.upstream_timeout),
            num_retries=args.num_retries, allowed_fails=args.allowed_fails,
            cooldown=_num(args.cooldown), chain=chain,
        )
        stack.gateway = harness.start_gateway(config, ENV, workdir / "gateway",
                                              log_level=args.envoy_log_level)
    except BaseException as e:
        stack.stop()
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise SetupError(f"could not start the stack: {e}") from e
    return stack


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------------------- load


@dataclass
class Result:
    idx: int
    stream: bool
    t_start: float  # s since T0 when sent
    latency: float = math.nan  # s until the response (stream included) was complete
    status: int | None = None
    ok: bool = False
    error: str | None = None  # kind of failure, None when ok
    model_id: str | None = None  # x-litellm-model-id
    answered_by: str | None = None  # model id, else the mock's x-mock-name
    retries: int | None = None  # x-litellm-attempted-retries
    fallbacks: int | None = None  # x-litellm-attempted-fallbacks
    queued: float = 0.0  # s spent waiting for a concurrency slot
    detail: str | None = None  # start of the error body or exception text


def body(idx: int, stream: bool) -> dict:
    b = {"model": GROUP, "max_tokens": 32,
         "messages": [{"role": "user", "content": f"chaos probe {idx}: say something short"}]}
    if stream:
        b["stream"] = True
    return b


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


async def one_request(client: httpx.AsyncClient, idx: int, stream: bool, t0: float,
                      sem: asyncio.Semaphore) -> Result:
    scheduled = time.monotonic()
    async with sem:
        start = time.monotonic()
        res = Result(idx=idx, stream=stream, t_start=start - t0, queued=start - scheduled)
        try:
            if stream:
                async with client.stream("POST", "/v1/chat/completions", json=body(idx, True)) as r:
                    _headers(res, r)
                    data = b""
                    async for chunk in r.aiter_raw():
                        data += chunk
                    res.ok, res.error = _judge_stream(r.status_code, data)
                    if not res.ok:
                        res.detail = data[:DETAIL_CHARS].decode(errors="replace")
            else:
                r = await client.post("/v1/chat/completions", json=body(idx, False))
                _headers(res, r)
                res.ok, res.error = _judge_plain(r)
                if not res.ok:
                    res.detail = r.text[:DETAIL_CHARS]
        except httpx.ConnectError as e:
            res.error, res.detail = "gateway_connect", str(e)
        except httpx.TimeoutException:
            res.error = "client_timeout"
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:
            res.error = "stream_cut" if res.status is not None else f"protocol:{type(e).__name__}"
            res.detail = str(e)
        except httpx.HTTPError as e:
            res.error, res.detail = f"http:{type(e).__name__}", str(e)
        res.latency = time.monotonic() - start
        return res


def _headers(res: Result, r: httpx.Response) -> None:
    res.status = r.status_code
    res.model_id = r.headers.get("x-litellm-model-id")
    res.answered_by = res.model_id or r.headers.get("x-mock-name")
    res.retries = _int_header(r.headers, "x-litellm-attempted-retries")
    res.fallbacks = _int_header(r.headers, "x-litellm-attempted-fallbacks")


def _judge_plain(r: httpx.Response) -> tuple[bool, str | None]:
    if r.status_code != 200:
        return False, f"status_{r.status_code}"
    try:
        content = r.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return False, "bad_body"
    return (True, None) if isinstance(content, str) else (False, "bad_body")


def _judge_stream(status: int, data: bytes) -> tuple[bool, str | None]:
    if status != 200:
        return False, f"status_{status}"
    events = [e.strip() for e in data.decode(errors="replace").replace("\r\n", "\n").split("\n\n")]
    events = [e for e in events if e]
    if not events or events[-1] != "data: [DONE]":
        return False, "stream_incomplete"
    if any(e.startswith("data: {") and '"error"' in e[:40] for e in events):
        return False, "stream_error_event"
    return True, None


async def run_load(gw_url: str, args: argparse.Namespace, t0_wall: float) -> list[Result]:
    """Open-loop load: request i is sent at T0 + i/rate (or later when all slots are busy)."""
    total = int(round(args.rate * args.duration))
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    sem = asyncio.Semaphore(args.concurrency)
    stream_every = args.stream_share
    async with httpx.AsyncClient(base_url=gw_url, headers=headers, limits=limits,
                                 timeout=args.timeout, trust_env=False) as client:
        # Monotonic T0 matching the wall-clock T0 the chaos schedule was computed from.
        t0 = time.monotonic() + (t0_wall - time.time())
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        tasks = []
        acc = 0.0
        for i in range(total):
            delay = t0 + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Spread streaming requests evenly: 0.5 alternates.
            acc += stream_every
            stream = acc >= 1.0
            if stream:
                acc -= 1.0
            tasks.append(asyncio.create_task(one_request(client, i, stream, t0, sem)))
        # Bounded: whatever is still running after the client timeout (plus slack) is cut off.
        done, pending = await asyncio.wait(tasks, timeout=args.timeout + 5.0)
        for t in pending:
            t.cancel()
        results = []
        for i, t in enumerate(tasks):
            if t in done and not t.cancelled() and t.exception() is None:
                results.append(t.result())
            else:
                results.append(Result(idx=i, stream=False, t_start=i / args.rate,
                                      error="abandoned"))
        return results


# ---------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    xs = sorted(v for v in values if not math.isnan(v))
    if not xs:
        return None
    rank = max(1, math.ceil(q / 100 * len(xs)))
    return xs[rank - 1]


@dataclass
class PhaseStats:
    name: str
    start: float
    end: float
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    ok_p50_ms: float | None = None
    answered_by: dict = field(default_factory=dict)
    errors_by_kind: dict = field(default_factory=dict)
    with_fallback: int = 0
    primary_hits: int = 0  # requests the primary mock received (its own log)


def phase_stats(name: str, start: float, end: float, results: list[Result],
                primary_log_s: list[float]) -> PhaseStats:
    rs = [r for r in results if start <= r.t_start < end]
    st = PhaseStats(name=name, start=start, end=end, requests=len(rs))
    st.errors = sum(not r.ok for r in rs)
    st.error_rate = st.errors / len(rs) if rs else 0.0
    lat = [r.latency for r in rs]
    ok_lat = [r.latency for r in rs if r.ok]
    st.p50_ms, st.p99_ms = _ms(percentile(lat, 50)), _ms(percentile(lat, 99))
    st.ok_p50_ms = _ms(percentile(ok_lat, 50))
    for r in rs:
        if r.ok:
            key = r.answered_by or "?"
            st.answered_by[key] = st.answered_by.get(key, 0) + 1
        else:
            st.errors_by_kind[r.error or "?"] = st.errors_by_kind.get(r.error or "?", 0) + 1
        if r.fallbacks:
            st.with_fallback += 1
    st.primary_hits = sum(start <= t < end for t in primary_log_s)
    return st


def _ms(s: float | None) -> float | None:
    return None if s is None else round(s * 1000, 2)


def summarize(args: argparse.Namespace, results: list[Result], t0_wall: float,
              logs: dict[str, list[dict]]) -> dict:
    to_s = lambda ts_ms: ts_ms / 1000 - t0_wall  # noqa: E731
    primary_log = logs.get(PRIMARY, [])
    primary_log_s = [to_s(e["ts_ms"]) for e in primary_log if "ts_ms" in e]
    phases = [
        phase_stats("before", 0.0, args.outage_at, results, primary_log_s),
        phase_stats("outage", args.outage_at, args.recover_at, results, primary_log_s),
        phase_stats("after", args.recover_at, args.duration, results, primary_log_s),
        phase_stats("all", 0.0, args.duration, results, primary_log_s),
    ]
    # Time to zero errors: from the outage start to the start of the last failed request
    # sent at or after it. 0 when nothing failed; still_failing when the run ended in errors.
    failed_after = [r.t_start for r in results if not r.ok and r.t_start >= args.outage_at]
    last_error = max(failed_after) if failed_after else None
    tail_ok = [r for r in results if r.t_start > (last_error or 0.0)]
    still_failing = last_error is not None and len(tail_ok) < max(1, int(args.rate))
    ttze = 0.0 if last_error is None else round(last_error - args.outage_at, 3)

    # Back on the primary: client side (answering deployment) and the mock's own log.
    back = [r.t_start for r in results
            if r.ok and r.t_start >= args.recover_at and r.answered_by == PRIMARY]
    back_client = round(min(back) - args.recover_at, 3) if back else None
    served_after = [to_s(e["ts_ms"]) for e in primary_log
                    if e.get("chaos") in (None, "ok") and to_s(e["ts_ms"]) >= args.recover_at]
    back_mock = round(min(served_after) - args.recover_at, 3) if served_after else None
    outage_hits = [e for e in primary_log
                   if args.outage_at <= to_s(e["ts_ms"]) < args.recover_at]

    timeline = []
    for sec in range(int(math.ceil(args.duration))):
        rs = [r for r in results if sec <= r.t_start < sec + 1]
        timeline.append({
            "t": sec,
            "sent": len(rs),
            "errors": sum(not r.ok for r in rs),
            "primary": sum(r.ok and r.answered_by == PRIMARY for r in rs),
            "fallback": sum(r.ok and r.answered_by not in (None, PRIMARY) for r in rs),
            "primary_hits": sum(sec <= t < sec + 1 for t in primary_log_s),
            "p99_ms": _ms(percentile([r.latency for r in rs], 99)),
        })
    return {
        "phases": {p.name: asdict(p) for p in phases},
        "time_to_zero_errors_s": ttze,
        "last_error_at_s": None if last_error is None else round(last_error, 3),
        "still_failing_at_end": still_failing,
        "primary_back_after_recovery_s": {"client": back_client, "mock_log": back_mock},
        "primary_requests_during_outage": len(outage_hits),
        "primary_requests_during_outage_by_chaos": _count(e.get("chaos") or "none" for e in outage_hits),
        "provider_requests": {name: len(entries) for name, entries in logs.items()},
        "error_samples": error_samples(results),
        "responses_with_failover_headers": sum(
            r.model_id is not None or r.fallbacks is not None for r in results),
        "timeline": timeline,
    }


def error_samples(results: list[Result]) -> dict:
    """Per error kind, its most frequent detail (Envoy's and the filter's messages are stable)."""
    by_kind: dict = {}
    for r in results:
        if not r.ok:
            counts = by_kind.setdefault(r.error or "?", {})
            counts[r.detail] = counts.get(r.detail, 0) + 1
    return {kind: max(counts, key=counts.get) for kind, counts in by_kind.items()}


def _finite(x):
    """NaN (a request that never completed) becomes null, so the file is strict JSON."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _fmt(v, unit: str = "") -> str:
    return "-" if v is None else f"{v}{unit}"


def print_report(args: argparse.Namespace, summary: dict, out_path: Path) -> None:
    w = sys.stdout.write
    w(f"\nchaos run: {args.rate:g} req/s for {args.duration:g} s "
      f"({int(round(args.stream_share * 100))}% streaming), primary {args.mode} "
      f"from T={args.outage_at:g} s to T={args.recover_at:g} s; "
      f"allowed_fails {args.allowed_fails}, cooldown_time {args.cooldown:g} s, "
      f"num_retries {args.num_retries}\n\n")
    head = (f"{'phase':<7} {'window':>11} {'requests':>8} {'errors':>6} {'error%':>7} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'primary':>7} {'fallback':>8} {'primary hits':>12}")
    w(head + "\n" + "-" * len(head) + "\n")
    for name, p in summary["phases"].items():
        primary = p["answered_by"].get(PRIMARY, 0)
        fallback = sum(v for k, v in p["answered_by"].items() if k != PRIMARY)
        window = f"{p['start']:g}-{p['end']:g} s"
        w(f"{name:<7} {window:>11} {p['requests']:>8} {p['errors']:>6} "
          f"{p['error_rate'] * 100:>6.1f}% {_fmt(p['p50_ms']):>8} {_fmt(p['p99_ms']):>8} "
          f"{primary:>7} {fallback:>8} {p['primary_hits']:>12}\n")
    w("\n")
    kinds = summary["phases"]["all"]["errors_by_kind"]
    if kinds:
        w("client errors by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "\n")
        for kind, detail in sorted(summary["error_samples"].items()):
            w(f"  e.g. {kind}: {(detail or '').strip()[:160]}\n")
    ttze = summary["time_to_zero_errors_s"]
    if summary["last_error_at_s"] is None:
        w("time to zero errors: 0 s (no client error after the outage start)\n")
    else:
        tail = " — still failing when the run ended" if summary["still_failing_at_end"] else ""
        w(f"time to zero errors: {ttze:.3f} s after the outage start "
          f"(last failed request sent at T={summary['last_error_at_s']:.3f} s){tail}\n")
    back = summary["primary_back_after_recovery_s"]
    w(f"primary answering again after recovery: client {_fmt(back['client'], ' s')}, "
      f"mock log {_fmt(back['mock_log'], ' s')}\n")
    w(f"requests the primary received during the outage: "
      f"{summary['primary_requests_during_outage']} "
      f"{summary['primary_requests_during_outage_by_chaos']}\n")
    if not summary["responses_with_failover_headers"]:
        w("note: no response carried x-litellm-model-id / x-litellm-attempted-fallbacks; "
          "answers were attributed by x-mock-name\n")
    w("\nper second: t sent errors primary fallback primary-hits p99ms\n")
    for row in summary["timeline"]:
        w(f"  {row['t']:>3} {row['sent']:>4} {row['errors']:>6} {row['primary']:>7} "
          f"{row['fallback']:>8} {row['primary_hits']:>12} {_fmt(row['p99_ms']):>7}\n")
    w(f"\nresult: {out_path}\n")


# ------------------------------------------------------------------------------ main


def preflight(gw_url: str) -> None:
    """One plain and one streaming request must succeed, or the gateway counts as unreachable."""
    deadline = time.monotonic() + PREFLIGHT_TIMEOUT_S
    last = "no attempt"
    with httpx.Client(base_url=gw_url, timeout=5.0, trust_env=False,
                      headers={"authorization": f"Bearer {MASTER_KEY}"}) as c:
        while time.monotonic() < deadline:
            try:
                r = c.post("/v1/chat/completions", json=body(-1, False))
                s = c.post("/v1/chat/completions", json=body(-1, True))
                fb = c.post("/v1/chat/completions", json={**body(-1, False), "model": "claude-sonnet"})
                if r.status_code == s.status_code == fb.status_code == 200:
                    return
                last = f"statuses {r.status_code}/{s.status_code}/{fb.status_code}: {r.text[:200]}"
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.5)
    raise SetupError(f"gateway {gw_url} unreachable or not answering: {last}")


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_root = ROOT / ".run" / "chaos"
    workdir = args.workdir or run_root / f"run-{stamp}"
    out_path = args.out or run_root / "result.json"
    workdir.mkdir(parents=True, exist_ok=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    stack = None
    try:
        try:
            stack = start_stack(args, workdir)
        except SetupError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        gw = stack.gateway
        print(f"==> mocks: " + ", ".join(f"{k} {m.url}" for k, m in stack.mocks.items()),
              file=sys.stderr)
        print(f"==> gateway {gw.url} (admin {gw.admin_url}), logs in {workdir}", file=sys.stderr)
        preflight(gw.url)
        for m in stack.mocks.values():
            m.clear()
        # T0 a little ahead, so the schedule is in place before the first request.
        t0_wall = time.time() + 0.5
        phase = outage_phase(args, int((t0_wall + args.outage_at) * 1000),
                             int((t0_wall + args.recover_at) * 1000))
        try:
            stack.mocks[PRIMARY].chaos(phase)
        except httpx.HTTPStatusError as e:
            print(f"error: the mock refused the chaos phase {phase}: {e.response.text}",
                  file=sys.stderr)
            return 2
        print(f"==> load: {args.rate:g} req/s for {args.duration:g} s; primary chaos {phase}",
              file=sys.stderr)
        results = asyncio.run(run_load(gw.url, args, t0_wall))
        if gw.proc.poll() is not None:
            raise SetupError(f"Envoy exited during the run ({gw.proc.returncode}); "
                             f"last lines of {gw.log_path}:\n{gw.log_tail(10)}")
        if all(r.error == "gateway_connect" for r in results):
            raise SetupError(f"gateway {gw.url} refused every connection")
        logs = {name: m.requests() for name, m in stack.mocks.items()}
        summary = summarize(args, results, t0_wall, logs)
        document = {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0_wall)),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "chaos_phase": phase,
            "config": (workdir / "gateway" / "config.yaml").read_text()
            if (workdir / "gateway" / "config.yaml").exists() else None,
            "workdir": str(workdir),
            **summary,
            "requests": [asdict(r) for r in results],
        }
        document = _finite(document)
        tmp = tempfile.NamedTemporaryFile("w", dir=out_path.parent, delete=False, suffix=".tmp")
        with tmp:
            json.dump(document, tmp, indent=1, allow_nan=False)
        os.replace(tmp.name, out_path)
        print_report(args, summary, out_path)
        rate = summary["phases"]["all"]["error_rate"]
        if args.max_error_rate is not None and rate > args.max_error_rate:
            print(f"error rate {rate:.3f} is above --max-error-rate {args.max_error_rate}",
                  file=sys.stderr)
            return 3
        return 0
    except SetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
