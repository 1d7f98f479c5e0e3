#!/usr/bin/env bash
# Packages the filter as an OCI image layout (Wasm "oci" variant that Istio's
# WasmPlugin and Envoy Gateway load), ready for `oras copy`. See docs/oci.md.
#   scripts/package-wasm.sh [--out DIR] [--tag TAG] [--wasm FILE]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="$TOLLGATE_TARGET/oci/tollgate-wasm"
tag=""
wasm=""
while (($#)); do
    case "$1" in
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
        --wasm) wasm="${2:?--wasm needs a file}"; shift 2 ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
# Relative paths are the caller's, and the build below runs from the repo root.
out="$(realpath -m -- "$out")"
[[ -z "$wasm" ]] || wasm="$(realpath -m -- "$wasm")"

# Never wipe a directory that is not a layout we wrote.
if [[ -e "$out" && ! -f "$out/oci-layout" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
    die "$out exists and is not an OCI layout; pick another --out"
fi

command -v python3 >/dev/null || die "python3 not found"
command -v cargo >/dev/null || die "cargo not found: it builds the wasm and reports the version"
cd "$TOLLGATE_ROOT"
if [[ -z "$wasm" ]]; then
    # cargo rebuilds only what changed, so the package never holds a stale module.
    say "building the filter (release, wasm32-wasip1)"
    cargo build --release -p tollgate-wasm --target wasm32-wasip1 >&2
    wasm="$TOLLGATE_WASM"
fi
[[ -f "$wasm" ]] || die "$wasm not found"
version="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tollgate-wasm"))')"
tag="${tag:-$version}"

rm -rf "$out"
mkdir -p "$out"

python3 - "$wasm" "$out" "$tag" "$version" <<'PY'
import hashlib, json, re, sys
from pathlib import Path

wasm_path, out, tag, version = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
blobs = out / "blobs" / "sha256"
blobs.mkdir(parents=True)

def blob(media_type, data, annotations=None):
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    d = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
    if annotations:
        d["annotations"] = annotations
    return d

def dump(obj):
    # Sorted keys and fixed separators: the same input always gives the same bytes.
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

wasm = Path(wasm_path).read_bytes()
if wasm[:4] != b"\0asm":
    sys.exit(f"error: {wasm_path} is not a wasm module")
# The solo.io runtime config Istio's "oci" variant expects; the ABI is read from
# the module's exports so it cannot drift from the SDK in use.
abis = sorted({m.decode() for m in re.findall(rb"proxy_abi_version_\d+_\d+_\d+", wasm)})
runtime = dump({"type": "envoy_proxy", "abiVersions": abis, "config": {"root_ids": ["tollgate"]}})

config = blob("application/vnd.module.wasm.config.v1+json", runtime)
# Istio and Envoy Gateway take the "oci" variant only with exactly two layers:
# the runtime config and the module (pkg/wasm/imagefetcher.go).
layers = [
    blob("application/vnd.module.wasm.config.v1+json", runtime,
         {"org.opencontainers.image.title": "runtime-config.json"}),
    blob("application/vnd.module.wasm.content.layer.v1+wasm", wasm,
         {"org.opencontainers.image.title": "tollgate.wasm"}),
]
manifest = blob("application/vnd.oci.image.manifest.v1+json", dump({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config,
    "layers": layers,
    "annotations": {
        "org.opencontainers.image.title": "tollgate.wasm",
        "org.opencontainers.image.version": version,
    },
}), {"org.opencontainers.image.ref.name": tag})
(out / "oci-layout").write_bytes(dump({"imageLayoutVersion": "1.0.0"}))
(out / "index.json").write_bytes(dump({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [manifest],
}))
print(manifest["digest"])
PY

cat >&2 <<EOF
==> wrote $out (tag $tag)
push it (oras >= 1.0) with the digests above unchanged:
  oras copy --from-oci-layout $out:$tag REGISTRY/tollgate-wasm:$tag
or as a FROM scratch image holding /plugin.wasm:
  docker build -f deploy/Dockerfile --target wasm-image -t REGISTRY/tollgate-wasm:$tag . && docker push REGISTRY/tollgate-wasm:$tag
EOF
