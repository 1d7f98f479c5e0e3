"""Hostile clients through a real Envoy running the filter on 2 workers: deep and
malformed bodies, bytes that are not UTF-8, NULs, oversized bodies and headers,
stalled uploads, odd credentials and paths, malformed admin calls, and a burst of
requests on one key.

Every refusal must be a clear error in the caller's format (OpenAI-shaped JSON on
OpenAI routes, Anthropic-shaped on /v1/messages) with the right status, and after
every test the gateway must still serve normal requests with no wasm VM failure
in Envoy's log.
"""
import base64
import concurrent.futures as cf
import http.client
import json
import re
import socket
import threading
import time

import httpx
import pytest

MASTER = "sk-adv-master-0001"
PROVIDER_KEY = "sk-adv-provider-0001"
ANTHROPIC_KEY = "sk-ant-adv-provider-0001"
ENV = {"MASTER": MASTER, "PK": PROVIDER_KEY, "AK": ANTHROPIC_KEY}
RECEIVE_TIMEOUT_S = 2

CONFIG = """
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{base}/v1", api_key: os.environ/PK}}
    model_info: {{input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}}
  - model_name: claude
    litellm_params: {{model: anthropic/claude-x, api_base: "{base}", api_key: os.environ/AK}}
general_settings:
  master_key: os.environ/MASTER
  spend_log_size: 5000
  request_receive_timeout: {timeout}
{extra}"""

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CHAT_BYTES = json.dumps(CHAT).encode()
MESSAGES = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_BYTES = json.dumps(MESSAGES).encode()

# What Envoy logs when the filter panics or its VM traps.
VM_FAILURE = re.compile(
    r"panicked at|wasm trap|Function: proxy_on_\w+ failed|Uncaught RuntimeError|VM.*(crash|failed)"
)


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("adv")
    gw = gateway_factory(CONFIG.format(base=m.base_url, timeout=RECEIVE_TIMEOUT_S, extra=""), env=ENV)
    return gw, m


@pytest.fixture(autouse=True)
def still_serving(request):
    """After each test on the shared gateway: normal requests work and no VM failed."""
    yield
    if "stack" in request.fixturenames:
        gw, _ = request.getfixturevalue("stack")
        assert_still_serving(gw)


def assert_still_serving(gw):
    # Each call opens a new connection; the kernel spreads them over both workers.
    for _ in range(6):
        r = httpx.post(gw.url + "/v1/chat/completions", json=CHAT, headers=bearer(MASTER), timeout=30)
        assert r.status_code == 200, r.text
    failures = [line for line in gw.log().splitlines() if VM_FAILURE.search(line)]
    assert not failures, "\n".join(failures)


def bearer(key):
    return {"authorization": f"Bearer {key}"}


def call(gw, method, path, key=MASTER, body=None, content=None, params=None, extra=None):
    headers = {**(bearer(key) if key else {}), **(extra or {})}
    if content is not None:
        headers.setdefault("content-type", "application/json")
    return httpx.request(method, gw.url + path, headers=headers, json=body, content=content,
                         params=params, timeout=30)


def gen(gw, **fields):
    r = call(gw, "POST", "/key/generate", body=fields)
    assert r.status_code == 200, r.text
    return r.json()["key"]


def chat(gw, key, extra=None):
    return call(gw, "POST", "/v1/chat/completions", key, CHAT, extra=extra)


def key_count(gw):
    return call(gw, "GET", "/key/list", params={"size": 1}).json()["total_count"]


def openai_error(status, body, want, needle=None):
    """The OpenAI error object of a response, checked for status and shape."""
    assert status == want, body
    err = json.loads(body)["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    if needle:
        assert needle in err["message"], err
    return err


def anthropic_error(status, body, want, needle=None):
    assert status == want, body
    doc = json.loads(body)
    assert doc["type"] == "error" and {"type", "message"} <= set(doc["error"]), doc
    if needle:
        assert needle in doc["error"]["message"], doc
    return doc["error"]


def caller_error(path, status, body, want, needle=None):
    check = anthropic_error if path == "/v1/messages" else openai_error
    return check(status, body, want, needle)


# ------------------------------------------------------------------ raw HTTP/1.1


def request_head(method, path, headers, length=None, chunked=False):
    """Request line and headers as raw bytes: nothing is validated or normalised."""
    if isinstance(path, str):
        path = path.encode()
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: tollgate.test", *headers]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(b"Content-Length: %d" % length)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def read_response(sock):
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def raw_exchange(gw, method, path, headers, body=b"", timeout=15):
    """Sends the bytes as given and parses the answer: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", gw.port), timeout=timeout) as s:
        s.sendall(request_head(method, path, headers, len(body)) + body)
        return read_response(s)


def upload(gw, path, headers, body, chunked):
    """Sends a large body from a writer thread while the answer is read, so an early
    answer (a 413 before the upload ends) is seen rather than a broken pipe."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)

    def write():
        try:
            s.sendall(request_head("POST", path, headers, len(body), chunked))
            if not chunked:
                s.sendall(body)
                return
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway answered and closed before the upload ended

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        return read_response(s)
    finally:
        s.close()
        writer.join(10)


AUTH_MASTER = b"Authorization: Bearer " + MASTER.encode()
JSON_CT = b"Content-Type: application/json"
ANTHROPIC_VERSION = b"anthropic-version: 2023-06-01"


# ---------------------------------------------------------------- hostile bodies

DEPTH = 10_000


def nested(shape):
    if shape == "array":
        return "[" * DEPTH + "]" * DEPTH
    return '{"a":' * DEPTH + "1" + "}" * DEPTH


@pytest.mark.parametrize("shape", ["array", "object"])
@pytest.mark.parametrize("where", ["in_a_field", "whole_body"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/key/generate"])
def test_deeply_nested_json_is_refused(stack, path, where, shape):
    gw, m = stack
    m.clear()
    before = key_count(gw)
    if where == "whole_body":
        body = nested(shape)
    elif path == "/key/generate":
        body = '{"metadata": {"x": %s}}' % nested(shape)
    else:
        model = "claude" if path == "/v1/messages" else "gpt-4o"
        body = '{"model": "%s", "max_tokens": 5, "messages": %s}' % (model, nested(shape))
    r = call(gw, "POST", path, content=body.encode(), extra={"anthropic-version": "2023-06-01"})
    err = caller_error(path, r.status_code, r.content, 400)
    assert re.search(r"nested more than 128|recursion limit|must be a JSON object", err["message"]), err
    # Refused by the gateway itself: nothing reached the provider, no key was made.
    assert m.requests() == []
    assert key_count(gw) == before


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/key/generate"])
def test_invalid_utf8_body_is_refused(stack, path):
    gw, m = stack
    m.clear()
    if path == "/key/generate":
        body = b'{"key_alias": "caf\xe9 \xff\xfe"}'
    else:
        model = b"claude" if path == "/v1/messages" else b"gpt-4o"
        body = (b'{"model": "' + model + b'", "max_tokens": 5, '
                b'"messages": [{"role": "user", "content": "caf\xe9 \xff\xfe"}]}')
    r = call(gw, "POST", path, content=body, extra={"anthropic-version": "2023-06-01"})
    err = caller_error(path, r.status_code, r.content, 400)
    assert re.search(r"not valid UTF-8|unicode", err["message"]), err
    assert m.requests() == []


def test_invalid_utf8_in_header_values(stack):
    gw, _ = stack
    # Before the fix each such request panicked the worker's VM: send it on several
    # connections so both workers see it.
    for _ in range(6):
        status, _, body = raw_exchange(gw, "POST", "/v1/chat/completions",
                                       [b"Authorization: Bearer sk-\xff\xfe\xe9", JSON_CT], CHAT_BYTES)
        openai_error(status, body, 401, "Invalid API key")
    status, _, body = raw_exchange(gw, "POST", "/v1/messages",
                                   [b"x-api-key: \xe9t\xe9", ANTHROPIC_VERSION, JSON_CT], MESSAGES_BYTES)
    anthropic_error(status, body, 401, "Invalid API key")
    # The master key's bytes with one replaced by an invalid byte do not match.
    status, _, body = raw_exchange(gw, "POST", "/v1/chat/completions",
                                   [b"Authorization: Bearer " + MASTER[:-1].encode() + b"\xff", JSON_CT],
                                   CHAT_BYTES)
    openai_error(status, body, 401, "Invalid API key")
    # An unreadable Authorization is refused, not skipped for another credential.
    status, _, body = raw_exchange(gw, "POST", "/v1/chat/completions",
                                   [b"Authorization: Bearer \xff", b"x-api-key: " + MASTER.encode(), JSON_CT],
                                   CHAT_BYTES)
    openai_error(status, body, 401, "Invalid API key")
    # Elsewhere in the request such bytes are none of the gateway's business.
    status, _, body = raw_exchange(gw, "POST", "/v1/chat/completions",
                                   [AUTH_MASTER, b"x-note: caf\xe9", JSON_CT], CHAT_BYTES)
    assert status == 200, body


def test_nul_bytes(stack):
    gw, _ = stack
    # A raw NUL inside a JSON string is not JSON.
    raw_nul = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "a\x00b"}]}'
    r = call(gw, "POST", "/v1/chat/completions", content=raw_nul)
    openai_error(r.status_code, r.content, 400, "control character")
    # Escaped, it is ordinary content and is served.
    r = call(gw, "POST", "/v1/chat/completions",
             body={"model": "gpt-4o", "messages": [{"role": "user", "content": "a\u0000b"}]})
    assert r.status_code == 200, r.text
    r = call(gw, "POST", "/v1/chat/completions", body={"model": "gpt-4o\u0000", "messages": []})
    assert openai_error(r.status_code, r.content, 404)["code"] == "model_not_found"
    # In a header value or the path, Envoy's codec refuses the request before any
    # filter runs; the answer is still an OpenAI error naming the reason.
    status, _, body = raw_exchange(gw, "POST", "/v1/chat/completions",
                                   [AUTH_MASTER + b"\x00", JSON_CT], CHAT_BYTES)
    assert openai_error(status, body, 400)["code"].startswith("http1.")
    status, _, body = raw_exchange(gw, "GET", b"/v1/models\x00", [AUTH_MASTER])
    assert openai_error(status, body, 400)["code"].startswith("http1.")


FIVE_MB = 5 * 1024 * 1024


def big_body(path):
    if path == "/key/generate":
        return b'{"key_alias": "' + b"x" * FIVE_MB + b'"}'
    model = b"claude" if path == "/v1/messages" else b"gpt-4o"
    return (b'{"model": "' + model + b'", "max_tokens": 5, "messages": [{"role": "user", "content": "'
            + b"x" * FIVE_MB + b'"}]}')


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/key/generate"])
def test_five_megabyte_string_under_the_default_limit(stack, path, chunked):
    gw, m = stack
    m.clear()
    status, _, body = upload(gw, path, [AUTH_MASTER, JSON_CT, ANTHROPIC_VERSION], big_body(path), chunked)
    err = caller_error(path, status, body, 413, "larger than the limit of 1048576 bytes")
    assert "max_request_size_mb" in err["message"]
    assert m.requests() == []


def test_five_megabyte_string_under_a_one_megabyte_limit(mock_factory, gateway_factory):
    m = mock_factory("adv-1mb")
    gw = gateway_factory(CONFIG.format(base=m.base_url, timeout=RECEIVE_TIMEOUT_S, extra="")
                         .replace("spend_log_size: 5000", "max_request_size_mb: 1"), env=ENV)
    for chunked in (False, True):
        status, _, body = upload(gw, "/v1/chat/completions", [AUTH_MASTER, JSON_CT],
                                 big_body("/v1/chat/completions"), chunked)
        openai_error(status, body, 413, "larger than the limit of 1048576 bytes")
    # Just under the limit is served.
    fits = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "y" * 1_000_000}]}
    r = call(gw, "POST", "/v1/chat/completions", body=fits)
    assert r.status_code == 200, r.text[:300]
    assert_still_serving(gw)


# ------------------------------------------------------------- stalled requests


@pytest.mark.parametrize("stall", ["body", "chunked_body", "headers"])
def test_stalled_request_times_out_and_releases_everything(stack, stall):
    gw, _ = stack
    key = gen(gw, max_parallel_requests=1, key_alias=f"stall-{stall}")
    auth = b"Authorization: Bearer " + key.encode()
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=RECEIVE_TIMEOUT_S + 10)
    try:
        if stall == "body":  # promises 1000 bytes, sends 10, then nothing
            s.sendall(request_head("POST", "/v1/chat/completions", [auth, JSON_CT], 1000) + b'{"model": ')
        elif stall == "chunked_body":
            s.sendall(request_head("POST", "/v1/chat/completions", [auth, JSON_CT], chunked=True)
                      + b"a\r\n" + b'{"model": ' + b"\r\n")
        else:  # headers never finish
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: tollgate.test\r\n" + auth + b"\r\n")
        started = time.monotonic()
        # Meanwhile the key's only parallel slot is free: a partial request is never admitted.
        assert chat(gw, key).status_code == 200
        status, headers, body = read_response(s)
        elapsed = time.monotonic() - started
    finally:
        s.close()
    err = openai_error(status, body, 408)
    assert err["code"] == "request_timeout" and "request_receive_timeout" in err["message"]
    assert headers.get("connection") == "close"
    assert RECEIVE_TIMEOUT_S - 0.5 <= elapsed <= RECEIVE_TIMEOUT_S + 3, elapsed
    # The slot is still enforced, and free: of two overlapping calls exactly one is admitted.
    slow = {"x-mock-script": json.dumps({"delay_ms": 800})}
    with cf.ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(lambda _: chat(gw, key, extra=slow).status_code, range(2)))
    assert codes == [200, 429]
    assert chat(gw, key).status_code == 200


# ---------------------------------------------------------------- huge headers


@pytest.mark.parametrize("headers,status", [
    ([b"Authorization: Bearer " + b"A" * 100_000], 431),
    ([AUTH_MASTER, b"X-Junk: " + b"j" * 100_000], 431),
    ([AUTH_MASTER] + [b"X-Many-%d: v" % i for i in range(200)], 431),
    # Under Envoy's 60 KiB header limit the filter sees it: a plain wrong key.
    ([b"Authorization: Bearer sk-" + b"B" * 50_000], 401),
], ids=["authorization-100kb", "other-header-100kb", "200-headers", "authorization-50kb"])
def test_huge_headers(stack, headers, status):
    gw, _ = stack
    got, _, body = raw_exchange(gw, "POST", "/v1/chat/completions", [*headers, JSON_CT], CHAT_BYTES)
    err = openai_error(got, body, status)
    if status == 431:
        assert err["code"].startswith("http1."), err
    else:
        assert err["message"] == "Invalid API key." and b"BBBB" not in body


# --------------------------------------------------------------- credentials


def basic(user_pass):
    return b"Authorization: Basic " + base64.b64encode(user_pass.encode())


M = MASTER.encode()


@pytest.mark.parametrize("headers,status,needle", [
    ([b"authorization: bearer " + M], 200, None),
    ([b"Authorization: BEARER " + M], 200, None),
    ([b"Authorization: Bearer     " + M + b"    "], 200, None),
    ([b"Authorization:\t Bearer " + M + b" \t"], 200, None),
    # The newline ends the header line: the value is exactly the key.
    ([b"Authorization: Bearer " + M + b"\nX-After: 1"], 200, None),
    ([b"Authorization: Bearer " + M + b"\\n"], 401, "Invalid API key"),
    ([b"Authorization: Bearer\t" + M], 401, "Malformed Authorization"),
    ([b"Authorization: Bearer"], 401, "Malformed Authorization"),
    ([b"Authorization: Bearer "], 401, "Malformed Authorization"),
    ([b"Authorization:"], 401, "Malformed Authorization"),
    ([b"Authorization: " + M], 401, "Malformed Authorization"),
    ([basic(MASTER + ":")], 401, "Malformed Authorization"),
    ([basic(":" + MASTER)], 401, "Malformed Authorization"),
    ([b"Authorization: Bearer " + M + b" trailing"], 401, "Invalid API key"),
    # Two Authorization headers reach the filter as one joined value: refused.
    ([b"Authorization: Bearer " + M, b"Authorization: Bearer sk-wrong-0001"], 401, "Invalid API key"),
    ([b"Authorization: Bearer sk-wrong-0001", b"Authorization: Bearer " + M], 401, "Invalid API key"),
    ([b"Authorization: Bearer " + M, b"Authorization: Bearer " + M], 401, "Invalid API key"),
    # A bad Authorization is never skipped for another credential.
    ([b"Authorization: Bearer sk-wrong-0001", b"x-api-key: " + M], 401, "Invalid API key"),
    ([b"Authorization: Basic x", b"x-api-key: " + M], 401, "Malformed Authorization"),
    # Keys of the wrong shape.
    ([b"Authorization: Bearer no-sk-prefix-0001"], 401, "Invalid API key"),
    ([b"Authorization: Bearer sk-"], 401, "Invalid API key"),
    ([b"Authorization: Bearer sk-" + b"k" * 10_000], 401, "Invalid API key"),
    ([], 401, "Missing API key"),
])
def test_odd_authorization_forms(stack, headers, status, needle):
    gw, _ = stack
    got, _, body = raw_exchange(gw, "POST", "/v1/chat/completions", [*headers, JSON_CT], CHAT_BYTES)
    if status == 200:
        assert got == 200, body
        return
    err = openai_error(got, body, status, needle)
    assert err["code"] == "invalid_api_key"
    assert M not in body and b"kkkk" not in body


def test_query_key_only_counts_on_gemini_routes(stack):
    gw, _ = stack
    r = call(gw, "POST", "/v1/chat/completions", key=None, body=CHAT, params={"key": MASTER})
    openai_error(r.status_code, r.content, 401, "Missing API key")
    r = call(gw, "GET", "/key/list", key=None, params={"key": MASTER})
    openai_error(r.status_code, r.content, 401, "Missing API key")


# ---------------------------------------------------------------- admin routes

ADMIN_PATH_TRICKS = [
    ("POST", "/key/../key/generate"),
    ("POST", "/key/%2e%2e/generate"),
    ("POST", "/key/%2E%2E/key/generate"),
    ("POST", "/key//generate"),
    ("POST", "/KEY/generate"),
    ("POST", "/Key/Generate"),
    ("POST", "/key/./generate"),
    ("POST", "/%6bey/generate"),
    ("POST", "/key%2fgenerate"),
    ("POST", "/key/generate%00"),
    ("POST", "/key/generate;x=1"),
    ("POST", "/v1/../key/generate"),
    ("POST", "/health/../key/generate"),
    ("POST", "/v1/chat/completions/../../../key/generate"),
    ("GET", "/health/../key/list"),
    ("GET", "/spend/../key/list"),
    ("GET", "/key/../key/list"),
    ("GET", "/key/%6cist"),
]


@pytest.mark.parametrize("method,path", ADMIN_PATH_TRICKS, ids=[p for _, p in ADMIN_PATH_TRICKS])
def test_admin_path_tricks_never_bypass_authorization(stack, method, path):
    gw, _ = stack
    customer = gen(gw, role="customer", models=["gpt-4o"])
    internal = gen(gw, role="internal_user")
    before = key_count(gw)
    body = b'{"key_alias": "should-never-exist", "role": "proxy_admin"}'
    for who, key, allowed in [("nobody", None, {401, 404}), ("customer", customer, {403, 404}),
                              ("internal", internal, {403, 404}), ("master", MASTER, {404})]:
        headers = [JSON_CT] + ([b"Authorization: Bearer " + key.encode()] if key else [])
        status, _, got = raw_exchange(gw, method, path, headers, body if method == "POST" else b"")
        assert status in allowed, (who, status, got)
        openai_error(status, got, status)
        assert b"sk-adv" not in got and (key is None or key.encode() not in got)
    assert key_count(gw) == before
    listed = call(gw, "GET", "/key/list", params={"key_alias": "should-never-exist"}).json()
    assert listed["total_count"] == 0


BAD_FIELDS = [
    ({"max_budget": -5}, "max_budget"),
    ({"max_budget": "lots"}, "max_budget"),
    ({"soft_budget": -0.01}, "soft_budget"),
    ({"rpm_limit": -1}, "rpm_limit"),
    ({"rpm_limit": 1.5}, "rpm_limit"),
    ({"rpm_limit": 1e20}, "rpm_limit"),
    ({"tpm_limit": "10"}, "tpm_limit"),
    ({"max_parallel_requests": -3}, "max_parallel_requests"),
    ({"models": "gpt-4o"}, "models"),
    ({"models": [1, 2]}, "models"),
    ({"models": {"gpt-4o": True}}, "models"),
    ({"metadata": [1, 2]}, "metadata"),
    ({"metadata": "department=x"}, "metadata"),
    ({"model_rpm_limit": [1]}, "model_rpm_limit"),
    ({"model_rpm_limit": {"gpt-4o": -1}}, "model_rpm_limit"),
    ({"model_tpm_limit": {"gpt-4o": "many"}}, "model_tpm_limit"),
    ({"aliases": ["best"]}, "aliases"),
    ({"allowed_routes": "/v1/chat/completions"}, "allowed_routes"),
    ({"team_id": {"a": 1}}, "team_id"),
    ({"role": "god"}, "role"),
    ({"role": ["proxy_admin"]}, "role"),
    ({"duration": "-1d"}, "duration"),
    ({"duration": 30}, "duration"),
    ({"budget_duration": "0s"}, "budget_duration"),
    ({"blocked": "yes"}, "blocked"),
    ({"key": 5}, "key"),
    ({"key": ""}, "key"),
    ({"key": "no-sk-prefix-0001"}, "key"),
    ({"key": "sk-" + "a" * 10_000}, "key"),
    ({"key": "sk-with space"}, "key"),
    ({"spend": 100}, "spend"),
    ({"unknown_field": 1}, None),
    ({"key_alias": "a" * 100_000}, None),
    ({"metadata": {"blob": "x" * 200_000}}, None),
]


@pytest.mark.parametrize("body,param", BAD_FIELDS, ids=[json.dumps(b)[:40] for b, _ in BAD_FIELDS])
def test_generate_refuses_malformed_fields(stack, body, param):
    gw, _ = stack
    before = key_count(gw)
    r = call(gw, "POST", "/key/generate", body=body)
    err = openai_error(r.status_code, r.content, 400)
    assert err["param"] == param, err
    assert len(r.content) < 2_000, "the error echoes the oversized value"
    assert key_count(gw) == before


@pytest.mark.parametrize("body", [b"[]", b"[{}]", b"null", b"42", b'"sk-x"', b"{", b"\xff", b'{"a":1}{"a":1}',
                                  b'{"key_alias": "a", "key_alias": "b"}'])
@pytest.mark.parametrize("path", ["/key/generate", "/key/update", "/key/delete", "/key/block",
                                  "/key/regenerate"])
def test_admin_bodies_that_are_not_objects(stack, path, body):
    gw, _ = stack
    before = key_count(gw)
    r = call(gw, "POST", path, content=body)
    if body.startswith(b'{"key_alias"') and path == "/key/generate":
        # serde keeps the last duplicate; either way nothing unexpected is created.
        assert r.status_code in (200, 400), r.text
        return
    openai_error(r.status_code, r.content, 400)
    assert key_count(gw) == before


@pytest.mark.parametrize("path,body,status", [
    ("/key/update", {"key": 5}, 400),
    ("/key/update", {"key": ""}, 400),
    ("/key/update", {"key": "sk-" + "z" * 10_000}, 404),
    ("/key/update", {"key": "no-sk-prefix", "rpm_limit": 1}, 404),
    ("/key/update", {"key": "sk-does-not-exist", "max_budget": -1}, 400),
    ("/key/delete", {"keys": "sk-does-not-exist"}, 400),
    ("/key/delete", {"keys": [1]}, 400),
    ("/key/delete", {"key_aliases": {"a": 1}}, 400),
    ("/key/block", {"key": ["sk-does-not-exist"]}, 400),
    ("/key/unblock", {"key": {"a": 1}}, 400),
    ("/key/regenerate", {"key": None}, 400),
    ("/key/regenerate", {"key": "sk-does-not-exist", "new_key": "bad"}, 400),
])
def test_admin_calls_naming_keys_of_the_wrong_shape(stack, path, body, status):
    gw, _ = stack
    r = call(gw, "POST", path, body=body)
    openai_error(r.status_code, r.content, status)
    assert b"zzzzzzzz" not in r.content and b"sk-does-not-exist" not in r.content


def test_admin_queries_of_the_wrong_shape(stack):
    gw, _ = stack
    r = call(gw, "GET", "/key/info", params={"key": "sk-" + "q" * 10_000})
    assert openai_error(r.status_code, r.content, 404)["code"] == "not_found"
    assert b"qqqq" not in r.content
    for params in [{"page": "-1"}, {"page": "abc"}, {"page": "1e9999"}]:
        r = call(gw, "GET", "/key/list", params=params)
        assert openai_error(r.status_code, r.content, 400)["param"] == "page"
    r = call(gw, "GET", "/spend/logs", params={"start_date": "2026-13-45"})
    openai_error(r.status_code, r.content, 400)


# ---------------------------------------------------------------- concurrency


def start_early_in_a_minute(latest_second=20):
    # Fixed one-minute windows: the burst must start and end inside one.
    if time.time() % 60 > latest_second:
        time.sleep(61 - time.time() % 60)


def test_burst_on_one_key_admits_exactly_its_rpm_limit(stack):
    gw, _ = stack
    key = gen(gw, rpm_limit=500, key_alias="burst-2000")
    start_early_in_a_minute()
    minute = int(time.time() // 60)
    started = time.monotonic()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(limits=limits, timeout=60) as client:
        def one(_):
            r = client.post(gw.url + "/v1/chat/completions", json=CHAT, headers=bearer(key))
            return r.status_code, r.headers.get("x-ratelimit-remaining-requests"), r.content
        with cf.ThreadPoolExecutor(64) as pool:
            results = list(pool.map(one, range(2000)))
    elapsed = time.monotonic() - started
    assert int(time.time() // 60) == minute, f"the burst crossed a minute boundary ({elapsed:.1f}s)"
    assert elapsed < 35, elapsed
    codes = [c for c, _, _ in results]
    assert codes.count(200) == 500 and codes.count(429) == 1500, {c: codes.count(c) for c in set(codes)}
    # Every admission took its own count: remaining 499..0, each exactly once.
    assert sorted(int(rem) for c, rem, _ in results if c == 200) == list(range(500))
    refused = next(body for c, _, body in results if c == 429)
    err = openai_error(429, refused, 429, "rpm_limit")
    assert err["code"] == "rate_limit_exceeded"
    # Records and the key's spend agree with what was admitted.
    logs = call(gw, "GET", "/spend/logs", params={"api_key": key, "summarize": "false"}).json()
    assert len(logs) == 500 and all(x["status"] == 200 for x in logs)
    info = call(gw, "GET", "/key/info", params={"key": key}).json()["info"]
    total = sum(x["spend_micros"] for x in logs)
    assert total > 0 and info["spend"] == pytest.approx(total / 1e6, abs=1e-6)
    assert info["rpm_limit"] == 500
