"""A desk that lasts a working day, in a real browser: the cap refuses at the
first tap, each row says what happened to the contact, contacts are marked
handled and back, new contacts are offered, the session outlives its token,
agents are found by name, and Portuguese pages say nothing in English."""

import re
import subprocess

from playwright.sync_api import expect

from conftest import (API, CLI, customer_writes, http, new_number, record_of, send_by_api, shot,
                      sign_in, taps, toasts_seen, token, watch_toasts)


def row(page, number):
    return page.locator("#rows tr", has_text=f"+{number}")


def status(wamid, st, number):
    subprocess.run([CLI, "status", "--wamid", wamid, "--status", st, "--to", number],
                   check=True, capture_output=True, timeout=60)


def capped(number):
    """A customer agent-1 already sent the demo's cap (2) of active messages."""
    customer_writes(number, "Tina Melo")
    agent = token("agent", "agent-1")
    rec = record_of(number, agent)
    for _ in range(2):
        st, body, _ = send_by_api(rec["id"], agent)
        assert st == 200, body


def test_on_a_phone_a_tap_on_a_capped_button_refuses_at_once_and_opens_the_tooltip(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              locale="en-US")
    try:
        page = ctx.new_page()
        number = new_number()
        capped(number)
        sign_in(page, "agent-1", lang="en_US")
        button = row(page, number).locator("button.send")
        watch_toasts(page)
        button.tap()
        tip = row(page, number).locator(".tooltip")
        expect(tip).to_be_visible()
        expect(tip).to_have_text(re.compile(r"^Available again in .+, at \d{2}/\d{2} \d{2}:\d{2}$"))
        refused = toasts_seen(page, 1)[0]
        assert refused["error"] and "You can send another active message to this customer at" in refused["text"]
        expect(page.locator("dialog[open]")).to_have_count(0)
        shot(page, "phone-tooltip")
    finally:
        ctx.close()


def test_each_row_says_who_sent_which_template_and_how_whatsapp_delivered_it(page):
    agent = token("agent", "agent-1")
    people = {"read": new_number(), "delivered": new_number(), "failed": new_number(), "waiting": new_number()}
    for name, number in people.items():
        customer_writes(number, f"Cliente {name}")
    for st in ("read", "delivered", "failed"):
        number = people[st]
        code, body, _ = send_by_api(record_of(number, agent)["id"], agent)
        assert code == 200, body
        if st != "failed":
            status(body["messageId"], "delivered", number)
        status(body["messageId"], st, number)
    sign_in(page, "agent-1", lang="en_US")
    read = row(page, people["read"]).locator("td").nth(4)
    expect(read.locator(".pill")).to_have_text("Yes")
    expect(read.locator(".sent-by")).to_have_text(re.compile(r"^callback_after_hours · by Ana Lima, \d{2}/\d{2} \d{2}:\d{2}$"))
    expect(read.locator(".delivery")).to_have_text(re.compile(r"^Read · \d{2}/\d{2} \d{2}:\d{2}$"))
    expect(row(page, people["delivered"]).locator(".delivery")).to_have_text(re.compile("^Delivered"))
    failed = row(page, people["failed"])
    expect(failed.locator(".pill.no")).to_have_text("Failed")
    expect(failed.locator(".failure")).to_have_text(re.compile("^The message could not be delivered"))
    # The failed send used one of two: the button is usable, with no warning.
    expect(failed.locator("button.send")).not_to_have_class(re.compile("capped"))
    expect(row(page, people["waiting"]).locator("td").nth(4).locator(".pill")).to_have_text("No")
    expect(row(page, people["waiting"]).locator(".leaves")).to_have_text(re.compile(r"^leaves the list in 6 d \d+ h$"))
    page.select_option("#lang", "pt_BR")
    expect(row(page, people["failed"]).locator(".failure")).to_have_text(re.compile("^A mensagem não pôde ser entregue"))
    page.select_option("#lang", "en_US")
    expect(row(page, people["read"]).locator(".delivery")).to_have_text(re.compile("^Read"))
    # The picture shows these four rows only (other tests' customers share the demo list).
    page.evaluate("""numbers => document.querySelectorAll('#rows tr').forEach(tr => {
        if (!numbers.some(n => tr.textContent.includes('+' + n))) tr.remove();
    })""", list(people.values()))
    shot(page, "delivery-states")


def test_a_contact_is_marked_handled_with_a_note_and_undone_and_the_filter_stays_in_the_address(page):
    number = new_number()
    customer_writes(number, "Olga Prates")
    taps(number, "yes", "Olga Prates")
    sign_in(page, "agent-1", lang="en_US")
    row(page, number).locator("button.mark-handled").click()
    dialog = page.locator("dialog[open]")
    dialog.locator("#handled-note").fill("Phoned her at 9; she will come by.")
    dialog.locator("#confirm-handled").click()
    expect(row(page, number).locator(".handled")).to_contain_text(re.compile(r"Handled by Ana Lima, \d{2}/\d{2} \d{2}:\d{2}"))
    expect(row(page, number).locator(".note")).to_have_text("Phoned her at 9; she will come by.")
    rec = record_of(number, token("agent", "agent-1"))
    assert rec["handled"]["by"] == "agent-1" and rec["handled"]["note"] == "Phoned her at 9; she will come by."
    # Only the handled ones, oldest first: the address keeps both, a reload shows the same list.
    page.select_option("#handled", "true")
    page.select_option("#order", "oldest")
    expect(page).to_have_url(re.compile(r"#/contacts\?handled=true&order=oldest$"))
    expect(row(page, number)).to_have_count(1)
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("#handled")).to_have_value("true")
    expect(page.locator("#order")).to_have_value("oldest")
    expect(row(page, number)).to_have_count(1)
    row(page, number).locator("button.undo").click()
    expect(row(page, number).locator("button.mark-handled")).to_be_visible()
    assert record_of(number, token("agent", "agent-1"))["handled"] is None


def test_new_contacts_are_offered_while_the_page_is_open(page):
    page.goto(f"{API}/")
    page.evaluate("localStorage.setItem('afterhours.newContactsEveryMs', '1000')")
    sign_in(page, "agent-1", lang="en_US")
    number = new_number()
    customer_writes(number, "Nina Paz", minutes_ago=1)
    banner = page.locator("#show-new")
    expect(banner).to_have_text(re.compile(r"^(1 new contact|\d+ new contacts) — show$"), timeout=20000)
    expect(row(page, number)).to_have_count(0)
    banner.click()
    expect(row(page, number)).to_have_count(1)
    expect(page.locator("#show-new")).to_have_count(0)


def test_the_session_outlives_its_token(page):
    page.goto(f"{API}/")
    page.evaluate("localStorage.setItem('afterhours.localTokenSeconds', '12')")
    sign_in(page, "agent-1", lang="en_US")
    first = page.evaluate("sessionStorage.getItem('afterhours.token')")
    watch_toasts(page)
    page.wait_for_timeout(20000)  # longer than the token lives
    page.locator("#refresh").click()
    page.wait_for_selector("#rows tr:not(.skeleton)")
    expect(page.locator("#as-agent-1")).to_have_count(0)
    expect(page.locator("#user")).to_have_text("Ana Lima · agent")
    assert page.evaluate("sessionStorage.getItem('afterhours.token')") != first, "renewed"
    assert not [x for x in page.evaluate("window.__toasts") if x["error"]], "no error on the way"
    page.evaluate("localStorage.removeItem('afterhours.localTokenSeconds')")


def test_a_supervisor_finds_an_agent_by_name(page):
    # agent-2 used the desk once, so their name is known.
    assert http("GET", f"{API}/agents", token=token("agent", "agent-2"))[0] == 200
    number = new_number()
    a2 = token("agent", "agent-2")
    st, body, _ = http("POST", f"{API}/active-messages", {
        "channel": "100000000000001", "to": f"+{number}", "template": {"name": "callback_after_hours", "language": "pt_BR"},
        "variables": {"1": "Rita", "2": "Ana"}}, token=a2)
    assert st == 200, body
    customer_writes(number, "Rita Alves", minutes_ago=1)
    sign_in(page, "supervisor-1", lang="en_US")
    page.locator("#agent-search").fill("bru")
    options = page.locator("#agent option")
    expect(options.filter(has_text=re.compile(r"^Bruno Reis: \d+ contacts"))).to_have_count(1)
    expect(options.filter(has_text="Ana Lima")).to_have_count(0)
    page.select_option("#agent", "agent-2")
    expect(row(page, number)).to_contain_text("Rita Alves")
    expect(page).to_have_url(re.compile(r"agent=agent-2"))
    shot(page, "agent-search")


def test_portuguese_pages_say_nothing_in_english(page):
    sign_in(page, "admin-1", lang="pt_BR")
    expect(page.locator("a.skip")).to_have_text("Pular para o conteúdo")
    assert page.locator("#lang option").all_inner_texts() == ["Português (Brasil)", "English (US)", "Español (España)"]
    page.goto(f"{API}/desk/#/settings")
    expect(page.locator("#s-language option")).to_have_count(3)
    assert "Português (Brasil)" in page.locator("#s-language option").all_inner_texts()
    expect(page.get_by_text(re.compile("2026-12-25 fechado"))).to_have_count(1)


def test_the_sign_in_code_is_exchanged_only_with_our_state_verifier_and_nonce_and_once(page):
    page.goto(f"{API}/desk/")
    out = page.evaluate("""async () => {
      const m = await import('./js/auth.js');
      const c = {domain: 'https://auth.example', clientId: 'client', redirectUri: 'https://desk.example/'};
      const idToken = (nonce) => 'h.' + btoa(JSON.stringify({sub: 'a', nonce})).replace(/=+$/, '') + '.s';
      const bodies = [];
      const fake = (nonce) => async (url, init) => {
        bodies.push(String(init.body));
        return {ok: true, json: async () => ({id_token: idToken(nonce), refresh_token: 'r'})};
      };
      const start = () => [['state', 's1'], ['verifier', 'v1'], ['nonce', 'n1']]
        .forEach(([k, v]) => sessionStorage.setItem('afterhours.' + k, v));
      const out = {};
      sessionStorage.clear();
      out.nothingStored = await m.exchange(c, '?code=x&state=null', fake('n1'));
      out.noState = await m.exchange(c, '?code=x', fake('n1'));
      start();
      out.wrongState = await m.exchange(c, '?code=x&state=s2', fake('n1'));
      out.keptAfterWrong = sessionStorage.getItem('afterhours.state');
      start();
      out.wrongNonce = await m.exchange(c, '?code=x&state=s1', fake('n2'));
      start();
      const good = await m.exchange(c, '?code=x&state=s1', fake('n1'));
      out.good = !!good && good.refresh_token === 'r';
      out.replay = await m.exchange(c, '?code=x&state=s1', fake('n1'));
      out.left = ['state', 'verifier', 'nonce'].map(k => sessionStorage.getItem('afterhours.' + k));
      out.bodies = bodies;
      return out;
    }""")
    assert out["nothingStored"] is None and out["noState"] is None, out
    assert out["wrongState"] is None and out["keptAfterWrong"] is None, "a wrong state spends the attempt"
    assert out["wrongNonce"] is None, "an ID token for another sign-in is refused"
    assert out["good"] is True and out["replay"] is None, "the same code and state work once"
    assert out["left"] == [None, None, None]
    assert len(out["bodies"]) == 2 and all("code_verifier=v1" in b for b in out["bodies"]), out["bodies"]


def test_a_401_renews_the_token_once_and_tries_again(page):
    sign_in(page, "agent-1", lang="en_US")
    out = page.evaluate("""async () => {
      const api = await import('./js/api.js');
      const good = sessionStorage.getItem('afterhours.token');
      let renewals = 0;
      api.configure('', 'expired', async () => { renewals++; return good; });
      const renewed = (await api.call('GET', '/contacts')).status;
      const afterwards = (await api.call('GET', '/contacts')).status;
      const once = renewals;
      api.configure('', 'expired', async () => { renewals++; return 'still-not-a-token'; });
      const refused = (await api.call('GET', '/contacts')).status;
      api.configure('', 'expired', async () => { renewals++; return null; });
      const signedOut = (await api.call('GET', '/contacts')).status;
      api.configure('', good, null);
      return {renewed, afterwards, once, refused, signedOut, renewals};
    }""")
    assert out == {"renewed": 200, "afterwards": 200, "once": 1, "refused": 401, "signedOut": 401,
                   "renewals": 3}, out
