"""scripts/chaos.py, the failover-under-outage driver: its arithmetic on synthetic runs,
one short real run, and its exit status when the gateway cannot start.

The figures of a real run depend on the failover code of the filter, so the end-to-end
test checks the shape of the result and the parts that do not (the load, the outage
window, the mocks' logs), not error rates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT / "scripts"))
import chaos  # noqa: E402

SCRIPT = harness.ROOT / "scripts" / "chaos.py"


def args(**kw) -> Namespace:
    base = dict(rate=10.0, duration=10.0, outage_at=2.0, recover_at=6.0)
    return Namespace(**{**base, **kw})


def run(**kw) -> list[chaos.Result]:
    """Ten requests a second for 10 s; `kw` maps request index -> (ok, answered_by)."""
    out = []
    for i in range(100):
        ok, by = kw.get(str(i), (True, chaos.PRIMARY))
        out.append(chaos.Result(idx=i, stream=i % 2 == 1, t_start=i / 10, latency=0.001 * (i % 10 + 1),
                                status=200 if ok else 503, ok=ok, error=None if ok else "status_503",
                                model_id=by, answered_by=by, detail=None if ok else "boom"))
    return out


def test_failover_figures_from_a_synthetic_run():
    # Errors from T=2.0 to T=2.4, then the fallback until T=6.5, then the primary again.
    results = run(**{str(i): (False, None) for i in range(20, 25)},
                  **{str(i): (True, chaos.FALLBACK) for i in range(25, 65)})
    t0 = 1_000.0
    log = {chaos.PRIMARY: [{"ts_ms": (t0 + t) * 1000, "chaos": c}
                           for t, c in [(2.0, "down"), (2.1, "down"), (2.2, "down"), (6.5, None)]]}
    s = chaos.summarize(args(), results, t0, log)
    assert s["time_to_zero_errors_s"] == 0.4
    assert s["last_error_at_s"] == 2.4
    assert s["still_failing_at_end"] is False
    assert s["primary_back_after_recovery_s"] == {"client": 0.5, "mock_log": 0.5}
    assert s["primary_requests_during_outage"] == 3
    assert s["primary_requests_during_outage_by_chaos"] == {"down": 3}
    outage = s["phases"]["outage"]
    assert (outage["requests"], outage["errors"], outage["error_rate"]) == (40, 5, 0.125)
    assert outage["answered_by"] == {chaos.FALLBACK: 35}
    assert outage["primary_hits"] == 3
    assert s["phases"]["before"]["errors"] == 0
    assert s["phases"]["all"]["requests"] == 100
    assert s["error_samples"] == {"status_503": "boom"}
    assert [row["errors"] for row in s["timeline"]][:3] == [0, 0, 5]
    assert s["timeline"][3] == {"t": 3, "sent": 10, "errors": 0, "primary": 0, "fallback": 10,
                                "primary_hits": 0, "p99_ms": 10.0}


def test_no_errors_means_zero_time_and_errors_to_the_end_are_flagged():
    s = chaos.summarize(args(), run(), 0.0, {})
    assert (s["time_to_zero_errors_s"], s["last_error_at_s"]) == (0.0, None)
    assert s["primary_back_after_recovery_s"]["client"] == 0.0
    failing = run(**{str(i): (False, None) for i in range(20, 100)})
    s = chaos.summarize(args(), failing, 0.0, {})
    assert s["still_failing_at_end"] is True
    assert s["primary_back_after_recovery_s"] == {"client": None, "mock_log": None}


def test_percentile_is_nearest_rank():
    assert chaos.percentile([], 50) is None
    assert chaos.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert chaos.percentile([float(i) for i in range(1, 101)], 99) == 99.0


def test_outage_phase_for_each_mode():
    a = Namespace(mode="refuse", phase={})
    assert chaos.outage_phase(a, 10, 20) == {"mode": "down", "how": "refuse", "at_ms": 10, "until_ms": 20}
    a = Namespace(mode="500", phase={"status": 503})
    assert chaos.outage_phase(a, 10, 20) == {"mode": "500", "status": 503, "at_ms": 10, "until_ms": 20}


def _driver(tmp_path: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--duration", "3", "--outage-at", "1", "--recover-at", "2",
         "--rate", "20", "--out", str(tmp_path / "result.json"), "--workdir", str(tmp_path / "w"),
         *extra],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_a_short_run_end_to_end(binaries, tmp_path):
    p = _driver(tmp_path)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "time to zero errors" in p.stdout and "phase" in p.stdout
    doc = json.loads((tmp_path / "result.json").read_text())
    assert len(doc["requests"]) == 60
    assert {r["stream"] for r in doc["requests"]} == {True, False}
    phases = doc["phases"]
    assert [phases[k]["requests"] for k in ("before", "outage", "after", "all")] == [20, 20, 20, 60]
    assert phases["before"]["errors"] == 0, phases["before"]
    assert phases["before"]["answered_by"] == {chaos.PRIMARY: 20}
    # The primary mock saw the outage: every request it got in the window was dropped.
    assert doc["primary_requests_during_outage"] >= 1
    assert set(doc["primary_requests_during_outage_by_chaos"]) == {"down"}
    assert doc["chaos_phase"]["mode"] == "down"
    assert "fallbacks: [{gpt-4o: [claude-sonnet]}]" in doc["config"]


def test_exits_non_zero_when_the_gateway_cannot_start(binaries, tmp_path):
    p = _driver(tmp_path, env={"TOLLGATE_ENVOY": "/bin/false"})
    assert p.returncode == 1, p.stderr + p.stdout
    assert "could not start" in p.stderr
    assert not (tmp_path / "result.json").exists()


def test_bad_arguments_exit_2(tmp_path):
    p = _driver(tmp_path, "--recover-at", "0.5")
    assert p.returncode == 2
    assert "--outage-at" in p.stderr
