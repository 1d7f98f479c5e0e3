"""Metrics through a real Envoy: what /stats/prometheus shows after traffic, checked
against the spend records, failover, cooldowns and rate limits (docs/metrics.md)."""
from __future__ import annotations

import re
import time
from collections import defaultdict

import httpx
import pytest

import prom

MASTER = "sk-metrics-master"
ENV = {"MASTER": MASTER, "OK": "sk-openai-secret", "AK": "ak-secret"}
HDR = {"authorization": f"Bearer {MASTER}"}
DOWN = {"status": 500, "body": {"error": {"message": "upstream exploded", "type": "server_error"}}}

CONFIG = """
model_list:
  - model_name: gpt-4.1
    litellm_params: {{model: openai/gpt-4.1, api_base: "{m1}/v1", api_key: os.environ/OK}}
    model_info: {{id: oai.primary, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}}
  - model_name: claude-sonnet
    litellm_params: {{model: anthropic/claude-sonnet-4-5, api_base: "{m2}", api_key: os.environ/AK}}
    model_info: {{id: anthropic-fallback, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}}
router_settings:
  fallbacks: [{{"gpt-4.1": ["claude-sonnet"]}}]
  allowed_fails: {allowed_fails}
  cooldown_time: {cooldown}
  num_retries: 1
general_settings: {{master_key: os.environ/MASTER{general}}}
"""


def sanitize(v: str | None) -> str:
    """The filter's label value rule (tollgate_core::metrics::sanitize)."""
    if not v:
        return "none"
    return re.sub(r"[^A-Za-z0-9_-]", "_", v[:64])


def scrape(gw) -> prom.Exposition:
    r = gw.admin("/stats/prometheus")
    assert r.status_code == 200
    return prom.parse(r.text)


def wait_for(gw, check, timeout=15.0):
    """Scrapes until check(exposition) is truthy (histograms appear at Envoy's 5 s flush)."""
    deadline = time.monotonic() + timeout
    while True:
        exp = scrape(gw)
        if check(exp):
            return exp
        if time.monotonic() > deadline:
            raise AssertionError("metrics never reached the expected state")
        time.sleep(0.25)


def gen(gw, **fields) -> str:
    r = httpx.post(gw.url + "/key/generate", json=fields, headers=HDR, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["key"]


def chat(gw, key=MASTER, model="gpt-4.1", **body):
    payload = {"model": model, "messages": [{"role": "user", "content": "hello"}], **body}
    return httpx.post(gw.url + "/v1/chat/completions", json=payload, timeout=30,
                      headers={"authorization": f"Bearer {key}"})


def stream(gw, key=MASTER, model="gpt-4.1"):
    payload = {"model": model, "stream": True,
               "messages": [{"role": "user", "content": "hello"}]}
    with httpx.stream("POST", gw.url + "/v1/chat/completions", json=payload, timeout=30,
                      headers={"authorization": f"Bearer {key}"}) as r:
        r.read()
        return r


def spend_logs(gw) -> list[dict]:
    r = httpx.get(gw.url + "/spend/logs", headers=HDR, params={"summarize": "false"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    return body if isinstance(body, list) else body["data"]


def away_from_minute_edge():
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


@pytest.fixture(scope="module")
def mocks(mock_factory):
    return mock_factory("oai"), mock_factory("ant")


@pytest.fixture(scope="module")
def gw(gateway_factory, mocks):
    m1, m2 = mocks
    cfg = CONFIG.format(m1=m1.base_url, m2=m2.base_url, allowed_fails=100, cooldown=30, general="")
    return gateway_factory(cfg, env=ENV)


@pytest.fixture
def fresh(mocks):
    for m in mocks:
        m.clear()
        m.set_default(None)
    return mocks


def test_requests_tokens_and_cost_equal_the_spend_records(gw, fresh):
    alice = gen(gw, key_alias="alice")
    bob = gen(gw, key_alias="bob.smith")
    for key, n in ((alice, 3), (bob, 2), (MASTER, 1)):
        for _ in range(n):
            assert chat(gw, key).status_code == 200
    assert stream(gw, alice).status_code == 200

    def expected():
        want = {"req": defaultdict(float), "prompt": defaultdict(float),
                "completion": defaultdict(float), "cost": defaultdict(float)}
        for rec in spend_logs(gw):
            base = (sanitize(rec["model_group"]), sanitize(rec["model_id"]),
                    sanitize(rec["custom_llm_provider"]), sanitize(rec.get("key_alias")))
            cls = f"{rec['status'] // 100}xx"
            want["req"][base + (cls,)] += 1
            want["prompt"][base] += rec["prompt_tokens"]
            want["completion"][base] += rec["completion_tokens"]
            want["cost"][base] += rec["spend_micros"]
        return want

    def got(exp):
        have = {"req": defaultdict(float), "prompt": defaultdict(float),
                "completion": defaultdict(float), "cost": defaultdict(float)}
        for name, slot in (("tollgate_prompt_tokens_total", "prompt"),
                           ("tollgate_completion_tokens_total", "completion"),
                           ("tollgate_cost_micro_usd_total", "cost"),
                           ("tollgate_requests_total", "req")):
            for s in exp.select(name):
                key = (s.labels["model_group"], s.labels["deployment"], s.labels["provider"],
                       s.labels["key"])
                if slot == "req":
                    key += (s.labels["status_class"],)
                have[slot][key] += s.value
        return have

    def same(exp):
        w, h = expected(), got(exp)
        return all({k: v for k, v in w[s].items() if v} == {k: v for k, v in h[s].items() if v}
                   for s in w)

    exp = wait_for(gw, same)
    # The labels are real Prometheus labels, values sanitised, keys by alias.
    assert exp.types["tollgate_requests_total"] == "counter"
    assert exp.value("tollgate_requests_total", key="alice", model_group="gpt-4_1",
                     deployment="oai_primary", provider="openai", status_class="2xx") >= 4
    assert exp.value("tollgate_requests_total", key="bob_smith") >= 2
    assert exp.value("tollgate_requests_total", key="none") >= 1
    assert exp.value("tollgate_cost_micro_usd_total", key="alice") > 0
    # Never a token or a request id in a label.
    assert not any(v.startswith("sk-") for s in exp.samples for v in s.labels.values())


def test_histograms_for_duration_and_time_to_first_token(gw, fresh):
    assert stream(gw).status_code == 200
    assert chat(gw).status_code == 200
    sel = {"model_group": "gpt-4_1", "deployment": "oai_primary"}

    def ready(exp):
        return (exp.value("tollgate_time_to_first_token_milliseconds_count", **sel) >= 1
                and exp.value("tollgate_request_duration_milliseconds_count", **sel) >= 2)

    exp = wait_for(gw, ready)
    for name in ("tollgate_request_duration_milliseconds",
                 "tollgate_time_to_first_token_milliseconds"):
        assert exp.types[name] == "histogram"
        buckets = exp.select(name + "_bucket", **sel)
        assert len(buckets) > 5
        les = [float(b.labels["le"]) for b in buckets]
        counts = [b.value for b in buckets]
        assert les == sorted(les) and les[-1] == float("inf")
        assert counts == sorted(counts), "cumulative buckets"
        assert counts[-1] == exp.value(name + "_count", **sel)
        assert exp.select(name + "_sum", **sel)


def test_fallback_counts_errors_retries_and_fallbacks(gw, fresh):
    m1, _ = fresh
    before = scrape(gw)
    m1.set_default(DOWN)
    r = chat(gw)
    assert r.status_code == 200, r.text
    assert r.headers["x-litellm-model-id"] == "anthropic-fallback"
    retried = int(r.headers["x-litellm-attempted-retries"])
    assert retried == 1, "Envoy retried the lone primary once (num_retries: 1)"
    assert len(m1.requests()) == 2

    def moved(exp):
        return exp.value("tollgate_requests_total", model_group="claude-sonnet") > \
            before.value("tollgate_requests_total", model_group="claude-sonnet")

    exp = wait_for(gw, moved)
    delta = lambda name, **l: exp.value(name, **l) - before.value(name, **l)  # noqa: E731
    assert delta("tollgate_upstream_errors_total", deployment="oai_primary",
                 model_group="gpt-4_1", error_class="server_error") == 2
    assert delta("tollgate_retries_total") == 1
    assert delta("tollgate_fallbacks_total", model_group="claude-sonnet") == 1
    assert delta("tollgate_requests_total", model_group="claude-sonnet",
                 deployment="anthropic-fallback", provider="anthropic", status_class="2xx") == 1
    assert delta("tollgate_cooldowns_total") == 0, "allowed_fails: 100"


def test_rate_limit_and_budget_rejections_by_key(gw, fresh):
    away_from_minute_edge()
    limited = gen(gw, key_alias="limited", rpm_limit=1)
    broke = gen(gw, key_alias="broke", max_budget=0.0000001)
    assert chat(gw, limited).status_code == 200
    r = chat(gw, limited)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    r = chat(gw, broke)
    assert r.status_code == 400 and r.json()["error"]["type"] == "budget_exceeded"
    exp = scrape(gw)
    assert exp.value("tollgate_rejections_total", key="limited", reason="rpm") == 1
    assert exp.value("tollgate_rejections_total", key="broke", reason="budget") == 1
    assert exp.types["tollgate_rejections_total"] == "counter"


# A second gateway: a breaker that opens at the first failure, short cooldowns,
# and the key label from key metadata, capped at two values.
@pytest.fixture(scope="module")
def cool(gateway_factory, mock_factory):
    m1, m2 = mock_factory("oai-cool"), mock_factory("ant-cool")
    general = ", metrics_key_label: metadata.department, metrics_key_label_limit: 2"
    cfg = CONFIG.format(m1=m1.base_url, m2=m2.base_url, allowed_fails=0, cooldown=2,
                        general=general)
    return gateway_factory(cfg, env=ENV), m1, m2


def test_cooldown_counter_and_gauge(cool):
    gw, m1, _ = cool
    sel = {"model_group": "gpt-4_1", "deployment": "oai_primary"}
    exp = wait_for(gw, lambda e: e.select("tollgate_deployment_cooling_down", **sel))
    assert exp.value("tollgate_deployment_cooling_down", **sel) == 0
    assert exp.types["tollgate_deployment_cooling_down"] == "gauge"
    m1.set_default(DOWN)
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "anthropic-fallback"
    exp = scrape(gw)
    assert exp.value("tollgate_cooldowns_total", **sel) == 1
    assert exp.value("tollgate_deployment_cooling_down", **sel) == 1
    assert exp.value("tollgate_upstream_errors_total", error_class="server_error", **sel) >= 1
    # Recovered: once the cooldown has passed the gauge drops (the tick reads the breaker).
    m1.set_default(None)
    wait_for(gw, lambda e: e.value("tollgate_deployment_cooling_down", **sel) == 0, timeout=10)
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-litellm-model-id"] == "oai.primary"
    exp = scrape(gw)
    assert exp.value("tollgate_cooldowns_total", **sel) == 1
    assert exp.value("tollgate_deployment_cooling_down", **sel) == 0


def test_key_label_from_metadata_is_capped(cool):
    gw, m1, _ = cool
    m1.set_default(None)
    keys = [gen(gw, key_alias=f"k{i}", metadata={"department": d})
            for i, d in enumerate(["research", "sales.emea", "legal", "ops"])]
    for k in keys:
        assert chat(gw, k).status_code == 200
    exp = scrape(gw)
    by_key = defaultdict(float)
    for s in exp.select("tollgate_requests_total"):
        by_key[s.labels["key"]] += s.value
    assert by_key["research"] == 1 and by_key["sales_emea"] == 1
    assert by_key["other"] == 2, by_key
    assert "legal" not in by_key and "k0" not in by_key


# --- the Grafana dashboard only uses what the gateway exports ---------------------------

PROMQL_FUNCS = {
    "sum", "rate", "irate", "increase", "histogram_quantile", "by", "without", "max", "min",
    "avg", "count", "topk", "bottomk", "clamp_min", "clamp_max", "le", "on", "ignoring",
    "group_left", "group_right", "and", "or", "unless", "offset", "abs", "vector", "time",
    "label_replace", "sort_desc", "sort", "delta", "deriv", "avg_over_time", "max_over_time",
    "sum_over_time", "bool", "scalar",
}


def dashboard_queries() -> list[str]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "tollgate.json"
    board = json.loads(path.read_text())
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(board)
    return exprs


def promql_parts(expr: str) -> tuple[set[str], set[str]]:
    """Metric names and label names an expression uses."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # string literals
    expr = re.sub(r"\[[^\]]*\]", "", expr)                 # range selectors
    expr = re.sub(r"\$\w+", "", expr)                      # Grafana variables
    expr = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", "", expr)  # numbers
    labels: set[str] = set()
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in group.split(",") if x.strip()}
    for sel in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", sel))
    bare = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    names = {t for t in re.findall(r"[A-Za-z_:][\w:]*", bare)
             if t not in PROMQL_FUNCS and not re.fullmatch(r"\d+", t)}
    return names, labels


def test_dashboard_uses_only_exported_metrics_and_labels(cool):
    gw, m1, _ = cool
    # Everything the dashboard shows: traffic, a stream, a rejection, a failover into cooldown.
    away_from_minute_edge()
    m1.set_default(None)
    k = gen(gw, key_alias="dash", rpm_limit=1, metadata={"department": "research"})
    assert chat(gw, k).status_code == 200
    assert chat(gw, k).status_code == 429
    assert stream(gw).status_code == 200
    m1.set_default(DOWN)
    time.sleep(2.5)   # any earlier cooldown is over
    assert chat(gw).status_code == 200
    m1.set_default(None)
    exp = wait_for(gw, lambda e: e.select("tollgate_time_to_first_token_milliseconds_count")
                   and e.select("tollgate_rejections_total"))
    families: dict[str, set[str]] = defaultdict(set)
    for s in exp.samples:
        fam = prom.metric_family(s.name, exp.types)
        families[fam] |= set(s.labels)
        families[s.name] |= set(s.labels)
    exprs = dashboard_queries()
    assert len(exprs) >= 8, "the dashboard has its panels"
    for expr in exprs:
        names, labels = promql_parts(expr)
        assert names, f"no metric in {expr!r}"
        for n in names:
            assert n in families, f"{n} (in {expr!r}) is not exported"
            assert n.startswith("tollgate_"), n
        have = set().union(*(families[n] for n in names))
        for label in labels:
            assert label in have, f"label {label} (in {expr!r}) is not on {sorted(names)}"
