"""The seeds' screens in a real browser: the list, the send modal, the cap's
icon, tooltip and toast, the settings, and who sees whose list."""

import re

from playwright.sync_api import expect

from conftest import (API, CHANNEL, SANDBOX, close_all_week, customer_writes, http, new_number,
                      record_of, send_by_api, shot, sign_in, taps, toasts_seen, token, watch_toasts)


def templates_to(number):
    sent = http("GET", f"{SANDBOX}/_sandbox/messages")[1]["data"]
    return [m for m in sent if m["body"].get("to") == number and m["body"].get("type") == "template"]


def row(page, number):
    return page.locator("#rows tr", has_text=f"+{number}")


def test_the_list_shows_a_seeded_night_with_the_seeds_columns(page):
    maria, nameless, joao = new_number(), new_number(), new_number()
    customer_writes(maria, "Maria Souza")
    customer_writes(nameless)
    customer_writes(joao, "João Lima")
    taps(maria, "yes", "Maria Souza")
    taps(joao, "no", "João Lima")
    sign_in(page, "agent-1")
    # The tenant speaks pt_BR: the page does too.
    expect(page.locator("h1")).to_have_text("Contatos fora do horário de atendimento")
    expect(row(page, nameless)).to_contain_text("(Sem nome)")
    page.select_option("#lang", "en_US")
    expect(page.locator("h1")).to_have_text("Contacts outside business hours")
    expect(row(page, maria).locator("td").nth(1)).to_have_text("Maria Souza")
    headers = page.locator("thead th").all_inner_texts()
    assert headers == ["Contact date", "Name", "Number", "Requested callback?", "Message sent?", "Action"]
    cells = row(page, maria).locator("td").all_inner_texts()
    date, leaves = cells[0].split("\n")
    assert re.fullmatch(r"\d{2}/\d{2} 23:10", date), cells
    assert re.fullmatch(r"leaves the list in \d d \d+ h", leaves), cells
    assert cells[1:5] == ["Maria Souza", f"+{maria}", "Yes", "No"], cells
    expect(row(page, nameless).locator("td").nth(1)).to_have_text("(No name)")
    expect(row(page, joao).locator("td").nth(3)).to_have_text("No")
    # Filters: only the callbacks asked for.
    page.select_option("#requestedCallback", "yes")
    expect(row(page, joao)).to_have_count(0)
    expect(row(page, maria)).to_have_count(1)
    page.select_option("#requestedCallback", "")
    expect(row(page, joao)).to_have_count(1)
    shot(page, "list")


def test_the_modal_refuses_an_empty_variable_and_sends_a_filled_one(page):
    number = new_number()
    customer_writes(number, "Carla Dias")
    sign_in(page, "agent-1", lang="en_US")
    row(page, number).get_by_role("button", name="Send active message").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text(f"Carla Dias (+{number})")
    dialog.locator("#tpl").select_option("callback_after_hours|pt_BR")
    dialog.locator("#f-1").fill("Carla")
    dialog.locator("#confirm").click()
    # Variable 2 is empty: refused on its field, nothing sent.
    expect(dialog.locator("[data-error-for='2']")).to_have_text("Fill this in.")
    assert templates_to(number) == [], "nothing was sent"
    dialog.locator("#f-2").fill("Ana")
    expect(dialog.locator("#preview")).to_contain_text("Olá Carla, aqui é Ana.")
    shot(page, "modal")
    dialog.locator("#confirm").click()
    expect(page.locator(".toast")).to_contain_text("Active message sent.")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(row(page, number).locator("td").nth(4).locator(".pill")).to_have_text("Yes")
    assert record_of(number, token("agent", "agent-1"))["messageSent"] is True
    assert len(templates_to(number)) == 1


def test_over_the_cap_the_button_warns_the_tooltip_says_when_and_trying_shows_the_toast(page):
    number = new_number()
    customer_writes(number, "Bruno Reis")
    agent = token("agent", "agent-1")
    rec = record_of(number, agent)
    for _ in range(2):  # the demo's cap is 2 per customer in 24 h
        st, body, _ = send_by_api(rec["id"], agent)
        assert st == 200, body
    sign_in(page, "agent-1", lang="en_US")
    button = row(page, number).locator("button.send")
    expect(button).to_have_class(re.compile("capped"))
    expect(button.locator(".warn-icon")).to_be_visible()
    tip = row(page, number).locator(".tooltip")
    button.focus()  # keyboard users get the tooltip too
    expect(tip).to_be_visible()
    page.locator("#refresh-anchor, h1").first.click()
    button.hover()
    expect(tip).to_be_visible()
    # Free again 24 h after the first send: tomorrow, so the day is said (month first in English).
    expect(tip).to_have_text(re.compile(r"^Available again in (23 h 5\d min|24 h 00 min), at \d{2}/\d{2} \d{2}:\d{2}$"))
    shot(page, "tooltip")
    # The first click refuses: no form to fill, the toast says why and when.
    watch_toasts(page)
    button.click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    refused = toasts_seen(page, 1)[0]
    assert refused["error"], refused
    assert re.search(r"You can send another active message to this customer at \d{2}/\d{2} \d{2}:\d{2} \(in (23 h 5\d min|24 h 00 min)\)\.$",
                     refused["text"]), refused
    # The API words its own refusal the same way.
    st, body, _ = http("POST", f"{API}/contacts/{rec['id']}/active-messages",
                       {"template": {"name": "callback_after_hours", "language": "pt_BR"}, "variables": {"1": "B", "2": "A"}},
                       token=agent, headers={"Accept-Language": "en-US"})
    assert st == 429, body
    assert body["error"]["message"].split(" at ")[1][:11] == refused["text"].split(" at ")[1][:11], (body, refused)
    assert len(templates_to(number)) == 2, "the refused attempt reached nobody"


def test_an_admin_turns_the_cap_off_and_on(page):
    admin = token("admin")
    try:
        sign_in(page, "admin-1", lang="en_US")
        page.goto(f"{API}/desk/#/settings")
        watch_toasts(page)
        box = page.get_by_label("Limit the total number of active messages per customer")
        expect(box).to_be_checked()
        box.uncheck()
        page.locator("#save").click()
        assert toasts_seen(page, 1)[:1] == [{"error": False, "text": "Settings saved."}]
        assert http("GET", f"{API}/settings", token=admin)[1]["activeMessageLimit"]["enabled"] is False
        box.check()
        page.locator("#s-max").fill("0")
        page.locator("#save").click()
        # A 422 shows on its field, and nothing changes.
        expect(page.locator("[data-error-for='activeMessageLimit.maxPerContactPer24h']")).not_to_be_empty()
        assert http("GET", f"{API}/settings", token=admin)[1]["activeMessageLimit"]["enabled"] is False
        page.locator("#s-max").fill("2")
        for day in ("mon", "tue", "wed", "thu", "fri"):
            page.locator(f"#s-{day}").fill("08:00-12:00, 13:00-18:00")
        page.locator("#save").click()
        saved = {"error": False, "text": "Settings saved."}
        assert toasts_seen(page, 3) == [saved, {"error": True, "text": "Some settings are not valid."}, saved]
        settings = http("GET", f"{API}/settings", token=admin)[1]
        assert settings["activeMessageLimit"] == {"enabled": True, "maxPerContactPer24h": 2}
        assert settings["businessHours"]["weekly"]["tue"] == [["08:00", "12:00"], ["13:00", "18:00"]]
        assert "sat" not in settings["businessHours"]["weekly"]
        assert settings["timezone"] == "America/Sao_Paulo", "the rest is as it was"
        page.evaluate("document.getElementById('toasts').replaceChildren()")
        shot(page, "settings", full_page=True)
    finally:
        # What the other tests rely on: closed all week, the cap of 2 on.
        close_all_week()
        st, body, _ = http("PATCH", f"{API}/settings",
                           {"activeMessageLimit": {"enabled": True, "maxPerContactPer24h": 2}},
                           token=admin, headers={"Content-Type": "application/merge-patch+json"})
        assert st == 200, body


def test_others_see_the_settings_read_only(page):
    close_all_week()
    sign_in(page, "supervisor-1", lang="en_US")
    page.goto(f"{API}/desk/#/settings")
    expect(page.locator("#read-only")).to_be_visible()
    expect(page.get_by_label("Limit the total number of active messages per customer")).to_be_disabled()
    expect(page.locator("#save")).to_be_hidden()


def test_an_agent_cannot_see_another_agents_list(page):
    # agent-2 reaches a customer by number; that customer's next night is agent-2's.
    number = new_number()
    a2 = token("agent", "agent-2")
    st, body, _ = http("POST", f"{API}/active-messages", {
        "channel": CHANNEL, "to": f"+{number}", "template": {"name": "callback_after_hours", "language": "pt_BR"},
        "variables": {"1": "Rita", "2": "Ana"}}, token=a2)
    assert st == 200, body
    customer_writes(number, "Rita Alves", minutes_ago=1)
    sign_in(page, "supervisor-1", lang="en_US")
    expect(page.locator("#agent option[value='agent-2']")).to_have_count(1)
    expect(page.locator("#agent option[value='agent-1']")).to_have_count(1)
    page.select_option("#agent", "agent-2")
    expect(row(page, number)).to_contain_text("Rita Alves")
    page.context.clear_cookies()
    page.evaluate("sessionStorage.clear()")
    sign_in(page, "agent-1", lang="en_US")
    expect(page.locator("#agent")).to_be_disabled()
    # People go by their names: the header and the selector say "Ana Lima", not the id.
    assert page.locator("#agent option").all_inner_texts()[0].startswith("Ana Lima")
    expect(page.locator("#user")).to_have_text("Ana Lima · agent")
    expect(row(page, number)).to_have_count(0)
    page.goto(f"{API}/desk/#/contacts?agent=agent-2")
    expect(page.locator(".toast.error")).to_contain_text("Agents can only list their own contacts.")
    expect(row(page, number)).to_have_count(0)


def test_the_general_screen_sends_to_any_number_with_the_same_cap(page):
    number = new_number()
    sign_in(page, "agent-1", lang="en_US")
    page.goto(f"{API}/desk/#/general")
    watch_toasts(page)
    page.locator("#number").fill(f"+{number}")
    page.locator("#check").click()
    expect(page.locator("#quota")).to_contain_text("2 of 2 left in 24 h")

    def send_one():
        page.locator("#quota button.send").click()
        dialog = page.locator("dialog[open]")
        dialog.locator("#tpl").select_option("callback_after_hours|pt_BR")
        dialog.locator("#f-1").fill("Paula")
        dialog.locator("#f-2").fill("Ana")
        dialog.locator("#confirm").click()

    for sent, left in ((1, "1 of 2"), (2, "0 of 2")):
        send_one()
        assert toasts_seen(page, sent)[sent - 1] == {"error": False, "text": "Active message sent."}
        expect(page.locator("#quota")).to_contain_text(f"{left} left in 24 h")
        assert len(templates_to(number)) == sent
    expect(page.locator("#quota button.send .warn-icon")).to_be_visible()
    # A third attempt is refused at the click, and nothing more reaches WhatsApp.
    page.locator("#quota button.send").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    third = toasts_seen(page, 3)[2]
    assert third["error"] and "You can send another active message to this customer at" in third["text"], third
    assert len(templates_to(number)) == 2


def test_a_phone_sized_screen_shows_the_list_as_cards(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US")
    try:
        page = ctx.new_page()
        number = new_number()
        customer_writes(number, "Lia Prado")
        sign_in(page, "agent-1", lang="en_US")
        r = row(page, number)
        expect(r.get_by_role("button", name="Send active message")).to_be_visible()
        # Cards: no table header, each row a block, each cell a labelled line.
        expect(page.locator("thead")).to_be_hidden()
        layout = r.evaluate("""tr => ({
            row: getComputedStyle(tr).display,
            cells: [...tr.cells].map(td => getComputedStyle(td).display),
            labels: [...tr.cells].map(td => getComputedStyle(td, '::before').content),
            lefts: [...tr.cells].map(td => Math.round(td.getBoundingClientRect().left)),
        })""")
        assert layout["row"] == "block", layout
        assert set(layout["cells"]) == {"flex"}, layout
        assert len(set(layout["lefts"])) == 1, "the cells stack, one under another"
        assert '"Name"' in layout["labels"], layout
        box = r.bounding_box()
        assert box["width"] <= 390, box
        page.keyboard.press("Tab")
        shot(page, "phone")
    finally:
        ctx.close()


def patch_settings(patch):
    st, body, _ = http("PATCH", f"{API}/settings", patch, token=token("admin"),
                       headers={"Content-Type": "application/merge-patch+json"})
    assert st == 200, body


def test_many_na_rows_suggest_the_notify_option_and_24_7_explains_the_empty_list(page):
    # With the prompt off, nobody is asked: the night's rows are N/A.
    patch_settings({"notifyNextServiceHours": False})
    try:
        numbers = [new_number() for _ in range(3)]
        for n in numbers:
            customer_writes(n, "Sem Aviso")
        sign_in(page, "agent-1", lang="en_US")
        page.select_option("#requestedCallback", "n/a")
        expect(row(page, numbers[0])).to_contain_text("N/A")
        expect(page.locator("#na-hint")).to_contain_text("Notify the next service hours")
    finally:
        patch_settings({"notifyNextServiceHours": True})
    patch_settings({"alwaysOpen": True})
    try:
        page.reload()
        page.wait_for_selector("body[data-ready='true']")
        expect(page.locator("#always-open")).to_contain_text("24/7 service is on")
        expect(page.locator("#rows tr", has_text="+55")).to_have_count(0)
    finally:
        patch_settings({"alwaysOpen": False})
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    expect(row(page, numbers[0])).to_have_count(1)


def test_the_modal_works_from_the_keyboard(page):
    number = new_number()
    customer_writes(number, "Teclado Silva")
    sign_in(page, "agent-1", lang="en_US")
    button = row(page, number).get_by_role("button", name="Send active message")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#tpl")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(button).to_be_focused()


def test_the_page_works_under_its_content_security_policy(page):
    """The gateway serves the page with its CSP; every screen runs without a
    violation or an error in the console."""
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    number = new_number()
    customer_writes(number, "Ana CSP")
    response = page.goto(f"{API}/desk/")
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert response.headers.get("referrer-policy") == "no-referrer"
    sign_in(page, "agent-1")
    expect(row(page, number)).to_have_count(1)
    for screen in ("#/general", "#/settings", "#/contacts"):
        page.goto(f"{API}/desk/{screen}")
        page.wait_for_load_state("networkidle")
    assert problems == [], problems
