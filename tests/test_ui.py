"""The spend dashboard (/ui) in headless Chromium against a real Envoy with seeded traffic.

Chromium runs as a plain subprocess: `--dump-dom` prints the DOM once the page's
scripts and fetches have settled (`--virtual-time-budget`), and `--screenshot`
saves what the page looks like to tests/artifacts/ui-dashboard.png. The admin key
reaches the page in the URL fragment, which never leaves the browser.

scripts/test.sh installs Chromium (Debian's package) when none is found; without
one this module fails, it does not skip.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

MASTER = "sk-ui-master"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOT = ARTIFACTS / "ui-dashboard.png"
# Key alias and department a user controls: the page must show them as text.
HOSTILE_ALIAS = '<img src=x onerror="document.title=1">'
HOSTILE_DEPT = "<u>sales</u> & marketing"

KEYS = [  # (alias, department, max_budget, model, requests)
    ("eng-app", "engineering", 0.01, "gpt-4o", 3),
    ("eng-batch", "engineering", 5, "gpt-4o-mini", 2),
    ("fin-reports", "finance", 0.002, "gpt-4o", 2),
    (HOSTILE_ALIAS, HOSTILE_DEPT, None, "gpt-4o-mini", 1),
]
MASTER_REQUESTS = 1
SEEDED = sum(k[4] for k in KEYS) + MASTER_REQUESTS


def chromium() -> str:
    for name in (os.environ.get("TOLLGATE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = name and shutil.which(name)
        if path:
            return path
    pytest.fail("no chromium found: scripts/test.sh installs Debian's chromium package "
                "(or set TOLLGATE_CHROMIUM)", pytrace=False)


@pytest.fixture(scope="module")
def stack(mock_factory, gateway_factory):
    m = mock_factory("ui")
    down = mock_factory("ui-down")
    down.set_default({"status": 529, "body": {"error": {"message": "Overloaded", "type": "overloaded"}}})
    cfg = f"""
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{m.base_url}/v1"}}
    model_info: {{id: gpt4o-main, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001}}
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{m.base_url}/v1"}}
    model_info: {{id: mini-main, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}}
  - model_name: legacy
    litellm_params: {{model: openai/legacy-model, api_base: "{down.base_url}/v1"}}
    model_info: {{id: legacy-down}}
router_settings: {{cooldown_time: 600}}
general_settings:
  master_key: os.environ/MASTER
  background_health_checks: true
  health_check_interval: 300
"""
    gw = gateway_factory(cfg, env={"MASTER": MASTER})
    return gw, seed(gw)


def admin(gw, path, **params):
    r = httpx.get(gw.url + path, params=params, headers={"authorization": f"Bearer {MASTER}"}, timeout=30)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def chat(gw, key, model):
    r = httpx.post(gw.url + "/v1/chat/completions", timeout=30,
                   headers={"authorization": f"Bearer {key}"},
                   json={"model": model, "max_tokens": 16,
                         "messages": [{"role": "user", "content": "a short question"}]})
    assert r.status_code == 200, r.text
    return r


def seed(gw) -> dict:
    keys = {}
    for alias, dept, budget, model, n in KEYS:
        body = {"key_alias": alias, "metadata": {"department": dept}}
        if budget is not None:
            body["max_budget"] = budget
        r = httpx.post(gw.url + "/key/generate", json=body, timeout=30,
                       headers={"authorization": f"Bearer {MASTER}"})
        assert r.status_code == 200, r.text
        keys[alias] = r.json()
        for _ in range(n):
            chat(gw, keys[alias]["key"], model)
    for _ in range(MASTER_REQUESTS):
        chat(gw, MASTER, "gpt-4o")
    deadline = time.monotonic() + 10
    while len(admin(gw, "/spend/logs", summarize="false")) < SEEDED:
        assert time.monotonic() < deadline, "spend records did not arrive"
        time.sleep(0.1)
    # The first health round: the down deployment cooling, the others checked.
    deadline = time.monotonic() + 15
    while True:
        h = admin(gw, "/health")
        down = [e["model_id"] for e in h["unhealthy_endpoints"]]
        if down == ["legacy-down"] and all(e["checked_at"] for e in h["healthy_endpoints"]):
            break
        assert time.monotonic() < deadline, f"health checks did not settle: {h}"
        time.sleep(0.2)
    return keys


class Dom(HTMLParser):
    """Start tags (tag, attrs) in document order, and the page's text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def with_attr(self, name: str) -> list[dict]:
        return [a for _, a in self.tags if name in a]


def money(micros: int) -> str:
    return f"${micros // 1_000_000}.{micros % 1_000_000:06d}"


def browse(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    args = [chromium(), "--headless=new", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
            *extra, url]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"})
    assert r.returncode == 0, f"chromium failed ({r.returncode}):\n{r.stderr[-3000:]}"
    return r


def page_url(gw, key=MASTER) -> str:
    today = dt.datetime.now(dt.timezone.utc).date()
    start = today - dt.timedelta(days=6)
    return f"{gw.url}/ui#key={key}&start={start}&end={today}"


@pytest.fixture(scope="module")
def dom(stack, tmp_path_factory):
    gw, _ = stack
    r = browse(page_url(gw), tmp_path_factory.mktemp("chromium"), "--dump-dom")
    return r.stdout


def test_page_headers(stack):
    gw, _ = stack
    r = httpx.get(gw.url + "/ui/", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert r.text.startswith("<!doctype html>")
    assert httpx.post(gw.url + "/ui", timeout=10).status_code == 405


def test_dashboard_shows_seeded_spend(stack, dom):
    gw, keys = stack
    page = Dom(dom)
    body = next(a for t, a in page.tags if t == "body")
    assert body.get("data-state") == "ready", f"page did not finish loading:\n{dom[:3000]}"
    banner = next(a for t, a in page.tags if a.get("id") == "banner")
    assert banner.get("class") != "err"

    # Departments: every one, with the report's exact total, 6 decimals.
    report = admin(gw, "/global/spend/report", group_by="department")
    want = {g["group"]: money(g["spend_micros"]) for g in report["groups"]}
    assert set(want) == {"engineering", "finance", HOSTILE_DEPT, "unassigned"}
    assert all(g["spend_micros"] > 0 for g in report["groups"])
    shown = {a["data-department"]: a["data-spend"] for t, a in page.tags
             if t == "tr" and "data-department" in a}
    assert shown == want
    logs = admin(gw, "/spend/logs", summarize="false")
    totals = [(a["data-total"], a["data-tokens"]) for a in page.with_attr("data-total")]
    tokens = str(sum(r["total_tokens"] for r in logs))
    assert totals == [(money(report["total_spend_micros"]), tokens)] * 2  # departments, models
    assert next(a for a in page.with_attr("data-total-spend"))["data-total-spend"] == money(
        report["total_spend_micros"])

    # Models.
    by_model = admin(gw, "/global/spend/report", group_by="model")
    shown = {a["data-model"]: a["data-spend"] for a in page.with_attr("data-model")}
    assert shown == {g["group"]: money(g["spend_micros"]) for g in by_model["groups"]}

    # The daily chart: one bar segment per department today, matching the report.
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    chart = next(a for t, a in page.tags if t == "svg" and "data-days" in a)
    assert chart["data-days"] == "7"
    bars = {a["data-department"]: a["data-spend"] for t, a in page.tags
            if t == "rect" and a.get("data-day") == today}
    assert bars == want

    # Top keys with budget bars: spend per key and budget use from /key/info.
    by_key = admin(gw, "/global/spend/report", group_by="api_key")
    rows = {a["data-key"]: a for a in page.with_attr("data-key")}
    for alias, _, budget, _, _ in KEYS:
        token = keys[alias]["token"]
        spend = next(g["spend_micros"] for g in by_key["groups"] if g["group"] == token)
        assert rows[alias]["data-spend"] == money(spend), alias
        if budget is None:
            assert "data-budget-pct" not in rows[alias]
        else:
            info = admin(gw, "/key/info", key=token)["info"]
            pct = 100 * info["spend"] / budget
            assert float(rows[alias]["data-budget-pct"]) == pytest.approx(pct, abs=1e-3), alias
            assert pct > 0
    assert "master key / no key" in rows
    # Keys are listed by spend, largest first.
    order = [a["data-spend"] for a in page.with_attr("data-key")]
    assert order == sorted(order, key=lambda s: float(s[1:]), reverse=True)

    # Health: every deployment, the down one cooling with its error.
    health = {a["data-deployment"]: a["data-healthy"] for a in page.with_attr("data-deployment")}
    assert health == {"gpt4o-main": "true", "mini-main": "true", "legacy-down": "false"}
    text = " ".join(page.text)
    assert "HTTP 529: Overloaded" in text

    # Recent requests: every seeded one (fewer than the page's bound), newest first.
    recent = [a["data-request-id"] for a in page.with_attr("data-request-id")]
    assert len(recent) == SEEDED
    assert recent == [r["request_id"] for r in logs]
    count = next(a for t, a in page.tags if t == "table" and "data-count" in a)
    assert count["data-count"] == str(SEEDED)


def test_user_controlled_values_are_text(dom):
    page = Dom(dom)
    # The alias is shown verbatim as text; no element came from it.
    assert HOSTILE_ALIAS in "".join(page.text)
    assert HOSTILE_DEPT in "".join(page.text)
    assert not [t for t, _ in page.tags if t in ("img", "u")]
    assert "&lt;img src=x" in dom


def test_refused_key_is_shown(stack, tmp_path):
    gw, keys = stack
    for key, status in [("sk-not-a-key", "401"), (keys["eng-app"]["key"], "403")]:
        dom = browse(page_url(gw, key), tmp_path, "--dump-dom").stdout
        page = Dom(dom)
        assert next(a for t, a in page.tags if t == "body")["data-state"] == "error"
        errors = {a["data-error"] for a in page.with_attr("data-error")}
        assert errors == {status}, errors
        assert f"{status} " in "".join(page.text)
        assert not page.with_attr("data-department")
    # What the refusal looks like.
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "ui-dashboard-401.png"
    browse(page_url(gw, "sk-not-a-key"), tmp_path, f"--screenshot={shot}", "--window-size=1280,700")
    print(f"refused-key screenshot: {shot}")


def test_screenshot(stack, tmp_path):
    gw, _ = stack
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    browse(page_url(gw), tmp_path, f"--screenshot={SCREENSHOT}", "--window-size=1280,1600")
    assert SCREENSHOT.stat().st_size > 20_000
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"dashboard screenshot: {SCREENSHOT}")
