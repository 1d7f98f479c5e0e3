"""A changed config.yaml reaches a running Envoy without a restart and without
dropping in-flight requests (render --dynamic: CDS and ECDS from watched files)."""
import json
import os
import subprocess
import threading
import time

import httpx

import harness

MASTER = "sk-reload-master"


def config(*deployments):
    items = "".join(
        f'  - model_name: {name}\n    litellm_params: {{model: openai/{name}, api_base: "{m.base_url}/v1"}}\n'
        for name, m in deployments)
    return f"model_list:\n{items}general_settings: {{master_key: os.environ/MASTER}}\n"


def test_reload_applies_new_config_live(mock_factory, tmp_path):
    one, two = mock_factory("one"), mock_factory("two")
    cfg = tmp_path / "config.yaml"
    run = tmp_path / "run"
    port, admin = harness.free_port(), harness.free_port()
    env = {**os.environ, "MASTER": MASTER}

    def render():
        r = subprocess.run([str(harness.CLI), "render", str(cfg), "--port", str(port),
                            "--admin-port", str(admin), "--listen", "127.0.0.1",
                            "--wasm", str(harness.WASM), "--dynamic", str(run),
                            "-o", str(run / "envoy.yaml")],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    cfg.write_text(config(("a", one)))
    render()
    log = open(tmp_path / "envoy.log", "wb")
    envoy = subprocess.Popen([str(harness.envoy_binary()), "-c", str(run / "envoy.yaml"),
                              "--disable-hot-restart", "--concurrency", "2", "-l", "warning"],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        h = {"authorization": f"Bearer {MASTER}"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

        def chat(model, headers=None, **kw):
            return httpx.post(url + "/v1/chat/completions", timeout=30, headers={**h, **(headers or {})},
                              json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, **kw)

        key = httpx.post(url + "/key/generate", json={"key_alias": "survivor"}, headers=h).json()["key"]
        assert chat("a").status_code == 200
        assert chat("b").status_code == 404
        slow = {}
        t = threading.Thread(target=lambda: slow.update(r=chat("a", {"x-mock-script": json.dumps({"delay_ms": 2500})})))
        t.start()
        time.sleep(0.3)

        cfg.write_text(config(("a", one), ("b", two)))
        render()
        deadline = time.monotonic() + 10
        while chat("b").status_code != 200:
            assert time.monotonic() < deadline, "new config never applied"
            time.sleep(0.2)
        r = chat("b")
        assert r.headers["x-mock-name"] == "two"
        t.join()
        assert slow["r"].status_code == 200, "in-flight request was dropped by the reload"
        # Shared data outlives the filter config: keys made before still work.
        assert httpx.post(url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                          json={"model": "b", "messages": [{"role": "user", "content": "x"}]}).status_code == 200
        assert envoy.poll() is None
    finally:
        harness.stop_process(envoy)
        log.close()


def test_new_vm_keeps_keys_and_counters(mock_factory, tmp_path):
    """A reload that changes the VM (its environment list) replaces the wasm VM; keys
    and rate-limit counters live in shared data and survive it. (A VM that fails is
    replaced the same way under failure_policy FAIL_RELOAD.)"""
    one = mock_factory("vm")
    cfg = tmp_path / "config.yaml"
    run = tmp_path / "run"
    port, admin = harness.free_port(), harness.free_port()
    env = {**os.environ, "MASTER": MASTER, "EXTRA_KEY": "sk-extra-provider"}

    def write(extra):
        key_line = "\n      api_key: os.environ/EXTRA_KEY" if extra else ""
        cfg.write_text(
            "model_list:\n  - model_name: a\n    litellm_params:\n"
            f'      model: openai/a\n      api_base: "{one.base_url}/v1"{key_line}\n'
            "general_settings: {master_key: os.environ/MASTER}\n")
        r = subprocess.run([str(harness.CLI), "render", str(cfg), "--port", str(port),
                            "--admin-port", str(admin), "--listen", "127.0.0.1",
                            "--wasm", str(harness.WASM), "--dynamic", str(run),
                            "-o", str(run / "envoy.yaml")],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    write(False)
    log = open(tmp_path / "envoy.log", "wb")
    envoy = subprocess.Popen([str(harness.envoy_binary()), "-c", str(run / "envoy.yaml"),
                              "--disable-hot-restart", "--concurrency", "1", "-l", "warning"],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        h = {"authorization": f"Bearer {MASTER}"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if time.time() % 60 > 40:
            time.sleep(61 - time.time() % 60)
        key = httpx.post(url + "/key/generate", json={"rpm_limit": 6}, headers=h).json()["key"]

        def chat():
            return httpx.post(url + "/v1/chat/completions", timeout=30,
                              headers={"authorization": f"Bearer {key}"},
                              json={"model": "a", "messages": [{"role": "user", "content": "x"}]})

        admitted = sum(chat().status_code == 200 for _ in range(2))
        assert admitted == 2
        one.clear()
        write(True)
        # The new VM is in place once the provider key it now forwards reaches the mock.
        deadline = time.monotonic() + 10
        while True:
            admitted += chat().status_code == 200
            seen = one.requests()
            if seen and seen[-1]["headers"].get("authorization") == "Bearer sk-extra-provider":
                break
            assert admitted < 6, "rpm window used up before the new VM was seen"
            assert time.monotonic() < deadline, "new VM never took over"
            time.sleep(0.2)
        # The key survived, and so did its rpm window: the new VM admits only what is left.
        while chat().status_code == 200:
            admitted += 1
            assert admitted <= 6, "rpm counter was reset by the new VM"
        assert admitted == 6
        assert envoy.poll() is None
    finally:
        harness.stop_process(envoy)
        log.close()
