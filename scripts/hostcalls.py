"""What one proxy-wasm host call costs inside this machine's Envoy.

For each call the filter makes, one Envoy runs the floor filter (filter/bench-floor)
in its `calls:` mode, making that call --calls times per request; one more runs it
making none. Each is driven at saturation by wrk (proxy pinned to CPU 0, load and
upstream to CPU 1) and the proxy's CPU time per request is taken from the scheduler;
the call's cost is (probe - none) / --calls, taken per repetition (cells back to back
in each) and reported as median and range. Bounded: every cell lasts --duration s.

Usage: scripts/bench.sh --hostcalls [--calls 20 --duration 4 --reps 3 --only a,b]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

# The calls, as the floor filter names them, and what each is in the filter.
CALLS = {
    "shared_get": "proxy_get_shared_data, 200-byte value (a key record, a counter)",
    "shared_set": "proxy_set_shared_data, 200-byte value",
    "header_get": "proxy_get_header_map_value, one request header",
    "headers_get": "proxy_get_header_map_pairs, the whole request header map",
    "header_set": "proxy_replace_header_map_value, one request header",
    "time": "proxy_get_current_time_nanoseconds",
    "metric": "proxy_increment_metric",
    "property_get": "proxy_get_property (request.path)",
    "property_set": "proxy_set_property (filter state)",
}


def start_probe(envoy: str, boot: Path, work: Path, name: str, config: str, ups: dict,
                cpu: str | None) -> tuple[bench.Proc, str, int]:
    port, admin = bench.free_port(), bench.free_port()
    dst = work / f"{name}.yaml"
    bench.plain_bootstrap(boot, dst, port, admin, ups["up"], ups["spaced"], ups["delay"],
                          floor=bench.FLOOR_WASM, floor_mode=config)
    p = bench.start_envoy(envoy, name, dst, work, port, admin, 1, cpu)
    return p, f"http://127.0.0.1:{port}", admin


def measure(args, envoy: str, work: Path) -> dict:
    pin = not args.no_pin
    proxy_cpu, load_cpu = ("0", "1") if pin else (None, None)
    up_proc, up = bench.start_upstream(work, "upstream", load_cpu)
    ups = {"up": up, "spaced": up, "delay": up}
    boot = bench.render(work, bench.TOLLGATE_CONFIG.format(**ups), bench.free_port(),
                        bench.free_port())
    names = ["none", *args.only]
    cells = {n: start_probe(envoy, boot, work, f"probe-{n}",
                            "calls:" if n == "none" else f"calls:{n}={args.calls}", ups,
                            proxy_cpu)
             for n in names}
    script = bench.wrk_script(work, "probe", "gpt-4o-mini", None)
    for _, url, _ in cells.values():
        bench.run_wrk(url, script, 4, 1, 1, None, load_cpu)
    reps = []
    for rep in range(args.reps):
        bench.log(f"host calls: repetition {rep + 1}/{args.reps}")
        reps.append({n: bench.run_wrk(url, script, args.connections, 1, args.duration, p.pid,
                                      load_cpu)
                     for n, (p, url, _) in cells.items()})
    for p, _, _ in cells.values():
        p.stop()
    up_proc.stop()
    costs = {}
    for n in args.only:
        per_call = [(r[n]["cpu_us_per_req"] - r["none"]["cpu_us_per_req"]) / args.calls
                    for r in reps]
        costs[n] = bench.summarize(per_call)
    return {"date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
            "versions": bench.versions(envoy, None), "calls_per_request": args.calls,
            "duration": args.duration, "reps": args.reps, "pinned": pin,
            "none_cpu_us_per_req": bench.summarize(
                [r["none"]["cpu_us_per_req"] for r in reps]),
            "cells": reps, "cost_us": costs}


def markdown(res: dict) -> str:
    none = res["none_cpu_us_per_req"]
    lines = [f"### Host call costs, {res['date']}", "",
             f"{res['versions']}; {res['calls_per_request']} calls per request, "
             f"{res['reps']} repetitions of {res['duration']} s; the floor filter making no "
             f"call uses {none['median']:.1f} µs of proxy CPU per request.", "",
             "| call | µs of proxy CPU per call |", "|---|---|"]
    for n, s in res["cost_us"].items():
        lines.append(f"| {CALLS[n]} | {bench.fmt(s, 2)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--envoy", required=True)
    ap.add_argument("--calls", type=int, default=20, help="calls of each kind per request")
    ap.add_argument("--duration", type=int, default=4, help="seconds per wrk cell")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--only", default=",".join(CALLS), help="comma-separated calls to price")
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--out-json", help="write the measurement here")
    args = ap.parse_args(argv)
    args.only = [n for n in args.only.split(",") if n]
    unknown = [n for n in args.only if n not in CALLS]
    if unknown or not args.only:
        ap.error(f"--only takes calls from: {', '.join(CALLS)}")
    if not 1 <= args.calls <= 1000 or not 0 < args.duration <= 60 or not 1 <= args.reps <= 10:
        ap.error("--calls in [1, 1000], --duration in (0, 60], --reps in [1, 10]")
    for path in (bench.CLI, bench.UPSTREAM, bench.FLOOR_WASM):
        if not path.exists():
            bench.log(f"missing {path}: run scripts/bench.sh (it builds everything)")
            return 1
    work = Path(tempfile.mkdtemp(prefix="tollgate-hostcalls-"))
    try:
        res = measure(args, args.envoy, work)
    finally:
        for p in list(bench.LIVE):
            p.stop()
    print(markdown(res))
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
