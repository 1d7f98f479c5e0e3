#!/usr/bin/env bash
# Runs the libFuzzer targets in fuzz/ for a bounded time each, seeded from the
# recorded provider traffic, and fails if any of them finds a crash.
#
# Usage: scripts/fuzz.sh [--seconds N] [--targets T...] [--rss-limit-mb N]
#                        [--timeout N] [--sanitizer address|none]
#   --seconds N       fuzzing time per target (default 60)
#   --targets T...    targets to run (default: all; see fuzz/fuzz_targets/)
#   --rss-limit-mb N  libFuzzer memory limit per target (default 2048)
#   --timeout N       seconds one input may take before it counts as a hang (default 20)
#   --sanitizer S     cargo-fuzz sanitizer (default none: tollgate-core is safe Rust,
#                     and AddressSanitizer costs ~6x throughput here; overflow
#                     checks and debug assertions stay on either way)
#
# Needs the nightly toolchain (cargo +nightly); without it the script says
# "skipped: no nightly toolchain" and exits 0 (it never downloads a toolchain).
# Installs cargo-fuzz with `cargo install --locked` when it is missing.
# Seeds go to fuzz/corpus/<target>/seed-* (rewritten each run, not committed);
# libFuzzer adds what it finds next to them. Logs, crash inputs and a summary
# (fuzz/artifacts/summary.md) are under fuzz/artifacts/.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TOLLGATE_ROOT"

ALL_TARGETS=(config request_translators response_translators streams admin_api gateway parsers)
seconds=60
rss_mb=2048
timeout=20
sanitizer=none
targets=()

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --rss-limit-mb) rss_mb=${2:?--rss-limit-mb needs a value}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
    --sanitizer) sanitizer=${2:?--sanitizer needs a value}; shift 2 ;;
    --targets)
        shift
        while (($#)) && [[ "$1" != --* ]]; do
            targets+=("$1")
            shift
        done
        ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for n in "$seconds" "$rss_mb" "$timeout"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "not a positive number: $n"
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target: $t (targets: ${ALL_TARGETS[*]})"
done

# Never let rustup fetch a toolchain on our behalf.
export RUSTUP_AUTO_INSTALL=0
if ! command -v rustup >/dev/null || ! rustup toolchain list 2>/dev/null | grep -q '^nightly' ||
    ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipped: no nightly toolchain (cargo +nightly is unavailable; cargo-fuzz needs it)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --locked >&2
fi

say "seeding fuzz/corpus from fixtures/providers and examples/"
cargo run -q -p tollgate-core --features fuzzing --example fuzz_seeds -- fuzz/corpus "${targets[@]}"

say "building targets (nightly, sanitizer: $sanitizer)"
if ((${#targets[@]} == ${#ALL_TARGETS[@]})); then
    cargo +nightly fuzz build --sanitizer "$sanitizer" >&2
else
    for t in "${targets[@]}"; do
        cargo +nightly fuzz build --sanitizer "$sanitizer" "$t" >&2
    done
fi

logs=fuzz/artifacts/logs
mkdir -p "$logs"
rows=()
failures=()
for t in "${targets[@]}"; do
    say "fuzzing $t for ${seconds}s"
    log="$logs/$t.log"
    mkdir -p "fuzz/artifacts/$t"
    started=$SECONDS
    set +e
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    took=$((SECONDS - started))
    execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
    corpus="$(find "fuzz/corpus/$t" -type f | wc -l | tr -d ' ')"
    if ((rc == 0)); then
        result=ok
    else
        artifact="$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/^Test unit written to //' || true)"
        kind="$(basename "${artifact:-failure}" | cut -d- -f1)"
        result="${kind:-failure} (exit $rc)"
        failures+=("$t: ${artifact:-no input saved; see $log}")
        grep -m1 -A2 'panicked at' "$log" >&2 || tail -20 "$log" >&2
    fi
    rows+=("| $t | $took | ${execs:-?} | $corpus | $result |")
done

summary=fuzz/artifacts/summary.md
{
    echo "| target | seconds | executions | corpus files | result |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${rows[@]}"
} >"$summary"
echo
cat "$summary"
echo "(summary: $summary, logs: $logs/)"
if ((${#failures[@]})); then
    echo
    echo "FAILED: crashing inputs (replay with: cargo +nightly fuzz run <target> <input>):"
    printf '  %s\n' "${failures[@]}"
    exit 1
fi
