#!/usr/bin/env bash
# tollgate vs plain Envoy vs LiteLLM's proxy on this machine, in one run: the same
# fast upstream (tollgate-bench-upstream), the same wrk load, the same stream client.
# Loopback only; every cell lasts --duration seconds, so the run ends by itself
# (defaults: about 12 minutes with LiteLLM).
#
# Usage: scripts/bench.sh [--no-build] [--no-litellm] [driver options]
#   --no-build    use what is in target/
#   --no-litellm  skip LiteLLM (otherwise litellm[proxy] is installed into .venv-litellm)
#   --save        append the report to BENCHMARKS.md and write BENCHMARKS.json
#   driver options (scripts/bench.py --help): --duration 5 --reps 3 --connections 32
#     --concurrency "1 2" --chunks 200 --stream-requests 40 --delay-ms 50
#     --delay-connections 128 --wasm FILE --no-pin --check-targets
#   --hostcalls   instead: price each proxy-wasm host call (scripts/hostcalls.py:
#                 --calls 20 --duration 4 --reps 3 --only shared_get,time,...)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The LiteLLM release the committed figures were measured with.
LITELLM_VERSION=1.108.7
LITELLM_VENV="$TOLLGATE_ROOT/.venv-litellm"

build=1 litellm=1 save=0 hostcalls=0
args=()
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        --no-litellm) litellm=0 ;;
        --save) save=1 ;;
        --hostcalls) hostcalls=1 ;;
        -h | --help)
            sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) args+=("$arg") ;;
    esac
done

if ((build)); then
    ensure_rust
    build_all
fi
ensure_venv
ensure_wrk
if ((hostcalls)); then
    exec "$TOLLGATE_VENV/bin/python" "$TOLLGATE_ROOT/scripts/hostcalls.py" --envoy "$(envoy_path)" \
        "${args[@]}"
fi
if ((litellm)); then
    # A venv of its own: LiteLLM's dependency pins must not move the test venv's.
    if ! "$LITELLM_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('litellm') != '$LITELLM_VERSION')" 2>/dev/null; then
        say "installing litellm[proxy]==$LITELLM_VERSION into .venv-litellm"
        python3 -m venv "$LITELLM_VENV" >&2
        "$LITELLM_VENV/bin/python" -m pip install --disable-pip-version-check -q \
            "litellm[proxy]==$LITELLM_VERSION" >&2 || die "could not install litellm[proxy]"
    fi
    args+=(--litellm "$LITELLM_VENV/bin/python")
fi
if ((save)); then
    args+=(--out-md "$TOLLGATE_ROOT/BENCHMARKS.md" --out-json "$TOLLGATE_ROOT/BENCHMARKS.json")
fi
exec "$TOLLGATE_VENV/bin/python" "$TOLLGATE_ROOT/scripts/bench.py" --envoy "$(envoy_path)" \
    --command "scripts/bench.sh $*" "${args[@]}"
