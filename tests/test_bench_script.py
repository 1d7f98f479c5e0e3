"""scripts/bench.py, the tollgate / plain Envoy / LiteLLM benchmark: its parsing and
arithmetic on synthetic data, the fast upstream and stream client it measures with,
and one short real run (without LiteLLM, whose install is bench.sh's job).

Figures depend on the machine, so the real run checks what must hold anywhere: every
cell answered without errors, the ratios are computed from the cells' own numbers,
and each target is judged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import harness

sys.path.insert(0, str(harness.ROOT / "scripts"))
import bench  # noqa: E402

SCRIPT = harness.ROOT / "scripts" / "bench.py"

WRK_OUT = """\
Running 5s test @ http://127.0.0.1:4000/v1/chat/completions
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  40.00ms   90.00%
  Latency Distribution
     50%  812.00us
     75%    2.00ms
     90%    4.00ms
     99%    1.50s
  51234 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  10246.80
Transfer/sec:      6.00MB
"""


def test_wrk_output_is_read_in_microseconds():
    r = bench.parse_wrk(WRK_OUT)
    assert r == {"rps": 10246.8, "requests": 51234, "p50_us": 812.0, "p99_us": 1_500_000.0,
                 "non2xx": 7, "errors": 3}
    with pytest.raises(ValueError):
        bench.parse_wrk("wrk: connection refused")


def cell(rps, p50, p99=0.0, cpu=0.0):
    return {"rps": rps, "requests": int(rps), "p50_us": p50, "p99_us": p99, "non2xx": 0,
            "errors": 0, "cpu_us_per_req": cpu}


def stream(chunk, ttft, total, chunks):
    return {"chunk_p50_us": chunk, "ttft_p50_us": ttft, "total_p50_us": total, "chunks": chunks}


def synthetic_run() -> dict:
    """Two repetitions at one worker; limits is 90% of plain in one and 70% in the other."""
    reps_lat, reps_sat, reps_stream = [], [], []
    for plain_rps, limits_rps in ((1000, 900), (2000, 1400)):
        reps_lat.append({"direct": cell(0, 20), "plain": cell(0, 100), "floor": cell(0, 110),
                         "bodies": cell(0, 115), "minimal": cell(0, 122),
                         "master": cell(0, 130), "limits": cell(0, 140),
                         "anthropic": cell(0, 160), "litellm": cell(0, 5000)})
        reps_sat.append({"plain": cell(plain_rps, 0, cpu=40), "floor": cell(plain_rps, 0, cpu=42),
                         "bodies": cell(plain_rps * 0.85, 0, cpu=47),
                         "minimal": cell(plain_rps * 0.75, 0, cpu=53),
                         "master": cell(plain_rps, 0, cpu=60),
                         "limits": cell(limits_rps, 0, cpu=70),
                         "anthropic": cell(limits_rps / 2, 0, cpu=90),
                         "litellm": cell(10, 0, cpu=9000),
                         "plain_delay": cell(500, 0), "limits_delay": cell(450, 0),
                         "litellm_delay": cell(50, 0)})
        reps_stream.append({
            "spaced": {"plain": stream(100, 2000, 0, 50), "plain_anthropic": stream(100, 2000, 0, 50),
                       "master": stream(103, 2050, 0, 50), "anthropic": stream(104, 2100, 0, 50)},
            "burst": {"plain": stream(0, 0, 10_000, 201), "plain_1": stream(0, 0, 1_000, 1),
                      "plain_anthropic": stream(0, 0, 12_000, 201),
                      "plain_anthropic_1": stream(0, 0, 1_000, 1),
                      "master": stream(0, 0, 10_600, 201), "master_1": stream(0, 0, 1_200, 1),
                      "anthropic": stream(0, 0, 12_900, 201), "anthropic_1": stream(0, 0, 1_300, 1)},
        })
    return {"by_concurrency": {"1": {
        "latency": reps_lat, "saturation": reps_sat, "stream": reps_stream,
        "idle_rss_mb": {"plain": 66, "floor": 88, "bodies": 89, "minimal": 89.5,
                        "tollgate": 90}, "end_rss_mb": {},
        "connections": 32, "delay_connections": 128}}}


def test_comparisons_are_pair_by_pair_and_targets_are_judged():
    run = synthetic_run()
    d = bench.derive(run)["1"]
    tput = d["limits"]["throughput_vs_plain"]
    assert (tput["median"], tput["min"], tput["max"]) == (pytest.approx(0.8), 0.7, 0.9)
    assert d["limits"]["added_p50_us"]["median"] == 40
    assert d["floor"]["added_p50_us"]["median"] == 10
    assert d["limits"]["added_cpu_us_per_req"]["median"] == 30
    assert d["limits"]["added_p50_over_direct_us"]["median"] == 120
    assert d["limits"]["vs_litellm"]["median"] == pytest.approx(115)
    assert d["limits"]["delay_throughput_vs_plain"]["median"] == pytest.approx(0.9)
    assert d["limits"]["delay_vs_litellm"]["median"] == pytest.approx(9)
    # Spaced: each chunk's crossing time against plain Envoy's (Anthropic against Anthropic).
    assert d["master"]["stream_added_chunk_us"]["median"] == 3
    assert d["anthropic"]["stream_added_chunk_us"]["median"] == 4
    # Burst: ((12900 - 12000) - (1300 - 1000)) / 200 chunks.
    assert d["anthropic"]["stream_burst_added_chunk_us"]["median"] == pytest.approx(3.0)
    # With the proxies' CPU per stream, the target is judged on CPU per chunk:
    # ((2200 - 200) - (1200 - 200)) / 200 = 5.0 us, just over the bound.
    for rep in run["by_concurrency"]["1"]["stream"]:
        for name, cpu in (("anthropic", 2200), ("anthropic_1", 200),
                          ("plain_anthropic", 1200), ("plain_anthropic_1", 200)):
            rep["burst"][name]["cpu_us_per_stream"] = cpu
    cpu_run = bench.derive(run)
    assert cpu_run["1"]["anthropic"]["stream_burst_added_cpu_chunk_us"]["median"] == 5.0
    assert bench.check_targets(cpu_run)["stream_chunk_us"]["met"] is False
    for rep in run["by_concurrency"]["1"]["stream"]:
        for name in ("anthropic", "anthropic_1", "plain_anthropic", "plain_anthropic_1"):
            del rep["burst"][name]["cpu_us_per_stream"]
    t = bench.check_targets(bench.derive(run))
    assert t["throughput_vs_plain"]["value"] == pytest.approx(0.8)
    assert t["throughput_vs_plain"]["met"] is True
    assert (t["added_p50_us"]["value"], t["added_p50_us"]["met"]) == (40, True)
    assert (t["stream_chunk_us"]["met"], t["idle_rss_mb"]["value"]) == (True, 24)
    assert t["vs_litellm"]["met"] is True
    # Each target beside what the bodies floor reaches on the same measure.
    assert t["throughput_vs_plain"]["bodies_floor"] == pytest.approx(0.85)
    assert (t["added_p50_us"]["bodies_floor"], t["idle_rss_mb"]["bodies_floor"]) == (15, 23)
    assert t["vs_litellm"]["bodies_floor"] is None
    # And beside the minimal gateway floor: the bodies floor plus a gateway's host calls.
    assert t["throughput_vs_plain"]["minimal_floor"] == pytest.approx(0.75)
    assert (t["added_p50_us"]["minimal_floor"], t["idle_rss_mb"]["minimal_floor"]) == (22, 23.5)
    assert t["stream_chunk_us"]["minimal_floor"] is None
    assert d["minimal"]["added_cpu_us_per_req"]["median"] == 13
    md = bench.markdown({**run, "date": "d", "machine": "m", "versions": "v", "command": "c",
                         "reps": 2, "duration": 1, "no_pin": False, "delay_ms": 50,
                         "derived": bench.derive(run), "targets": t})
    assert "| limits | 140 (140–140)" in md and "| target |" in md and "**no**" not in md
    assert "| bodies | 115 (115–115)" in md and "| minimal | 122 (122–122)" in md
    assert "| Envoy+tollgate sustains >= 80% of plain Envoy's throughput | 0.80 | >= 0.8 | yes | 0.85 | 0.75 |" in md


def test_a_missed_target_is_marked_and_an_absent_one_is_not_judged():
    run = synthetic_run()
    for r in run["by_concurrency"]["1"]["saturation"]:
        r["limits"]["rps"] = r["plain"]["rps"] / 2
        del r["litellm"]
    t = bench.check_targets(bench.derive(run))
    assert t["throughput_vs_plain"]["met"] is False
    assert t["vs_litellm"] == {**t["vs_litellm"], "value": None, "met": None}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    harness.require(bench.UPSTREAM, "tollgate-bench-upstream")
    proc, url = bench.start_upstream(tmp_path_factory.mktemp("bench-upstream"), "up", None)
    yield url
    proc.stop()


def test_the_fast_upstream_answers_both_apis_whole_and_streamed(upstream):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    chat = harness.http.post(upstream + "/v1/chat/completions", json=body).json()
    assert chat["object"] == "chat.completion" and chat["usage"]["total_tokens"] == 22
    msg = harness.http.post(upstream + "/v1/messages", json=body).json()
    assert msg["type"] == "message" and msg["usage"]["output_tokens"] == 9
    assert harness.http.post(upstream + "/v1/embeddings", json=body).status_code == 404
    port = int(upstream.rsplit(":", 1)[1])
    for path, events in (("/v1/chat/completions", "chat.completion.chunk"),
                         ("/v1/messages", "content_block_delta")):
        r = bench.run_stream(port, path, "m", None, chunks=7, requests=3)
        assert (r["chunks"], r["requests"]) == (7, 3)
        assert 0 < r["chunk_p50_us"] < 1_000_000 and r["ttft_p50_us"] > 0
    raw = harness.http.post(upstream + "/v1/messages", json={**body, "stream": True,
                                                            "max_tokens": 4}).text
    assert raw.count("event: content_block_delta") == 4 and raw.endswith(
        'data: {"type":"message_stop"}\n\n')
    raw = harness.http.post(upstream + "/v1/chat/completions",
                            json={**body, "stream": True, "max_tokens": 10**9}).text
    assert raw.count('"content":"t=') == 10_000  # capped
    assert raw.endswith("data: [DONE]\n\n")


def test_bad_arguments_exit_2():
    p = subprocess.run([sys.executable, str(SCRIPT), "--envoy", "x", "--duration", "0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "--duration" in p.stderr


def test_a_short_real_run(tmp_path):
    if not shutil.which("wrk"):
        pytest.fail("wrk not found: scripts/test.sh installs it", pytrace=False)
    for path in (bench.CLI, bench.UPSTREAM, bench.WASM, bench.FLOOR_WASM):
        harness.require(path, path.name)
    out = tmp_path / "run.json"
    md = tmp_path / "run.md"
    p = subprocess.run(
        [sys.executable, str(SCRIPT), "--envoy", str(harness.envoy_binary()), "--duration", "1",
         "--reps", "1", "--concurrency", "1", "--stream-requests", "2", "--chunks", "5",
         "--delay-ms", "20", "--delay-connections", "8", "--out-json", str(out),
         "--out-md", str(md)],
        capture_output=True, text=True, timeout=240, env={**os.environ, "CI": "1"},
        stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]
    run = json.loads(out.read_text())
    one = run["by_concurrency"]["1"]
    lat, sat = one["latency"][0], one["saturation"][0]
    assert set(lat) == {"direct", "plain", "floor", "bodies", "minimal", "master", "limits",
                        "anthropic"}
    assert set(sat) == {"plain", "floor", "bodies", "minimal", "master", "limits", "anthropic",
                        "plain_delay", "limits_delay"}
    for name, c in [*lat.items(), *sat.items()]:
        assert c["requests"] > 0 and c["non2xx"] == 0 and c["errors"] == 0, (name, c)
    for name in ("plain", "master", "limits"):
        assert sat[name]["cpu_us_per_req"] > 0
    # A 20 ms upstream behind 8 connections caps any proxy near 400 req/s.
    assert sat["plain_delay"]["rps"] < 450 and sat["limits_delay"]["rps"] < 450
    burst = one["stream"][0]["burst"]
    assert burst["anthropic"]["chunks"] == 5 and burst["anthropic_1"]["chunks"] == 1
    assert burst["anthropic"]["cpu_us_per_stream"] > 0 and burst["plain"]["cpu_us_per_stream"] > 0
    assert "stream_burst_added_cpu_chunk_us" in run["derived"]["1"]["anthropic"]
    d = run["derived"]["1"]
    assert d["limits"]["throughput_vs_plain"]["median"] == pytest.approx(
        sat["limits"]["rps"] / sat["plain"]["rps"])
    assert d["limits"]["added_p50_us"]["median"] == pytest.approx(
        lat["limits"]["p50_us"] - lat["plain"]["p50_us"])
    assert one["idle_rss_mb"]["tollgate"] > one["idle_rss_mb"]["plain"] > 0
    t = run["targets"]
    assert t["vs_litellm"]["met"] is None  # not measured without LiteLLM
    assert all(t[n]["met"] in (True, False) for n in t if n != "vs_litellm")
    text = md.read_text()
    assert text.startswith("# Benchmarks") and "### Targets" in text


def test_the_floor_filter_makes_the_host_calls_a_probe_asks_for(tmp_path):
    import hostcalls

    for path in (bench.CLI, bench.UPSTREAM, bench.FLOOR_WASM):
        harness.require(path, path.name)
    up_proc, up = bench.start_upstream(tmp_path, "upstream", None)
    ups = {"up": up, "spaced": up, "delay": up}
    try:
        boot = bench.render(tmp_path, bench.TOLLGATE_CONFIG.format(**ups), bench.free_port(),
                            bench.free_port())
        p, url, admin = hostcalls.start_probe(str(harness.envoy_binary()), boot, tmp_path,
                                              "probe", "calls:metric=5,time=3", ups, None)
        body = {"model": "gpt-4o-mini", "messages": bench.PROMPT, "max_tokens": 2}

        def counted() -> int:
            stats = harness.http.get(f"http://127.0.0.1:{admin}/stats?filter=bench_probe").text
            return int(stats.split("bench_probe_calls:")[1].split()[0])

        before = counted()  # start-up's readiness probe went through the filter too
        for _ in range(3):
            assert harness.http.post(url + "/v1/chat/completions", json=body).status_code == 200
        assert counted() - before == 15
        p.stop()
        # The minimal gateway floor holds both bodies, answers whole, and settles once
        # per request (one metric update at the end of the answer).
        p, url, admin = hostcalls.start_probe(str(harness.envoy_binary()), boot, tmp_path,
                                              "gateway", "gateway", ups, None)
        before = counted()
        for _ in range(4):
            r = harness.http.post(url + "/v1/chat/completions", json=body)
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        assert counted() - before == 4
        p.stop()
        # A call the probe does not know refuses the configuration: Envoy does not start.
        with pytest.raises(SystemExit):
            hostcalls.start_probe(str(harness.envoy_binary()), boot, tmp_path, "bad",
                                  "calls:nonsense=1", ups, None)
    finally:
        for proc in list(bench.LIVE):
            proc.stop()
        up_proc.stop()


def test_host_call_pricing_runs_and_reports_each_call(tmp_path):
    out = tmp_path / "calls.json"
    p = subprocess.run(
        [sys.executable, str(harness.ROOT / "scripts" / "hostcalls.py"), "--envoy",
         str(harness.envoy_binary()), "--only", "time,shared_get", "--calls", "5",
         "--duration", "1", "--reps", "1", "--connections", "4", "--out-json", str(out)],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res["cost_us"]) == {"time", "shared_get"}
    cells = res["cells"][0]
    # Each cost is the probe's CPU per request beyond the no-call floor, per call.
    want = (cells["time"]["cpu_us_per_req"] - cells["none"]["cpu_us_per_req"]) / 5
    assert res["cost_us"]["time"]["median"] == pytest.approx(want)
    assert "| proxy_get_current_time_nanoseconds |" in p.stdout
    bad = subprocess.run([sys.executable, str(harness.ROOT / "scripts" / "hostcalls.py"),
                          "--envoy", "x", "--only", "nonsense"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--only" in bad.stderr
