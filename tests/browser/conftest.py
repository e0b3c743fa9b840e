"""The desk page in headless Chromium (Debian's), against the local stack that
infra/scripts/browser.sh started: helpers to seed a night through the dev CLI
and the API, and one fresh browser page per test."""

import json
import os
import subprocess
import urllib.request
import uuid

import pytest
from playwright.sync_api import sync_playwright

API = f"http://127.0.0.1:{os.environ.get('LOCAL_API_PORT', '3000')}"
SANDBOX = f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '4020')}"
CLI = os.environ.get("AFTERHOURS_CLI", "afterhours-local")
SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screenshots")
CHANNEL = "100000000000001"


def http(method, url, body=None, token=None, headers=None):
    h = {"Content-Type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)


def token(role, agent=None):
    st, body, _ = http("POST", f"{API}/_local/token", {"role": role, "agentId": agent})
    assert st == 200, body
    return body["token"]


def new_number():
    """A customer number no other test uses."""
    return "55119" + str(uuid.uuid4().int % 10**8).zfill(8)


def customer_writes(number, name=None, minutes_ago=None):
    """A customer writes while the team is closed (last night, São Paulo)."""
    args = [CLI, "webhook", "--from", number, "--text", "Oi, preciso de ajuda"]
    args += ["--name", name] if name else ["--no-name"]
    args += ["--minutes-ago", str(minutes_ago)] if minutes_ago else ["--last-night"]
    subprocess.run(args, check=True, capture_output=True, timeout=60)


def taps(number, answer, name):
    """The customer taps a button of the prompt they got."""
    sent = http("GET", f"{SANDBOX}/_sandbox/messages")[1]["data"]
    prompt = [m for m in sent if m["body"].get("to") == number and m["body"].get("type") == "interactive"][-1]
    subprocess.run([CLI, "webhook", "--from", number, "--name", name, "--button", answer,
                    "--context", prompt["wamid"]],
                   check=True, capture_output=True, timeout=60)


def record_of(number, agent_token):
    _, page, _ = http("GET", f"{API}/contacts?limit=100", token=agent_token)
    return next(i for i in page["items"] if i["contact"] == f"+{number}")


def send_by_api(record_id, agent_token):
    body = {"template": {"name": "callback_after_hours", "language": "pt_BR"},
            "variables": {"1": "Maria", "2": "Ana"}}
    return http("POST", f"{API}/contacts/{record_id}/active-messages", body, token=agent_token)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 820}, locale="pt-BR")
    pg = ctx.new_page()
    yield pg
    ctx.close()


def sign_in(page, who, lang=None):
    """Opens the desk as `make run` serves it and signs in with the local role
    picker (`who`: agent-1, agent-2, supervisor-1 or admin-1)."""
    page.goto(f"{API}/")
    page.locator(f"#as-{who}").click()
    page.wait_for_selector("body[data-ready='true']")
    if lang:
        page.select_option("#lang", lang)
    page.wait_for_selector("#rows tr:not(.skeleton)", timeout=15000)


def watch_toasts(page):
    """Records every toast the page shows from now on, so a test can count
    them whatever their timers did since."""
    page.evaluate("""() => {
        window.__toasts = [];
        new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {
            if (n.classList && n.classList.contains('toast')) {
                window.__toasts.push({error: n.classList.contains('error'), text: n.textContent});
            }
        }))).observe(document.getElementById('toasts'), {childList: true});
    }""")


def toasts_seen(page, count):
    """The first `count` toasts recorded by watch_toasts, once there are that many."""
    page.wait_for_function("n => window.__toasts.length >= n", arg=count, timeout=15000)
    return page.evaluate("window.__toasts")


def shot(page, name, **kw):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), **kw)


@pytest.fixture(scope="session", autouse=True)
def team_closed_all_week():
    close_all_week()


def close_all_week():
    """The demo team closes all week for these tests, so that every message
    is outside hours and gets its prompt whatever time CI runs."""
    days = {d: None for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    st, body, _ = http("PATCH", f"{API}/settings", {"businessHours": {"weekly": days, "exceptions": []}},
                       token=token("admin"), headers={"Content-Type": "application/merge-patch+json"})
    assert st == 200, body
