"""Virtual keys and RBAC through a real Envoy running 2 workers."""
import concurrent.futures as cf
import hashlib
import json

import httpx
import openai
import pytest

MASTER = "sk-keys-master"
DECLARED = "sk-declared-finance-0001"


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("k")
    cfg = f"""
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{m.base_url}/v1"}}
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{m.base_url}/v1"}}
  - model_name: claude-haiku
    litellm_params: {{model: anthropic/claude-haiku, api_base: "{m.base_url}", api_key: os.environ/AK}}
    model_info: {{access_groups: [cheap]}}
  - model_name: internal-llm
    litellm_params: {{model: openai/internal, api_base: "{m.base_url}/v1"}}
    model_info: {{internal_only: true}}
router_settings:
  model_group_alias: {{best: gpt-4o}}
general_settings:
  master_key: os.environ/MASTER
  max_keys: 200
keys:
  - key: os.environ/DECLARED_KEY
    key_alias: finance-declared
    role: customer
    models: [gpt-4o-mini]
    metadata: {{department: finance}}
"""
    gw = gateway_factory(cfg, env={"MASTER": MASTER, "AK": "ak", "DECLARED_KEY": DECLARED})
    return gw, m


def call(gw, method, path, key=MASTER, body=None, params=None):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, gw.url + path, headers=headers, json=body, params=params, timeout=30)


def gen(gw, **fields):
    r = call(gw, "POST", "/key/generate", body=fields)
    assert r.status_code == 200, r.text
    return r.json()


def chat(gw, key, model="gpt-4o"):
    return call(gw, "POST", "/v1/chat/completions", key,
                {"model": model, "messages": [{"role": "user", "content": "hi"}]})


def test_generate_use_info_and_delete(stack):
    gw, _ = stack
    k = gen(gw, key_alias="eng-app", models=["gpt-4o"], metadata={"department": "engineering"},
            max_budget=10, rpm_limit=100)
    assert k["key"].startswith("sk-")
    assert k["token"] == hashlib.sha256(k["key"].encode()).hexdigest()
    assert k["key_alias"] == "eng-app" and k["metadata"]["department"] == "engineering"
    assert chat(gw, k["key"]).status_code == 200
    # The SDK works with a virtual key too.
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=k["key"], max_retries=0)
    assert client.chat.completions.create(model="best", messages=[{"role": "user", "content": "x"}]).choices
    info = call(gw, "GET", "/key/info", params={"key": k["key"]}).json()
    assert info["info"]["key_alias"] == "eng-app"
    assert "key" not in info["info"] or info["info"]["key"] != k["key"]
    r = call(gw, "POST", "/key/delete", body={"keys": [k["key"]]})
    assert r.status_code == 200, r.text
    r = chat(gw, k["key"])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_model_access_and_models_list(stack):
    gw, _ = stack
    k = gen(gw, role="customer", models=["gpt-4o", "cheap"])["key"]
    assert chat(gw, k, "gpt-4o").status_code == 200
    assert chat(gw, k, "best").status_code == 200
    denied = chat(gw, k, "gpt-4o-mini")
    assert denied.status_code == 403
    err = denied.json()["error"]
    assert err["type"] == "key_model_access_denied" and err["param"] == "model"
    ids = sorted(m["id"] for m in call(gw, "GET", "/v1/models", k).json()["data"])
    assert ids == ["best", "claude-haiku", "gpt-4o"]
    # Customers cannot manage keys, not even read their own.
    assert call(gw, "GET", "/key/info", k).status_code == 403
    assert call(gw, "POST", "/key/generate", k, {}).status_code == 403


def test_internal_only_models_and_roles(stack):
    gw, _ = stack
    internal = gen(gw, role="internal_user")["key"]
    customer = gen(gw, role="customer", models=["internal-llm", "gpt-4o"])["key"]
    assert chat(gw, internal, "internal-llm").status_code == 200
    assert chat(gw, customer, "internal-llm").status_code == 403
    # Internal users read their own key, not others', and cannot create keys.
    own = call(gw, "GET", "/key/info", internal)
    assert own.status_code == 200, own.text
    assert call(gw, "GET", "/key/info", internal, params={"key": customer}).status_code == 403
    assert call(gw, "POST", "/key/generate", internal, {}).status_code == 403
    admin = gen(gw, role="proxy_admin")["key"]
    assert call(gw, "POST", "/key/generate", admin, {"key_alias": "made-by-admin-key"}).status_code == 200


def test_allowed_routes(stack):
    gw, _ = stack
    k = gen(gw, allowed_routes=["/v1/embeddings"])["key"]
    assert chat(gw, k).status_code == 403
    assert call(gw, "POST", "/v1/embeddings", k, {"model": "gpt-4o", "input": "x"}).status_code == 200


def test_block_unblock_regenerate_and_expiry(stack):
    gw, _ = stack
    k = gen(gw, key_alias="rotating")
    assert call(gw, "POST", "/key/block", body={"key": k["key"]}).status_code == 200
    r = chat(gw, k["key"])
    assert r.status_code == 401 and "blocked" in r.json()["error"]["message"]
    assert call(gw, "POST", "/key/unblock", body={"key": k["key"]}).status_code == 200
    assert chat(gw, k["key"]).status_code == 200
    new = call(gw, "POST", "/key/regenerate", body={"key": k["key"]}).json()
    assert new["key"] != k["key"] and new["key_alias"] == "rotating"
    assert chat(gw, k["key"]).status_code == 401
    assert chat(gw, new["key"]).status_code == 200
    expired = gen(gw, duration="1s")["key"]
    import time
    time.sleep(2.2)
    r = chat(gw, expired)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_update_and_list(stack):
    gw, _ = stack
    k = gen(gw, key_alias="listed-one", team_id="team-a", metadata={"department": "legal"})["key"]
    r = call(gw, "POST", "/key/update", body={"key": k, "models": ["gpt-4o-mini"]})
    assert r.status_code == 200, r.text
    assert chat(gw, k, "gpt-4o").status_code == 403
    assert chat(gw, k, "gpt-4o-mini").status_code == 200
    listed = call(gw, "GET", "/key/list", params={"team_id": "team-a"}).json()
    assert listed["total_count"] >= 1
    by_dept = call(gw, "GET", "/key/list", params={"department": "legal", "return_full_object": "true"}).json()
    assert [x["key_alias"] for x in by_dept["keys"]] == ["listed-one"]
    bad = call(gw, "POST", "/key/update", body={"key": k, "rpm_limit": "lots"})
    assert bad.status_code == 400


def test_declared_key_works_and_is_read_only(stack):
    gw, _ = stack
    assert chat(gw, DECLARED, "gpt-4o-mini").status_code == 200
    assert chat(gw, DECLARED, "gpt-4o").status_code == 403
    r = call(gw, "POST", "/key/delete", body={"keys": [DECLARED]})
    assert r.status_code == 400
    assert chat(gw, DECLARED, "gpt-4o-mini").status_code == 200


@pytest.mark.parametrize("key,needle", [(None, "Missing API key"), ("sk-nope-nope", "Invalid API key")])
def test_unknown_and_missing_keys(stack, key, needle):
    gw, _ = stack
    r = chat(gw, key)
    assert r.status_code == 401
    assert needle in r.json()["error"]["message"]


def test_parallel_generation_loses_nothing(stack):
    gw, _ = stack
    def one(i):
        return gen(gw, key_alias=f"par-{i}", metadata={"department": "parallel"})["token"]
    with cf.ThreadPoolExecutor(16) as pool:
        tokens = list(pool.map(one, range(50)))
    assert len(set(tokens)) == 50
    listed = call(gw, "GET", "/key/list", params={"department": "parallel", "size": 100}).json()
    assert listed["total_count"] == 50
    # Parallel updates of one key: every update is applied (last writer wins per field, none lost).
    k = gen(gw, key_alias="contended")["key"]
    def upd(i):
        return call(gw, "POST", "/key/update", body={"key": k, "metadata": {f"m{i}": i}}).status_code
    with cf.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(upd, range(20))) == {200}
