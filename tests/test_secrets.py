"""No secret in anything a run produces.

One scenario with three provider credentials, the master key, a declared key and
several virtual keys (generated, chosen, used every way an SDK sends them,
regenerated, blocked, deleted), including provider errors whose bodies echo the
provider credential. Then everything the run produced is searched for the
plaintext of every secret: every response (status line, headers, body) the
clients received, Envoy's log at debug level with the JSON access log, the admin
interface (/stats, /stats/prometheus, /config_dump, /clusters), and the files
rendered for Envoy.

The only allowed appearances: a new key in the /key/generate or /key/regenerate
response that hands it out, and Envoy's own debug dumps of request headers (Envoy
prints header values at debug level; run it at info or above in production).
"""
import json
import re
import time

import httpx
import pytest

MASTER = "sk-sec-master-7f3a9c51"
OPENAI_KEY = "sk-proj-sec-openai-4b8e1d27"
ANTHROPIC_KEY = "sk-ant-sec-anthropic-9c2f6a40"
GEMINI_KEY = "AIzaSy-sec-gemini-6d1e83b5"
DECLARED = "sk-sec-declared-3a7b0c19"
CHOSEN = "sk-sec-chosen-1e9d5f72"
PROVIDER_KEYS = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY, "gemini": GEMINI_KEY}

# Envoy's debug dump of one header: `'name', 'value'`.
HEADER_DUMP = re.compile(r"'(authorization|x-api-key|x-goog-api-key|:path)', '.*'")


class Run:
    """Makes requests through the gateway and keeps every response."""

    def __init__(self, gw):
        self.gw = gw
        self.responses = []  # (label, text of status line + headers + body, keys it may hand out)

    def call(self, method, path, key=MASTER, body=None, params=None, headers=None,
             auth="bearer", hands_out=False):
        h = dict(headers or {})
        if key and auth == "bearer":
            h["authorization"] = f"Bearer {key}"
        elif key and auth in ("x-api-key", "x-goog-api-key"):
            h[auth] = key
        elif key and auth == "query":
            params = {**(params or {}), "key": key}
        r = httpx.request(method, self.gw.url + path, json=body, params=params, headers=h, timeout=30)
        text = f"{r.status_code} {r.reason_phrase}\n" + "".join(
            f"{k}: {v}\n" for k, v in r.headers.multi_items()) + "\n" + r.text
        handed = {r.json().get("key")} if hands_out and r.status_code == 200 else set()
        self.responses.append((f"{method} {path}", text, handed))
        return r


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("sec")
    cfg = f"""
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{m.base_url}/v1", api_key: os.environ/OPENAI_API_KEY}}
  - model_name: claude
    litellm_params: {{model: anthropic/claude-x, api_base: "{m.base_url}", api_key: os.environ/ANTHROPIC_API_KEY}}
  - model_name: gem
    litellm_params: {{model: gemini/gemini-x, api_base: "{m.base_url}", api_key: os.environ/GEMINI_API_KEY}}
general_settings: {{master_key: os.environ/TOLLGATE_MASTER_KEY}}
keys:
  - key: os.environ/DECLARED_KEY
    key_alias: declared
    models: [gpt-4o]
"""
    env = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
           "GEMINI_API_KEY": GEMINI_KEY, "TOLLGATE_MASTER_KEY": MASTER, "DECLARED_KEY": DECLARED}
    gw = gateway_factory(cfg, env=env, log_level="debug")
    return gw, m


CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
AV = {"anthropic-version": "2023-06-01"}

# A provider error echoing the credential it was sent, as OpenAI, Anthropic and
# Gemini would shape it, and as a proxy in front of them might (plain text).
ECHOES = {
    "openai": {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}. Headers: "
                                    f"{{'Authorization': 'Bearer {OPENAI_KEY}'}}",
                         "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
    "anthropic": {"type": "error", "error": {"type": "authentication_error",
                                             "message": f"invalid x-api-key: {ANTHROPIC_KEY}"}},
    "gemini": {"error": {"code": 400, "message": f"API key not valid: {GEMINI_KEY} (key={GEMINI_KEY})",
                         "status": "INVALID_ARGUMENT"}},
}

# (client path, body, provider behind it, scripted status, client error shape)
ERROR_CASES = [
    ("/v1/chat/completions", CHAT, "openai", 400, "openai"),
    ("/v1/chat/completions", {**CHAT, "stream": True}, "openai", 401, "openai"),
    ("/v1/chat/completions", {**CHAT, "model": "claude"}, "anthropic", 400, "openai"),
    ("/v1/chat/completions", {**CHAT, "model": "gem"}, "gemini", 400, "openai"),
    ("/v1/messages", MESSAGES, "anthropic", 401, "anthropic"),
    ("/v1/messages", {**MESSAGES, "model": "gpt-4o"}, "openai", 500, "anthropic"),
    ("/v1beta/models/gem:generateContent", GEMINI, "gemini", 400, "gemini"),
    ("/anthropic/v1/messages/count_tokens", MESSAGES, "anthropic", 400, None),
]


def access_lines(log):
    return [json.loads(line) for line in log.splitlines()
            if line.startswith("{") and '"response_flags"' in line]


def wait_for_access_log(gw, done, timeout=10.0):
    """Envoy's log once done(access log lines) holds (the log is flushed every 200 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        log = gw.log()
        if done(access_lines(log)):
            return log
        assert time.monotonic() < deadline, "the access log was not written"
        time.sleep(0.2)


def check_shape(shape, r):
    doc = r.json()
    if shape == "openai":
        assert set(doc["error"]) >= {"message", "type"}, doc
        return doc["error"]["message"]
    if shape == "anthropic":
        assert doc["type"] == "error", doc
        return doc["error"]["message"]
    if shape == "gemini":
        assert {"code", "message"} <= set(doc["error"]), doc
        return doc["error"]["message"]
    return r.text


def test_no_secret_in_anything_the_run_produced(stack):
    gw, m = stack
    run = Run(gw)

    # Keys: generated, chosen, in every role that uses the model routes.
    a = run.call("POST", "/key/generate", body={"key_alias": "sec-a"}, hands_out=True).json()["key"]
    b = run.call("POST", "/key/generate", body={"key_alias": "sec-b", "role": "customer",
                                                 "models": ["gpt-4o", "gem"]}, hands_out=True).json()["key"]
    c = run.call("POST", "/key/generate", body={"key_alias": "sec-c", "key": CHOSEN}, hands_out=True).json()["key"]
    d = run.call("POST", "/key/generate", body={"key_alias": "sec-d", "max_budget": 10},
                 hands_out=True).json()["key"]
    assert c == CHOSEN

    # Used the way each SDK sends them.
    assert run.call("POST", "/v1/chat/completions", a, CHAT).status_code == 200
    assert "[DONE]" in run.call("POST", "/v1/chat/completions", a, {**CHAT, "stream": True}).text
    assert run.call("POST", "/v1/chat/completions", DECLARED, CHAT).status_code == 200
    assert run.call("POST", "/v1/chat/completions", d, {**CHAT, "model": "claude"}).status_code == 200
    assert run.call("POST", "/v1/messages", c, MESSAGES, auth="x-api-key", headers=AV).status_code == 200
    assert run.call("POST", "/v1beta/models/gem:generateContent", b, GEMINI, auth="query").status_code == 200
    assert run.call("POST", "/v1beta/models/gem:streamGenerateContent", a, GEMINI,
                    auth="x-goog-api-key", params={"alt": "sse"}).status_code == 200
    assert run.call("GET", "/v1/models", b).status_code == 200

    # Provider errors that echo the provider credential: status and the caller's
    # format are kept, the credential is not.
    for path, body, provider, status, shape in ERROR_CASES:
        m.script({"status": status, "body": ECHOES[provider]})
        r = run.call("POST", path, MASTER, body, headers=AV)
        assert r.status_code == status, (path, r.text)
        message = check_shape(shape, r)
        assert "[redacted]" in message, (path, r.text)
        assert PROVIDER_KEYS[provider] not in r.text
    m.script({"status": 401, "body": f"upstream proxy: bad credential {OPENAI_KEY}"})
    r = run.call("POST", "/v1/chat/completions", a, CHAT)
    assert r.status_code == 401 and "[redacted]" in r.text

    # Reading keys and spend by plaintext, by token and in lists.
    token_a = run.call("GET", "/key/info", params={"key": a}).json()["key"]
    assert run.call("GET", "/key/info", params={"key": token_a}).status_code == 200
    assert run.call("GET", "/key/info", a).status_code == 200  # a key reading itself
    assert run.call("GET", "/key/list", params={"return_full_object": "true"}).status_code == 200
    assert run.call("GET", "/spend/logs", params={"api_key": a, "summarize": "false"}).json()
    assert run.call("GET", "/spend/logs", params={"summarize": "false"}).status_code == 200
    assert run.call("GET", "/global/spend/report", params={"group_by": "api_key"}).status_code == 200

    # Rotation, blocking, deletion and the refusals that follow.
    a2 = run.call("POST", "/key/regenerate", body={"key": a}, hands_out=True).json()["key"]
    d2 = run.call("POST", f"/key/{d}/regenerate", body={}, hands_out=True).json()["key"]
    assert run.call("POST", "/v1/chat/completions", a, CHAT).status_code == 401
    assert run.call("POST", "/v1/chat/completions", a2, CHAT).status_code == 200
    assert run.call("POST", "/v1/chat/completions", d2, CHAT).status_code == 200
    assert run.call("POST", "/key/block", body={"key": c}).status_code == 200
    assert run.call("POST", "/v1/messages", c, MESSAGES, auth="x-api-key", headers=AV).status_code == 401
    assert run.call("POST", "/key/delete", body={"keys": [b]}).status_code == 200
    assert run.call("POST", "/v1beta/models/gem:generateContent", b, GEMINI, auth="query").status_code == 401
    assert run.call("GET", "/key/info", params={"key": b}).status_code == 404
    assert run.call("POST", f"/key/{b}/regenerate", body={}).status_code == 404
    assert run.call("POST", f"/v1/{a2}/chat/completions", a2, CHAT).status_code == 404
    assert run.call("GET", f"/key/{a2}/regenerate", a2).status_code in (403, 405)
    assert run.call("POST", "/v1/chat/completions", "sk-sec-wrong-guess-0001", CHAT).status_code == 401
    assert run.call("POST", "/v1/chat/completions", MASTER[:-1], CHAT).status_code == 401

    # What an operator sees.
    sent = len(run.responses)
    log = wait_for_access_log(gw, lambda lines: len(lines) >= sent)
    admin = {p: gw.admin(p).text for p in ["/stats", "/stats/prometheus", "/config_dump", "/clusters"]}
    for p, text in admin.items():
        run.responses.append((f"admin {p}", text, set()))
    files = {p.name: p.read_text() for p in [gw.bootstrap_path, gw.config_path]}

    secrets = {"master key": MASTER, "declared key": DECLARED, "chosen key": CHOSEN,
               "key a": a, "key a (regenerated)": a2, "key b": b, "key c": c, "key d": d,
               "key d (regenerated)": d2,
               **{f"{p} provider key": k for p, k in PROVIDER_KEYS.items()}}
    leaks = []
    for label, text, handed in run.responses:
        for name, secret in secrets.items():
            if secret in text and secret not in handed:
                leaks.append(f"{name} in the response to {label}")
    for fname, text in files.items():
        leaks += [f"{name} in {fname}" for name, s in secrets.items() if s in text]
    dumped = set()
    for line in log.splitlines():
        for name, secret in secrets.items():
            if secret not in line:
                continue
            if HEADER_DUMP.fullmatch(line.strip()):
                dumped.add(name)  # Envoy's own debug output, see the module docstring
            else:
                leaks.append(f"{name} in Envoy's log: {line[:200]}")
    assert not leaks, "\n".join(leaks)
    # The debug dumps were there to be found: the search did look at real traffic.
    assert {"master key", "key a", "openai provider key"} <= dumped, dumped


def test_access_log_paths_hide_keys_in_queries_and_paths(stack):
    gw, _ = stack
    key = httpx.post(gw.url + "/key/generate", json={}, timeout=30,
                     headers={"authorization": f"Bearer {MASTER}"}).json()["key"]
    for path, params in [("/key/info", {"key": key}), ("/spend/logs", {"api_key": key}),
                         ("/v1beta/models/gem:generateContent", {"key": key}),
                         ("/v1beta/models/gem:generateContent", {"key": "sk-sec-wrong-guess-0002"}),
                         (f"/key/{key}/regenerate", {})]:
        method = "GET" if path in ("/key/info", "/spend/logs") else "POST"
        httpx.request(method, gw.url + path, params=params, timeout=30,
                      json=None if method == "GET" else GEMINI,
                      headers={"authorization": f"Bearer {MASTER}"} if "gem:" not in path else {})
    httpx.get(gw.url + "/health", params={"probe": "secrets-paths"}, timeout=30)
    log = wait_for_access_log(gw, lambda lines: any(x["path"] == "/health?probe=secrets-paths" for x in lines))
    paths = [x["path"] for x in access_lines(log) if x.get("path")]
    assert "/key/info?key=[redacted]" in paths
    assert "/spend/logs?api_key=[redacted]" in paths
    assert "/v1beta/models/gem:generateContent?key=[redacted]" in paths
    assert any(p.startswith("/key/sk-...") and p.endswith("/regenerate") for p in paths), paths
    assert not [p for p in paths if key in p or "sk-sec-wrong-guess-0002" in p]
