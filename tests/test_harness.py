"""Smoke tests for the harness itself: the mock answers, the CLI refuses bad configs."""

import json

import httpx

from harness import http, validate


def test_mock_answers_chat_completion(mock):
    r = http.post(
        mock.base_url + "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-mock-name"] == "mock"
    body = r.json()
    assert body["choices"][0]["message"]["content"].startswith("[mock] ")
    assert [req["path"] for req in mock.requests()] == ["/v1/chat/completions"]
    mock.clear()
    assert mock.requests() == []


def test_mock_scripts_apply_in_order(mock):
    mock.script({"status": 503, "body": {"error": {"message": "busy"}}})
    url = mock.base_url + "/v1/chat/completions"
    payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert http.post(url, json=payload).status_code == 503
    assert http.post(url, json=payload).status_code == 200
    header = {"x-mock-script": json.dumps({"status": 429})}
    assert http.post(url, json=payload, headers=header).status_code == 429


def test_two_mocks_run_side_by_side(mock_factory):
    a, b = mock_factory("a"), mock_factory("b")
    assert a.port != b.port
    r = httpx.post(
        b.base_url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        trust_env=False,
    )
    assert r.headers["x-mock-name"] == "b"
    assert a.requests() == []


def test_validate_rejects_unknown_provider_with_field_path(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: x\n"
        "    litellm_params:\n"
        "      model: foo/bar\n"
    )
    rc, _out, err = validate(config)
    assert rc == 1, err
    assert "error: model_list[0].litellm_params.model:" in err, err
