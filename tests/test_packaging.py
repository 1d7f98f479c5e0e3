"""scripts/package-wasm.sh: the OCI image layout it writes (see docs/oci.md)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

import harness

SCRIPT = harness.ROOT / "scripts" / "package-wasm.sh"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.module.wasm.config.v1+json"
WASM_LAYER_TYPE = "application/vnd.module.wasm.content.layer.v1+wasm"


def package(out: Path, *args: str) -> str:
    """Runs the script into `out`; returns its stdout (the manifest digest)."""
    p = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(out), *args],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, f"package-wasm.sh failed ({p.returncode}):\n{p.stderr}{p.stdout}"
    return p.stdout.strip()


def read_blob(layout: Path, descriptor: dict) -> bytes:
    """The blob a descriptor names, after checking its digest and size."""
    algo, _, hexdigest = descriptor["digest"].partition(":")
    assert algo == "sha256"
    data = (layout / "blobs" / "sha256" / hexdigest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hexdigest
    assert len(data) == descriptor["size"]
    return data


def crate_version() -> str:
    text = (harness.ROOT / "Cargo.toml").read_text()
    section = text.split("[workspace.package]", 1)[1]
    return re.search(r'^version\s*=\s*"([^"]+)"', section, re.M).group(1)


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("oci") / "tollgate-wasm"
    digest = package(out)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    return out


@pytest.fixture(scope="module")
def manifest(layout) -> dict:
    index = json.loads((layout / "index.json").read_text())
    (descriptor,) = index["manifests"]
    assert descriptor["mediaType"] == MANIFEST_TYPE
    return json.loads(read_blob(layout, descriptor))


def test_layout_files(layout):
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    (descriptor,) = index["manifests"]
    # oras resolves DIR:TAG through this annotation; the tag defaults to the version.
    assert descriptor["annotations"] == {"org.opencontainers.image.ref.name": crate_version()}


def test_manifest(layout, manifest):
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == MANIFEST_TYPE
    assert manifest["annotations"] == {
        "org.opencontainers.image.title": "tollgate.wasm",
        "org.opencontainers.image.version": crate_version(),
    }
    assert manifest["config"]["mediaType"] == CONFIG_TYPE
    runtime = json.loads(read_blob(layout, manifest["config"]))
    assert runtime == {
        "type": "envoy_proxy",
        "abiVersions": ["proxy_abi_version_0_2_1"],
        "config": {"root_ids": ["tollgate"]},
    }


def test_wasm_layer_is_the_built_module(layout, manifest):
    wasm = harness.require(harness.WASM, "filter wasm").read_bytes()
    (layer,) = [l for l in manifest["layers"] if l["mediaType"] == WASM_LAYER_TYPE]
    assert layer["digest"] == "sha256:" + hashlib.sha256(wasm).hexdigest()
    assert layer["size"] == len(wasm)
    assert read_blob(layout, layer) == wasm
    assert layer["annotations"] == {"org.opencontainers.image.title": "tollgate.wasm"}


def test_istio_oci_variant_rules(layout, manifest):
    # Istio's / Envoy Gateway's loader takes an artifact only with exactly two
    # layers, one of them the raw module; the other is the runtime config.
    layers = manifest["layers"]
    assert [l["mediaType"] for l in layers] == [CONFIG_TYPE, WASM_LAYER_TYPE]
    assert layers[0]["digest"] == manifest["config"]["digest"]
    assert layers[0]["annotations"] == {"org.opencontainers.image.title": "runtime-config.json"}
    assert read_blob(layout, layers[0]) == read_blob(layout, manifest["config"])


def test_no_stray_blobs(layout, manifest):
    index = json.loads((layout / "index.json").read_text())
    named = {index["manifests"][0]["digest"], manifest["config"]["digest"],
             *(l["digest"] for l in manifest["layers"])}
    on_disk = {"sha256:" + p.name for p in (layout / "blobs" / "sha256").iterdir()}
    assert on_disk == named


def test_deterministic(tmp_path, layout):
    first = {p.relative_to(layout): p.read_bytes() for p in layout.rglob("*") if p.is_file()}
    again = tmp_path / "again"
    package(again)
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert second == first


def test_tag_option_changes_only_the_index(tmp_path, layout):
    out = tmp_path / "tagged"
    package(out, "--tag", "edge")
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "edge"}
    assert sorted(p.name for p in (out / "blobs" / "sha256").iterdir()) == \
        sorted(p.name for p in (layout / "blobs" / "sha256").iterdir())


def test_refuses_to_overwrite_a_foreign_directory(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    p = subprocess.run(
        ["bash", str(SCRIPT), "--out", str(tmp_path), "--wasm", str(harness.WASM)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert p.returncode != 0
    assert "not an OCI layout" in p.stderr
    assert keep.read_text() == "mine"
