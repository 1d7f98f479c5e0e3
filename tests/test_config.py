"""Config handling end to end: the CLI, the renderer and Envoy's own checks."""
import subprocess
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ENV = {
    "OPENAI_API_KEY": "sk-example-secret-openai",
    "ANTHROPIC_API_KEY": "sk-example-secret-anthropic",
    "GEMINI_API_KEY": "example-secret-gemini",
    "TOLLGATE_MASTER_KEY": "sk-example-master",
    "TOLLGATE_MOCK_BASE": "http://127.0.0.1:9/v1",
}


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_every_shipped_config_renders_and_passes_envoy_validate(example, tmp_path):
    out = tmp_path / "envoy.yaml"
    rc, _, err = harness.render((ROOT / "examples" / example).read_text(), "-o", str(out),
                                env=EXAMPLE_ENV)
    assert rc == 0, err
    text = out.read_text()
    for secret in ("sk-example-secret-openai", "sk-example-master", "example-secret-gemini"):
        assert secret not in text
    proc = subprocess.run(
        [str(harness.envoy_binary()), "--mode", "validate", "-c", str(out), "--disable-hot-restart"],
        env={**EXAMPLE_ENV, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_literal_secret_is_refused_by_render():
    cfg = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, api_key: sk-literal}\n"
    rc, out, err = harness.render(cfg)
    assert rc == 1
    assert "model_list[0].litellm_params.api_key" in err
    assert "sk-literal" not in out + err


def test_validate_names_the_field_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a, wieght: 1}\n")
    rc, _, err = harness.validate(bad)
    assert rc == 1
    assert err.startswith("error: model_list[0].litellm_params")
    assert "wieght" in err


def test_filter_refuses_to_start_on_a_config_it_cannot_resolve(mock_factory, tmp_path):
    # Render succeeds (secrets are only needed at run time), but Envoy's VM lacks the
    # variable: the filter must refuse to start, name the field and not crash.
    m = mock_factory("cfg")
    cfg = f"""
model_list:
  - model_name: a
    litellm_params: {{model: openai/a, api_base: "{m.base_url}/v1"}}
general_settings: {{master_key: os.environ/TOLLGATE_TEST_UNSET_MASTER}}
"""
    with pytest.raises(RuntimeError) as e:
        harness.start_gateway(cfg, {}, tmp_path)
    msg = str(e.value)
    assert "general_settings.master_key: environment variable TOLLGATE_TEST_UNSET_MASTER is not set" in msg
    assert "panic" not in msg.lower()
