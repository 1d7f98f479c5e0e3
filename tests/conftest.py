"""Fixtures for the integration tests: mock providers and Envoy gateways.

    @pytest.fixture(scope="module")
    def stack(mock_factory, gateway_factory):
        m = mock_factory("m1")
        gw = gateway_factory(CONFIG.format(base=m.base_url), env={"MASTER_KEY": "sk-1"})
        return gw, m

The factories are module-scoped so module fixtures can share one Envoy; what
they start is stopped at the end of the module (SIGTERM, SIGKILL after 5 s).
`mock` is per test. When a test fails, the log tails of every mock and Envoy
still running are added to its report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

import harness


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        for proc in harness.LIVE:
            report.sections.append((proc.describe(), proc.log_tail()))
    return report


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    """Paths of everything the tests run; fails (never skips) if one is missing."""
    return {
        "cli": harness.require(harness.CLI, "tollgate CLI"),
        "mock": harness.require(harness.MOCK, "tollgate-mock"),
        "wasm": harness.require(harness.WASM, "filter wasm"),
        "envoy": harness.envoy_binary(),
    }


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """free_port() -> a TCP port free on 127.0.0.1 right now."""
    return harness.free_port


def _workdir(request, tmp_path_factory, kind: str) -> Path:
    return tmp_path_factory.mktemp(f"{kind}-{request.node.name}"[:60], numbered=True)


@pytest.fixture(scope="module")
def mock_factory(request, tmp_path_factory) -> Iterator[Callable[..., harness.Mock]]:
    """mock_factory(name="mock") -> Mock with .base_url/.url, .port, .requests(),
    .clear(), .script(*scripts), .set_default(script | None), .log(), .stop()."""
    base = _workdir(request, tmp_path_factory, "mocks")
    started: list[harness.Mock] = []

    def start(name: str = "mock") -> harness.Mock:
        m = harness.start_mock(name, base / f"{len(started)}-{name}")
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture
def mock(mock_factory) -> Iterator[harness.Mock]:
    """One mock provider named "mock" for this test (answers start with "[mock] ")."""
    m = mock_factory("mock")
    yield m
    m.stop()


@pytest.fixture(scope="module")
def gateway_factory(request, tmp_path_factory) -> Iterator[Callable[..., harness.Gateway]]:
    """gateway_factory(config_text, env=None) -> Gateway with .url, .admin_url,
    .port, .admin_port, .log(), .log_tail(), .admin(path), .openai_client(key),
    .stop().

    env is added to this process's environment for both `tollgate render` and
    Envoy (the values of os.environ/ refs in the config); log_level is Envoy's -l."""
    base = _workdir(request, tmp_path_factory, "gateways")
    started: list[harness.Gateway] = []

    def start(config_text: str, env: dict | None = None,
              log_level: str | None = None) -> harness.Gateway:
        gw = harness.start_gateway(config_text, env, base / str(len(started)),
                                   log_level=log_level)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()
