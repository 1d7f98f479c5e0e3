"""Rendering and schema-checking deployment manifests (`tollgate render --target
k8s|istio`) for tests/test_deploy.py.

Kubernetes objects are checked with the PyPI package kubernetes-validate (offline
JSON schemas per Kubernetes release, strict: unknown fields are errors). Istio
resources are checked against the openAPIV3Schema of their CRD in
fixtures/schemas/istio-crds.gen.yaml, made strict the same way: the API server
would silently prune an unknown field, so a typo would otherwise pass unnoticed.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

import harness

CRDS = harness.ROOT / "fixtures" / "schemas" / "istio-crds.gen.yaml"


def render_target(config_text: str, target: str, *args: str,
                  env: dict | None = None) -> tuple[int, str, str]:
    """`tollgate render CONFIG --target TARGET ARGS...` -> (returncode, stdout, stderr)."""
    return harness.render(config_text, "--target", target, *args, env=env, port=None)


def documents(text: str) -> list[dict]:
    """The documents of a multi-document YAML stream (comments and empty ones dropped)."""
    return [d for d in yaml.safe_load_all(text) if d is not None]


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    """The first document of that kind (and name)."""
    for d in docs:
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name):
            return d
    raise AssertionError(f"no {kind} {name or ''} among {[d['kind'] for d in docs]}")


# ------------------------------------------------------------------ Kubernetes


def k8s_versions() -> list[str]:
    """The oldest and the newest Kubernetes release kubernetes-validate ships."""
    versions = sorted(set(kubernetes_validate.utils.all_versions()),
                      key=lambda v: tuple(int(x) for x in v.split(".")))
    return [versions[0], versions[-1]]


def validate_k8s(doc: dict, version: str) -> None:
    """Raises kubernetes_validate.ValidationError when doc is not a valid object."""
    kubernetes_validate.validate(doc, version, strict=True)


# ----------------------------------------------------------------------- Istio


def _strict(schema: Any) -> Any:
    """Refuses properties a structural schema does not declare, except where the CRD
    preserves unknown fields (e.g. EnvoyFilter patch values, WasmPlugin pluginConfig)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) if k in ("items", "not", "oneOf", "anyOf", "allOf") else v
           for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if (not schema.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in schema):
            out["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(schema["additionalProperties"])
    return out


@functools.cache
def istio_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON schema of the whole object, served versions only."""
    out = {}
    for crd in yaml.safe_load_all(CRDS.read_text()):
        if not crd:
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            if not v.get("served"):
                continue
            schema = copy.deepcopy(v["schema"]["openAPIV3Schema"])
            schema["properties"].update({
                "apiVersion": {"type": "string", "enum": [f"{group}/{v['name']}"]},
                "kind": {"type": "string", "enum": [kind]},
                "metadata": {"type": "object"},
            })
            schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
            out[(f"{group}/{v['name']}", kind)] = _strict(schema)
    return out


def validate_istio(doc: dict) -> None:
    """Raises jsonschema.ValidationError when doc does not match its CRD's schema, and
    AssertionError for the CRD's CEL rules that apply to rendered resources (jsonschema
    does not evaluate x-kubernetes-validations)."""
    key = (doc["apiVersion"], doc["kind"])
    schemas = istio_schemas()
    assert key in schemas, f"{key} is not a served Istio version/kind"
    jsonschema.Draft7Validator(schemas[key]).validate(doc)
    _cel_rules(doc)


def _cel_rules(doc: dict) -> None:
    spec, kind = doc["spec"], doc["kind"]
    if kind == "WasmPlugin":
        assert spec["url"].split("://")[0] in ("oci", "http", "https", "file"), spec["url"]
        assert sum(k in spec for k in ("selector", "targetRef", "targetRefs")) <= 1
        for e in spec.get("vmConfig", {}).get("env", []):
            assert e.get("valueFrom", "INLINE") == "INLINE" or "value" not in e, e
        labels = spec.get("selector", {}).get("matchLabels", {})
    elif kind == "EnvoyFilter":
        assert not ("workloadSelector" in spec and "targetRefs" in spec)
        labels = spec.get("workloadSelector", {}).get("labels", {})
    else:
        labels = {}
    assert all("*" not in k and "*" not in v and k for k, v in labels.items()), labels
    if kind == "ServiceEntry":
        numbers = [p["number"] for p in spec["ports"]]
        assert all(0 < n <= 65535 for n in numbers) and len(set(numbers)) == len(numbers)
        assert "*" not in spec["hosts"]
        resolution = spec.get("resolution", "NONE")
        assert resolution != "NONE" or "endpoints" not in spec
        assert resolution != "DNS_ROUND_ROBIN" or len(spec.get("endpoints", [])) <= 1


def strictness_probe() -> tuple[dict, dict]:
    """A ServiceEntry with a misspelt field, and the same without it."""
    good = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": "x"},
            "spec": {"hosts": ["a.example"], "resolution": "DNS",
                     "ports": [{"number": 443, "name": "http-443", "protocol": "HTTP"}]}}
    bad = copy.deepcopy(good)
    bad["spec"]["resoluton"] = "DNS"
    return good, bad


def bootstrap_from_config_map(docs: list[dict]) -> dict:
    """The Envoy bootstrap inside the rendered ConfigMap."""
    return yaml.safe_load(find(docs, "ConfigMap")["data"]["envoy.yaml"])


def write_yaml(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
