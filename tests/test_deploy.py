"""Deployment manifests end to end: `tollgate render --target k8s|istio` checked against
Kubernetes' and Istio's schemas, for secrets and determinism, and run in a real Envoy
(the Kubernetes bootstrap as the pod runs it; the Istio filter and routes as a gateway
would run them once istiod and istio-agent have delivered them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import jsonschema
import pytest

import harness
import manifests as m

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "OPENAI_API_KEY": "sk-deploy-secret-openai",
    "ANTHROPIC_API_KEY": "sk-deploy-secret-anthropic",
    "ALT_KEY": "sk-deploy-secret-alt",
    "TOLLGATE_MASTER_KEY": "sk-deploy-secret-master",
}
# Every kind of upstream: provider defaults (https), a variable api_base, a Kubernetes
# Service, an IP literal, https on a non-default port.
CONFIG = """
# comment
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4, api_key: os.environ/ANTHROPIC_API_KEY}
  - model_name: local
    litellm_params: {model: openai/llama, api_base: os.environ/TOLLGATE_MOCK_BASE}
  - model_name: vllm
    litellm_params: {model: openai/llama, api_base: "http://vllm.ml.svc:8000/v1"}
  - model_name: alt
    litellm_params: {model: openai/x, api_base: "https://llm.example.com:8443/v1", api_key: os.environ/ALT_KEY}
general_settings: {master_key: os.environ/TOLLGATE_MASTER_KEY}
"""
ENV = {**SECRETS, "TOLLGATE_MOCK_BASE": "http://127.0.0.1:9/v1"}
# The filter answers with a body, so the mock-backed config below proves requests flow.
MOCK_CONFIG = """
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: os.environ/TOLLGATE_MOCK_BASE}
general_settings: {master_key: os.environ/TOLLGATE_MASTER_KEY}
"""
TARGETS = [("k8s",), ("istio",), ("istio", "--plugin", "wasmplugin")]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))


def rendered(config: str, *target: str, env: dict = ENV) -> list[dict]:
    rc, out, err = m.render_target(config, *target, env=env)
    assert rc == 0, err
    return m.documents(out)


@pytest.mark.parametrize("version", m.k8s_versions())
@pytest.mark.parametrize("example", ["rich", *EXAMPLES])
def test_k8s_manifests_validate_against_kubernetes_schemas(example, version):
    config = CONFIG if example == "rich" else (ROOT / "examples" / example).read_text()
    docs = rendered(config, "k8s", "--namespace", "llm", "--replicas", "3")
    assert [d["kind"] for d in docs] == [
        "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]
    for doc in docs:
        m.validate_k8s(doc, version)


@pytest.mark.parametrize("version", m.k8s_versions())
def test_secret_templates_validate(tmp_path, version):
    for target in TARGETS:
        out = tmp_path / f"{'-'.join(target)}.yaml"
        rc, _, err = m.render_target(CONFIG, *target, "--secret-template", str(out), env=ENV)
        assert rc == 0, err
        [secret] = m.documents(out.read_text())
        m.validate_k8s(secret, version)
        assert secret["stringData"] == dict.fromkeys(sorted(SECRETS), "")


@pytest.mark.parametrize("target", TARGETS[1:], ids=["envoyfilter", "wasmplugin"])
@pytest.mark.parametrize("example", ["rich", *EXAMPLES])
def test_istio_resources_validate_against_crd_schemas(example, target):
    config = CONFIG if example == "rich" else (ROOT / "examples" / example).read_text()
    docs = rendered(config, *target)
    kinds = {d["kind"] for d in docs}
    assert {"EnvoyFilter", "ServiceEntry"} <= kinds
    for doc in docs:
        if doc["apiVersion"] == "v1":
            # The metrics' stats_tags bootstrap fragment (docs/metrics.md).
            assert doc["kind"] == "ConfigMap" and "custom_bootstrap.json" in doc["data"]
            for version in m.k8s_versions():
                m.validate_k8s(doc, version)
            continue
        m.validate_istio(doc)


def test_istio_schema_check_refuses_unknown_fields():
    good, bad = m.strictness_probe()
    m.validate_istio(good)
    with pytest.raises(jsonschema.ValidationError, match="resoluton"):
        m.validate_istio(bad)


@pytest.mark.parametrize("target", TARGETS, ids=["k8s", "istio", "wasmplugin"])
def test_no_secret_value_reaches_any_output(tmp_path, target):
    out, template = tmp_path / "out.yaml", tmp_path / "secret.yaml"
    rc, stdout, stderr = m.render_target(
        CONFIG, *target, "-o", str(out), "--secret-template", str(template), env=ENV)
    assert rc == 0, stderr
    texts = [stdout, stderr, out.read_text(), template.read_text()]
    for secret in SECRETS.values():
        assert not any(secret in t for t in texts), f"{secret} leaked"
    # References stay references; only api_base values (no credentials) are written.
    assert "os.environ/OPENAI_API_KEY" in texts[2]
    assert ENV["TOLLGATE_MOCK_BASE"] in texts[2]


@pytest.mark.parametrize("target", TARGETS, ids=["k8s", "istio", "wasmplugin"])
def test_output_is_deterministic(target):
    # harness.render writes the config into a new temporary directory each time, so
    # this also shows the output does not depend on where the config lives.
    first = m.render_target(CONFIG, *target, env=ENV)
    second = m.render_target(CONFIG, *target, env=ENV)
    assert first[0] == 0, first[2]
    assert first == second


# ------------------------------------------------------------- Envoy, for real


def local_k8s_bootstrap(docs: list[dict], tmp_path: Path) -> tuple[Path, dict]:
    """The ConfigMap's bootstrap with the module path and ports made local."""
    b = m.bootstrap_from_config_map(docs)
    ports = {"http": harness.free_port(), "stats": harness.free_port(),
             "admin": harness.free_port()}
    b["admin"]["address"]["socket_address"].update(address="127.0.0.1",
                                                   port_value=ports["admin"])
    main, stats = b["static_resources"]["listeners"]
    for listener, port in ((main, ports["http"]), (stats, ports["stats"])):
        listener["address"]["socket_address"].update(address="127.0.0.1", port_value=port)
    wasm = main["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]
    code = wasm["typed_config"]["config"]["vm_config"]["code"]["local"]
    assert code["filename"] == "/etc/tollgate/wasm/tollgate.wasm"
    code["filename"] = str(harness.require(harness.WASM, "filter wasm"))
    admin = next(c for c in b["static_resources"]["clusters"] if c["name"] == "tollgate_admin")
    endpoint = admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    endpoint["address"]["socket_address"]["port_value"] = ports["admin"]
    return m.write_yaml(tmp_path / "envoy.yaml", b), ports


def pod_env(deployment: dict, secret: dict) -> dict:
    """The environment the Deployment gives Envoy, its Secret holding `secret`."""
    env = {"PATH": "/usr/bin:/bin"}
    for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        env[e["name"]] = secret[ref["key"]] if ref else e["value"]
    return env


def test_k8s_bootstrap_passes_envoy_validate(tmp_path):
    docs = rendered(CONFIG, "k8s")
    path, _ = local_k8s_bootstrap(docs, tmp_path)
    proc = subprocess.run(
        [str(harness.envoy_binary()), "--mode", "validate", "-c", str(path)],
        env=pod_env(m.find(docs, "Deployment"), SECRETS),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_k8s_bootstrap_runs_like_the_pod(mock_factory, tmp_path):
    mock = mock_factory("k8s")
    env = {**SECRETS, "TOLLGATE_MOCK_BASE": f"{mock.base_url}/v1"}
    docs = rendered(MOCK_CONFIG, "k8s", env=env)
    deployment = m.find(docs, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    path, ports = local_k8s_bootstrap(docs, tmp_path)
    # The container's own flags after `envoy -c FILE`.
    assert container["command"][:3] == ["envoy", "-c", "/etc/tollgate/envoy.yaml"]
    envoy = harness.EnvoyProcess(path, pod_env(deployment, SECRETS), tmp_path, ports["http"],
                                 ports["admin"], flags=container["command"][3:])
    try:
        url, http = envoy.url, harness.http
        for probe in ("readinessProbe", "livenessProbe"):
            r = http.get(url + container[probe]["httpGet"]["path"])
            assert r.status_code == 200, (probe, r.text)
        r = http.post(url + "/v1/chat/completions",
                      headers={"authorization": f"Bearer {SECRETS['TOLLGATE_MASTER_KEY']}"},
                      json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"].startswith(f"[{mock.name}]")

        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        stats = f"http://127.0.0.1:{ports['stats']}"
        r = http.get(stats + annotations["prometheus.io/path"])
        assert r.status_code == 200 and "envoy_cluster_upstream_rq" in r.text
        for path_ in ("/ready", "/quitquitquit", "/config_dump"):
            assert http.get(stats + path_).status_code == 404, path_
        # A client naming the admin cluster does not reach admin through the main listener.
        r = http.get(url + "/stats", headers={"x-tollgate-cluster": "tollgate_admin"})
        assert r.status_code == 404 and "envoy_" not in r.text

        # preStop, with the local admin port and without its long sleep: Envoy starts
        # draining, so keep-alive clients are told to go elsewhere.
        hook = container["lifecycle"]["preStop"]["exec"]["command"]
        script = hook[2].replace("127.0.0.1/9901", f"127.0.0.1/{ports['admin']}")
        script = script.rsplit("; sleep", 1)[0] + "; sleep 0"
        done = subprocess.run([*hook[:2], script], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        r = http.get(url + "/health/readiness")
        assert r.headers.get("connection") == "close", dict(r.headers)
        assert "panic" not in envoy.log().lower()
    finally:
        envoy.stop()


def istio_gateway_bootstrap(docs: list[dict], tmp_path: Path, mock_port: int) -> tuple[Path, dict]:
    """An Envoy bootstrap shaped like an Istio gateway's once the rendered EnvoyFilters
    are applied: the gateway's own catch-all virtual host, the added upstreams virtual
    host, the extension config as the HTTP filter (with the module already fetched,
    as istio-agent leaves it), and Istio's cluster for the mock."""
    plugin = m.find(docs, "EnvoyFilter", "tollgate")["spec"]["configPatches"]
    ext = plugin[0]["patch"]["value"]
    assert plugin[1]["patch"]["value"]["name"] == ext["name"]
    vm = ext["typed_config"]["config"]["vm_config"]
    assert vm["code"]["remote"]["http_uri"]["uri"].startswith("oci://")
    vm["code"] = {"local": {"filename": str(harness.require(harness.WASM, "filter wasm"))}}
    upstreams = m.find(docs, "EnvoyFilter", "tollgate-upstreams")
    vhost = upstreams["spec"]["configPatches"][0]["patch"]["value"]
    cluster = vhost["routes"][0]["route"]["cluster"]
    assert cluster == f"outbound|{mock_port}||ip-127-0-0-1.tollgate.internal"
    ports = {"http": harness.free_port(), "admin": harness.free_port()}
    sock = lambda port: {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                 "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "gateway",
        "route_config": {"name": "http.8080", "virtual_hosts": [
            {"name": "*:80", "domains": ["*"],
             "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 418}}]},
            vhost]},
        "http_filters": [
            {"name": ext["name"], "typed_config": ext["typed_config"]},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }
    listener = {"name": "0.0.0.0_8080", "address": sock(ports["http"]),
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm}]}]}
    listener.update(plugin[2]["patch"]["value"])  # the LISTENER MERGE patch
    bootstrap = {
        "admin": {"address": sock(ports["admin"])},
        "static_resources": {"listeners": [listener], "clusters": [{
            "name": cluster, "type": "STATIC", "connect_timeout": "5s",
            "load_assignment": {"cluster_name": cluster, "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": sock(mock_port)}}]}]}}]},
    }
    return m.write_yaml(tmp_path / "gateway.yaml", bootstrap), ports


def test_istio_filter_and_routes_serve_in_envoy(mock_factory, tmp_path):
    mock = mock_factory("istio")
    env = {**SECRETS, "TOLLGATE_MOCK_BASE": f"{mock.base_url}/v1"}
    docs = rendered(MOCK_CONFIG, "istio", env=env)
    path, ports = istio_gateway_bootstrap(docs, tmp_path, mock.port)
    # The gateway container's environment: the Secret's variables (host_env_keys).
    envoy = harness.EnvoyProcess(path, {"PATH": "/usr/bin:/bin", **SECRETS}, tmp_path,
                                 ports["http"], ports["admin"])
    try:
        url, http = envoy.url, harness.http
        assert http.get(url + "/health/readiness").status_code == 200
        # A body-carrying request gets through only with allow_on_headers_stop_iteration.
        r = http.post(url + "/v1/chat/completions", timeout=15,
                      headers={"authorization": f"Bearer {SECRETS['TOLLGATE_MASTER_KEY']}"},
                      json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"].startswith(f"[{mock.name}]")
        assert mock.requests()[-1]["headers"].get("host") == f"127.0.0.1:{mock.port}"
        r = http.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []})
        assert r.status_code == 401
    finally:
        envoy.stop()


def test_istio_filter_without_the_flag_stalls(mock_factory, tmp_path):
    # Why the flag, and so the EnvoyFilter: the same config without it never reaches
    # the provider (the body callback never comes).
    mock = mock_factory("stall")
    env = {**SECRETS, "TOLLGATE_MOCK_BASE": f"{mock.base_url}/v1"}
    docs = rendered(MOCK_CONFIG, "istio", env=env)
    config = m.find(docs, "EnvoyFilter", "tollgate")["spec"]["configPatches"][0]["patch"][
        "value"]["typed_config"]["config"]
    config["allow_on_headers_stop_iteration"] = False
    path, ports = istio_gateway_bootstrap(docs, tmp_path, mock.port)
    envoy = harness.EnvoyProcess(path, {"PATH": "/usr/bin:/bin", **SECRETS}, tmp_path,
                                 ports["http"], ports["admin"])
    try:
        with pytest.raises(httpx.ReadTimeout):
            harness.http.post(
                envoy.url + "/v1/chat/completions", timeout=3,
                headers={"authorization": f"Bearer {SECRETS['TOLLGATE_MASTER_KEY']}"},
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert mock.requests() == []
    finally:
        envoy.stop()
