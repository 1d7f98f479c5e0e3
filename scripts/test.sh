#!/usr/bin/env bash
# Runs every check CI runs, in order, and stops at the first failure.
# Usage: scripts/test.sh [pytest args...]   (from any directory)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TOLLGATE_ROOT"

started=$SECONDS
steps=()

# step NAME CMD...: runs CMD, and on failure names the step and exits with its code.
# CMD runs in a subshell with errexit on: under `cmd || ...` bash would ignore
# errexit inside shell functions such as ensure_venv and carry on after errors.
step() {
    local name=$1 rc
    shift
    say "$name"
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if ((rc != 0)); then
        printf '\nFAILED: %s (exit %d): %s\n' "$name" "$rc" "$*" >&2
        exit "$rc"
    fi
    steps+=("$name")
}

step "rust toolchain" ensure_rust
step "python venv" ensure_venv
# tests/test_ui.py drives the dashboard in headless Chromium (and fails without it).
step "chromium" ensure_chromium
# tests/test_bench_script.py runs a short benchmark with wrk.
step "wrk" ensure_wrk
ENVOY="$(envoy_path)"
[[ -x "$ENVOY" ]] || die "Envoy binary not found at '$ENVOY'"

step "cargo fmt" cargo fmt --all -- --check
step "clippy (host)" cargo clippy --workspace --all-targets -- -D warnings
# The fuzz harness (tollgate_core::fuzzing, the fuzz_seeds example) is behind a
# feature; lint it too so fuzz/ keeps building. scripts/fuzz.sh runs the fuzzers.
step "clippy (fuzzing harness)" \
    cargo clippy -p tollgate-core --features fuzzing --all-targets -- -D warnings
step "clippy (wasm32-wasip1)" \
    cargo clippy -p tollgate-wasm -p tollgate-core -p tollgate-bench-floor --target wasm32-wasip1 -- -D warnings
# Release builds come before cargo test: the CLI's Envoy check loads the built
# filter module, and on a fresh checkout nothing else has built it yet.
step "release builds" build_all
# TOLLGATE_ENVOY lets the CLI's tests check rendered bootstraps with the real Envoy.
step "cargo test" env TOLLGATE_ENVOY="$ENVOY" cargo test --workspace
step "pytest" "$TOLLGATE_VENV/bin/python" -m pytest tests -q "$@"
# A short bounded libFuzzer pass over every target (skipped without a nightly
# toolchain); scripts/fuzz.sh --seconds 600 for a real campaign.
step "fuzz (15 s per target)" bash "$TOLLGATE_ROOT/scripts/fuzz.sh" --seconds "${TOLLGATE_FUZZ_SECONDS:-15}"

summary="$(printf '%s, ' "${steps[@]}")"
printf '\nall %d steps passed in %ds: %s\n' "${#steps[@]}" "$((SECONDS - started))" "${summary%, }"
