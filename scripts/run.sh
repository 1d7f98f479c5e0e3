#!/usr/bin/env bash
# Runs tollgate locally: builds, renders the config into an Envoy bootstrap under
# .run/<port>/ and runs Envoy in the foreground. Ctrl-C or SIGTERM stops Envoy
# and everything this script started.
#
# Usage: scripts/run.sh [--config FILE] [--port N] [--admin-port N]
#                       [--listen ADDR] [--log-level LEVEL]
#   --config      default examples/config.yaml; without OPENAI_API_KEY it is
#                 examples/config.offline.yaml served by a local tollgate-mock
#   --port        gateway port (default 4000)
#   --admin-port  Envoy admin port (default: a free port)
#   --listen      gateway address (default 127.0.0.1)
#   --log-level   Envoy log level (default info)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }

config="" port=4000 admin_port="" listen=127.0.0.1 log_level=info
while (($#)); do
    case $1 in
        --config) value "$@"; config=$2; shift 2 ;;
        --port) value "$@"; port=$2; shift 2 ;;
        --admin-port) value "$@"; admin_port=$2; shift 2 ;;
        --listen) value "$@"; listen=$2; shift 2 ;;
        --log-level | -l) value "$@"; log_level=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $port =~ ^[0-9]+$ ]] || die "--port must be a number"
[[ -z $admin_port || $admin_port =~ ^[0-9]+$ ]] || die "--admin-port must be a number"
# Resolve before anything else so a relative path means the caller's cwd.
if [[ -n $config ]]; then
    abs="$(realpath -e -- "$config" 2>/dev/null)" || die "config not found: $config"
    config=$abs
fi

ensure_rust
build_all
ensure_venv
ENVOY="$(envoy_path)"

# Fail fast with a clear message rather than Envoy's bind error after startup.
port_busy() { "$TOLLGATE_VENV/bin/python" -c \
    'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2])))' \
    "$1" "$2" 2>/dev/null && return 1 || return 0; }
port_busy "$listen" "$port" && die "port $port on $listen is in use (another run.sh? pick --port)"
if [[ -z $admin_port ]]; then
    admin_port="$(free_port)"
fi
port_busy 127.0.0.1 "$admin_port" && die "admin port $admin_port is in use"

run_dir="$TOLLGATE_ROOT/.run/$port"
mkdir -p "$run_dir"

# Everything started in the background is stopped on any exit: TERM first,
# KILL for whatever is still there after 5 s.
pids=()
# shellcheck disable=SC2317  # reached through the traps
cleanup() {
    trap - EXIT INT TERM
    ((${#pids[@]})) || return 0
    say "stopping (pids ${pids[*]})"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export TOLLGATE_MASTER_KEY="${TOLLGATE_MASTER_KEY:-sk-tollgate-dev}"

if [[ -z $config ]]; then
    if [[ -n ${OPENAI_API_KEY:-} ]]; then
        config="$TOLLGATE_ROOT/examples/config.yaml"
    else
        say "OPENAI_API_KEY is not set: serving examples/config.offline.yaml from tollgate-mock"
        config="$TOLLGATE_ROOT/examples/config.offline.yaml"
        "$TOLLGATE_MOCK" --host 127.0.0.1 --port 0 --name mock \
            >"$run_dir/mock.out" 2>"$run_dir/mock.log" &
        pids+=($!)
        # The mock prints `listening on http://HOST:PORT` first; port 0 lets the
        # kernel pick, so several run.sh instances never collide.
        line=""
        for _ in $(seq 100); do
            line="$(head -n1 "$run_dir/mock.out")"
            [[ $line == "listening on http://"* ]] && break
            kill -0 "${pids[-1]}" 2>/dev/null || die "tollgate-mock exited: $(cat "$run_dir/mock.log")"
            sleep 0.1
        done
        [[ $line == "listening on http://"* ]] || die "tollgate-mock did not report its port"
        export TOLLGATE_MOCK_BASE="${line#listening on }/v1"
        say "tollgate-mock at $TOLLGATE_MOCK_BASE (log: .run/$port/mock.log)"
    fi
fi
[[ -f $config ]] || die "config not found: $config"

# Rendering resolves os.environ/ refs too, so it sees the same environment Envoy gets.
say "rendering $config -> .run/$port/envoy.yaml"
# --dynamic: clusters and the filter config live in watched files under the run
# directory, so re-running this render line applies an edited config live.
render_cmd=("$TOLLGATE_CLI" render "$config" --port "$port" --admin-port "$admin_port"
    --listen "$listen" --admin-listen 127.0.0.1 --wasm "$TOLLGATE_WASM"
    --dynamic "$run_dir" -o "$run_dir/envoy.yaml")
"${render_cmd[@]}"

say "starting Envoy on $listen:$port (admin 127.0.0.1:$admin_port)"
# --disable-hot-restart: no shared-memory base id, so instances run side by side.
"$ENVOY" -c "$run_dir/envoy.yaml" --disable-hot-restart --file-flush-interval-msec 1000 -l "$log_level" &
envoy_pid=$!
pids+=("$envoy_pid")

probe_host=$listen
[[ $listen == 0.0.0.0 || $listen == "::" ]] && probe_host=127.0.0.1
if ! wait_envoy_ready "$admin_port" "$probe_host" "$port" "$envoy_pid" 60; then
    rc=0
    wait "$envoy_pid" || rc=$?
    die "Envoy did not become ready (exit $rc); see its log above"
fi

url="http://127.0.0.1:$port"
cat <<EOF

tollgate is ready on $url   (admin: http://127.0.0.1:$admin_port, master key: $TOLLGATE_MASTER_KEY)

  curl -s $url/v1/chat/completions -H "Authorization: Bearer $TOLLGATE_MASTER_KEY" -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'

  from openai import OpenAI
  client = OpenAI(base_url="$url/v1", api_key="$TOLLGATE_MASTER_KEY")
  print(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content)

After editing $config, apply it without a restart (in-flight requests finish
on the old config; keys, counters and spend are kept):

  $(printf '%q ' "${render_cmd[@]}")

Ctrl-C stops it.

EOF

# wait returns early when a trapped signal arrives; the traps then clean up.
rc=0
wait "$envoy_pid" || rc=$?
exit "$rc"
