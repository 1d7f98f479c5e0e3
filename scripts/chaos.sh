#!/usr/bin/env bash
# Failover under a scripted outage: starts tollgate-mock providers (OpenAI-face primary,
# Anthropic-face fallback, optionally Gemini), Envoy with the tollgate filter in front,
# sends a steady bounded load and takes the primary down for a while through the mock's
# chaos API. Prints error rates and latency per phase, time to zero errors and time until
# the primary answers again; writes the JSON result to .run/chaos/result.json.
#
# Usage: scripts/chaos.sh [--no-build] [driver options]
#   --no-build   skip the cargo builds (use what is in target/)
#   driver options (scripts/chaos.py --help): --rate 40 --duration 30 --outage-at 5
#     --recover-at 15 --mode down|refuse|slow|429|500|cut --phase JSON --gemini
#     --allowed-fails 2 --cooldown 5 --num-retries 1 --out FILE --max-error-rate R
# Exit status: 0 done, 1 setup failed or gateway unreachable, 2 bad arguments,
# 3 error rate above --max-error-rate.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
args=()
for arg in "$@"; do
    case $arg in
        --no-build) build=0 ;;
        -h | --help)
            sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            if [[ -x $TOLLGATE_VENV/bin/python ]]; then
                echo
                "$TOLLGATE_VENV/bin/python" "$TOLLGATE_ROOT/scripts/chaos.py" --help
            fi
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
exec "$TOLLGATE_VENV/bin/python" "$TOLLGATE_ROOT/scripts/chaos.py" "${args[@]}"
