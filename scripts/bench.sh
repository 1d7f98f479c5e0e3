#!/usr/bin/env bash
# Latency/throughput of Envoy with the tollgate filter vs the same Envoy without
# it, both in front of the same tollgate-mock upstream on loopback, under the
# same wrk load. Bounded: each run lasts --duration seconds.
#
# Usage: scripts/bench.sh [--duration S] [--connections "1 32"] [--out FILE]
# Results are printed as a markdown table and appended to FILE
# (default docs/bench-results.md) with the date, machine and method.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration=10 connections="1 32" out="$TOLLGATE_ROOT/docs/bench-results.md"
while (($#)); do
    case $1 in
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done

ensure_rust
build_all
ensure_venv
if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    (apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }) >&2 ||
        die "could not install wrk"
fi
ENVOY="$(envoy_path)"
work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$TOLLGATE_MOCK" --quiet --name bench --port 0 >"$work/mock.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/mock.out" 2>/dev/null && break; sleep 0.05; done
mock_url="$(sed -n 's/^listening on //p' "$work/mock.out")"
[[ -n $mock_url ]] || die "mock did not start"

cat >"$work/config.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini-2024-07-18, api_base: "$mock_url/v1"}
general_settings: {master_key: os.environ/TOLLGATE_MASTER_KEY}
YAML
export TOLLGATE_MASTER_KEY=sk-bench
gw_port="$(free_port)" gw_admin="$(free_port)" plain_port="$(free_port)" plain_admin="$(free_port)"
"$TOLLGATE_CLI" render "$work/config.yaml" --port "$gw_port" --admin-port "$gw_admin" \
    --listen 127.0.0.1 --wasm "$TOLLGATE_WASM" -o "$work/tollgate.yaml"
# The baseline is the same bootstrap minus the wasm filter, routing straight to the mock.
"$TOLLGATE_VENV/bin/python" - "$work/tollgate.yaml" "$work/plain.yaml" "$plain_port" "$plain_admin" <<'PY'
import sys, yaml
src, dst, port, admin = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
b = yaml.safe_load(open(src))
b["admin"]["address"]["socket_address"]["port_value"] = admin
lst = b["static_resources"]["listeners"][0]
lst["address"]["socket_address"]["port_value"] = port
hcm = lst["filter_chains"][0]["filters"][0]["typed_config"]
hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.wasm"]
cluster = b["static_resources"]["clusters"][0]["name"]
vh = hcm["route_config"]["virtual_hosts"][0]
vh["routes"] = [{"match": {"prefix": "/"}, "route": {"cluster": cluster, "timeout": "60s"}}]
yaml.safe_dump(b, open(dst, "w"))
PY

# Not called through $(...): the pid must land in this shell's pids for cleanup.
start_envoy() { # NAME CONFIG ADMIN PORT; sets last_pid
    "$ENVOY" -c "$2" --disable-hot-restart --concurrency 1 -l error >"$work/$1.log" 2>&1 &
    last_pid=$!
    pids+=("$last_pid")
    wait_envoy_ready "$3" 127.0.0.1 "$4" "$last_pid" || die "$1 envoy did not start: $(tail -5 "$work/$1.log")"
}
start_envoy tollgate "$work/tollgate.yaml" "$gw_admin" "$gw_port"
gw_pid=$last_pid
start_envoy plain "$work/plain.yaml" "$plain_admin" "$plain_port"
plain_pid=$last_pid

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"temperature":0.2}'
LUA

# wrk prints latency percentiles with units; normalise to microseconds.
to_us() { awk '{v=$1; m=1; if (v ~ /us$/) {sub(/us/,"",v)} else if (v ~ /ms$/) {sub(/ms/,"",v); m=1000} else if (v ~ /s$/) {sub(/s/,"",v); m=1000000}; printf "%d\n", v*m}'; }
run() { # URL CONNS -> "rps p50 p99 non2xx"
    local res
    res="$(wrk -t1 -c"$2" -d"${duration}s" --latency -s "$work/post.lua" "$1/v1/chat/completions")"
    local rps p50 p99 errs
    rps="$(awk '/Requests\/sec/ {print int($2)}' <<<"$res")"
    p50="$(awk '$1=="50%" {print $2}' <<<"$res" | to_us)"
    p99="$(awk '$1=="99%" {print $2}' <<<"$res" | to_us)"
    errs="$(awk '/Non-2xx/ {print $5}' <<<"$res")"
    echo "$rps $p50 $p99 ${errs:-0}"
}

# One warm-up request each: the first request pays for V8 JIT and connection setup.
curl -s -o /dev/null -H 'authorization: Bearer sk-bench' -d '{"model":"gpt-4o-mini","messages":[]}' "http://127.0.0.1:$gw_port/v1/chat/completions"
curl -s -o /dev/null -d '{"model":"gpt-4o-mini","messages":[]}' "http://127.0.0.1:$plain_port/v1/chat/completions"

rows=()
for c in $connections; do
    read -r prps pp50 pp99 perr <<<"$(run "http://127.0.0.1:$plain_port" "$c")"
    read -r grps gp50 gp99 gerr <<<"$(run "http://127.0.0.1:$gw_port" "$c")"
    rows+=("| $c | $prps | $pp50 | $pp99 | $grps | $gp50 | $gp99 | $((gp50 - pp50)) | $perr/$gerr |")
done
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }

report="$(cat <<MD

## $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores, Envoy $("$ENVOY" --version | sed -n 's/.*version: [^/]*\/\([^/]*\)\/.*/\1/p'), ${duration}s per cell

Method: \`scripts/bench.sh\`. One tollgate-mock upstream on loopback; two Envoys with
\`--concurrency 1\` from the same rendered bootstrap, one with the tollgate filter, one
without it (route straight to the mock). wrk, 1 thread, POST of a small chat completion;
the filter authenticates, parses the body, resolves the model, rewrites model/path/host and
forwards; the response streams back untouched. Latencies in microseconds.

| connections | plain req/s | plain p50 | plain p99 | tollgate req/s | tollgate p50 | tollgate p99 | added p50 | non-2xx plain/tollgate |
|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

RSS after the run: plain Envoy $(rss "$plain_pid") MB, Envoy + tollgate $(rss "$gw_pid") MB.
MD
)"
echo "$report"
mkdir -p "$(dirname "$out")"
[[ -f $out ]] || printf '# Benchmark results\n\nAppended by scripts/bench.sh; newest last.\n' >"$out"
echo "$report" >>"$out"
say "appended to $out"
