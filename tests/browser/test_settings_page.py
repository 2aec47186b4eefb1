"""The Settings -> API Keys page in a real browser, against the real service.

Each test arranges what it needs through the GraphQL API as its own user, drives the page the
way a person would (roles, labels, double-clicks, dialogs), and checks both the screen and what
the API then says. Full keys and tokens are compared without ever being printed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from tests.browser.support import Service, User, open_page

MASKED_KEY = re.compile(r"^[a-z0-9]{1,10}_\*{4}[A-Za-z0-9]{4}$")

RUN_COMMAND = """
  query ($workflowId: ID!, $method: RunMethod!, $apiKeyId: ID) {
    workflowRunCommand(workflowId: $workflowId, method: $method, apiKeyId: $apiKeyId) {
      command maskedCommand apiKey { id name }
    }
  }"""


def key_rows(page: Page) -> Locator:
    return page.get_by_test_id("key-row")


def key_row(page: Page, name: str) -> Locator:
    """The row of the key named exactly `name`."""
    name_cell = page.get_by_test_id("name-cell").locator(".name-text").get_by_text(name, exact=True)
    return key_rows(page).filter(has=name_cell)


def assert_secret(actual: str, expected: str, what: str) -> None:
    """`actual == expected`, without pytest printing either value (they are secrets)."""
    same = actual == expected
    assert same, f"{what} is not the expected secret"


def assert_not_shown(secret: str, text: str, where: str) -> None:
    shown = secret in text
    assert not shown, f"the full key is shown in {where}"


async def open_menu_item(page: Page, key_name: str, item: str) -> None:
    await key_row(page, key_name).get_by_role("button", name=f"Actions for {key_name}").click()
    await page.get_by_role("menuitem", name=item).click()


async def new_key_step(page: Page) -> Locator:
    """The "Copy your new key" step, once it shows the key."""
    step = page.get_by_role("dialog", name="Copy your new key")
    await expect(step).to_be_visible()
    await expect(step.get_by_label("New key")).to_have_attribute("data-secret", "")
    return step


async def finish_new_key(page: Page) -> None:
    """Close the "Copy your new key" step (shown after every create and rotation)."""
    step = await new_key_step(page)
    await step.get_by_role("button", name="Done").click()
    await expect(step).to_be_hidden()


async def has_query_field(user: User, field: str) -> bool:
    data = await user.data('{ __type(name: "Query") { fields { name } } }')
    return any(f["name"] == field for f in data["__type"]["fields"])


async def wait_for(condition: Any, what: str, timeout: float = 5) -> None:
    """Poll the async `condition()` until it is true."""
    for _ in range(int(timeout / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- Signing in ---------------------------------------------------------------------------


async def test_signs_in_from_the_url_fragment_and_lists_the_default_key(
    page: Page, user: User
) -> None:
    [default] = await user.keys()
    await open_page(page, user)

    await expect(key_rows(page)).to_have_count(1)
    row = key_row(page, "Default")
    await expect(row.get_by_test_id("default-badge")).to_have_text("Default")
    await expect(row.get_by_test_id("key-value")).to_have_text(MASKED_KEY)
    await expect(row.get_by_test_id("key-value")).to_have_text(default["maskedKey"])
    await expect(row.get_by_test_id("description-cell")).to_have_text("—")
    await expect(row.get_by_test_id("created-at")).to_have_text(
        re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$")
    )
    await expect(row.get_by_test_id("last-used")).to_have_text("Never")
    await expect(page.get_by_test_id("keys-count")).to_have_text("1 of 5 keys")
    await expect(page.get_by_test_id("limit-note")).to_be_hidden()

    # The token left the address bar (and the history entry), and stays for this tab only.
    token_in_url = await page.evaluate("() => location.href.includes('token')")
    assert not token_in_url, "the session token is still in the address bar"
    stored = await page.evaluate("() => sessionStorage.getItem('apikeys.sessionToken') !== null")
    assert stored, "the session token was not kept in sessionStorage"
    await page.reload()
    await expect(key_row(page, "Default")).to_be_visible()


async def test_asks_for_a_token_and_again_when_the_api_refuses_it(page: Page, user: User) -> None:
    await open_page(page)
    token_box = page.get_by_label("Session token")
    await expect(token_box).to_be_visible()
    await expect(page.get_by_role("button", name="New API Key")).to_be_hidden()

    await token_box.fill("not-a-session-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("expired or is not valid")
    await expect(token_box).to_be_visible()
    await expect(key_rows(page)).to_have_count(0)

    await token_box.fill(user.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(key_rows(page)).to_have_count(1)
    await expect(token_box).to_be_hidden()

    await page.get_by_role("button", name="Sign out").click()
    await expect(token_box).to_be_visible()
    await expect(key_rows(page)).to_have_count(0)


async def test_a_refused_token_in_the_fragment_shows_the_sign_in_box(page: Page) -> None:
    await page.goto("/#token=expired.or.forged")
    await expect(page.get_by_role("alert")).to_contain_text("expired or is not valid")
    await expect(page.get_by_label("Session token")).to_be_visible()
    token_in_url = await page.evaluate("() => location.href.includes('token')")
    assert not token_in_url, "the refused token is still in the address bar"


# --- Creating keys ------------------------------------------------------------------------


async def test_creates_a_key_with_the_new_api_key_form(page: Page, user: User) -> None:
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(1)

    await page.get_by_role("button", name="New API Key").click()
    dialog = page.get_by_role("dialog", name="New API Key")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    await dialog.get_by_label("Name", exact=True).fill("CI deploys")
    await dialog.get_by_label("Description").fill("Nightly deploys")
    await dialog.get_by_role("button", name="Create key").click()

    await expect(dialog).to_be_hidden()
    await finish_new_key(page)
    row = key_row(page, "CI deploys")
    await expect(row.get_by_test_id("description-cell")).to_have_text("Nightly deploys")
    await expect(row.get_by_test_id("key-value")).to_have_text(MASKED_KEY)
    await expect(row.get_by_test_id("default-badge")).to_have_count(0)
    await expect(row.get_by_test_id("last-used")).to_have_text("Never")
    await expect(page.get_by_test_id("keys-count")).to_have_text("2 of 5 keys")
    await expect(page.get_by_role("status")).to_contain_text("“CI deploys” created")

    keys = await user.keys()
    assert [(k["name"], k["description"]) for k in keys] == [
        ("Default", None),
        ("CI deploys", "Nightly deploys"),
    ]
    await expect(row.get_by_test_id("key-value")).to_have_text(keys[1]["maskedKey"])


async def test_shows_the_servers_validation_errors_in_the_form(page: Page, user: User) -> None:
    await open_page(page, user)
    await page.get_by_role("button", name="New API Key").click()
    dialog = page.get_by_role("dialog", name="New API Key")
    name = dialog.get_by_label("Name", exact=True)
    error = dialog.get_by_role("alert")

    for attempt in ("", "x" * 65, "default"):
        # What the API itself says about this name is what the page must show.
        refusal = await user.create_key(attempt)
        assert refusal["__typename"] != "ApiKey", refusal
        await name.fill(attempt)
        await dialog.get_by_role("button", name="Create key").click()
        await expect(error).to_have_text(refusal["message"])
        await expect(dialog).to_be_visible()
        # Each of these is the name's fault (a taken name too): the field is marked.
        await expect(name).to_have_attribute("aria-invalid", "true")
        await expect(name).to_be_focused()

    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert len(await user.keys()) == 1
    # Opening the form again starts clean.
    await page.get_by_role("button", name="New API Key").click()
    await expect(error).to_be_hidden()
    await expect(name).to_have_value("")


# --- Editing --------------------------------------------------------------------------------


async def test_renames_and_describes_a_key_in_the_editor(page: Page, user: User) -> None:
    created = await user.create_key("Zapier", "old words")
    await open_page(page, user)
    row = key_row(page, "Zapier")
    editor = page.get_by_role("dialog", name="Edit key")
    name = editor.get_by_role("textbox", name="Name", exact=True)
    description = editor.get_by_role("textbox", name="Description")

    # The menu's Edit: the editor, the whole name selected; Enter saves.
    await open_menu_item(page, "Zapier", "Edit")
    await expect(name).to_be_focused()
    await expect(name).to_have_value("Zapier")
    await expect(description).to_have_value("old words")
    await name.fill("Zapier (prod)")
    await name.press("Enter")
    await expect(editor).to_be_hidden()
    row = key_row(page, "Zapier (prod)")
    await expect(row).to_be_visible()
    await expect(row.get_by_test_id("name-cell")).to_be_focused()
    await expect(page.get_by_role("status")).to_have_text("Saved.")

    # Escape cancels.
    await row.get_by_test_id("name-cell").dblclick()
    await name.fill("Never saved")
    await name.press("Escape")
    await expect(editor).to_be_hidden()
    await expect(row.get_by_test_id("name-cell")).to_have_text("Zapier (prod)")

    # Double-clicking the description starts there; Save saves.
    await row.get_by_test_id("description-cell").dblclick()
    await expect(description).to_be_focused()
    await description.fill("Runs every hour")
    await editor.get_by_role("button", name="Save").click()
    await expect(row.get_by_test_id("description-cell")).to_have_text("Runs every hour")
    await expect(row.get_by_test_id("description-cell")).to_be_focused()

    [_, stored] = await user.keys()
    assert (stored["id"], stored["name"], stored["description"]) == (
        created["id"],
        "Zapier (prod)",
        "Runs every hour",
    )

    # From the keyboard: Enter on the focused cell opens the editor. An emptied description is
    # no description (sent as null).
    await row.get_by_test_id("description-cell").press("Enter")
    await description.fill("")
    await editor.get_by_role("button", name="Save").click()
    await expect(row.get_by_test_id("description-cell")).to_have_text("—")
    await wait_for(
        lambda: _description_is(user, created["id"], None), "the description to be cleared"
    )


async def _description_is(user: User, key_id: str, expected: str | None) -> bool:
    return any(k["id"] == key_id and k["description"] == expected for k in await user.keys())


# --- Rotating and deleting ----------------------------------------------------------------


async def test_rotates_the_default_key_after_confirmation(page: Page, user: User) -> None:
    [before] = await user.keys()
    old_secret = await user.secret(before["id"])
    await open_page(page, user)
    value = key_row(page, "Default").get_by_test_id("key-value")
    await expect(value).to_have_text(before["maskedKey"])

    # The default key's menu offers Rotate, not Delete.
    await key_row(page, "Default").get_by_role("button", name="Actions for Default").click()
    await expect(page.get_by_role("menuitem", name="Delete")).to_have_count(0)
    await page.get_by_role("menuitem", name="Rotate").click()
    dialog = page.get_by_role("dialog", name="Rotate the default key?")
    await expect(dialog).to_be_visible()

    # Cancel changes nothing.
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert (await user.keys())[0]["maskedKey"] == before["maskedKey"]

    await open_menu_item(page, "Default", "Rotate")
    # A key never used: nothing needs time to move over, so it stops at once unless asked.
    await expect(dialog.get_by_label("Old key stops working")).to_have_value("0")
    await dialog.get_by_label("Old key stops working").select_option(label="In 1 hour")
    await dialog.get_by_role("button", name="Rotate key").click()
    await expect(dialog).to_be_hidden()
    await finish_new_key(page)
    await expect(value).not_to_have_text(before["maskedKey"])
    await expect(page.get_by_role("status")).to_contain_text("keeps working for 1 hour")
    await expect(key_row(page, "Default").get_by_test_id("old-secret")).to_have_text(
        re.compile(r"^The old key keeps working until .+ \(in (1 hour|60 minutes)\)\.$")
    )

    [after] = await user.keys()
    assert after["id"] == before["id"]
    assert after["rotatedAt"] is not None
    await expect(value).to_have_text(after["maskedKey"])
    # The grace period chosen was sent: the old secret still reads (API-key authentication).
    response = await user.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": old_secret}
    )
    assert "errors" not in response.json(), "the old key stopped working despite the grace period"


async def test_deletes_a_key_after_confirmation(page: Page, user: User) -> None:
    await user.create_key("Old laptop")
    await open_page(page, user)
    row = key_row(page, "Old laptop")
    await expect(row).to_be_visible()

    await open_menu_item(page, "Old laptop", "Delete")
    dialog = page.get_by_role("dialog", name="Delete this key?")
    await expect(dialog).to_contain_text("“Old laptop”")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_be_visible()

    await open_menu_item(page, "Old laptop", "Delete")
    await dialog.get_by_role("button", name="Delete key").click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_have_count(0)
    await expect(key_rows(page)).to_have_count(1)
    await expect(page.get_by_role("status")).to_contain_text("“Old laptop” deleted")
    assert [k["name"] for k in await user.keys()] == ["Default"]


async def test_at_the_limit_new_api_key_is_disabled_and_says_why(page: Page, user: User) -> None:
    for n in range(3):
        await user.create_key(f"Key {n}")
    await open_page(page, user)
    new_key = page.get_by_role("button", name="New API key")
    note = page.get_by_test_id("limit-note")
    await expect(key_rows(page)).to_have_count(4)
    await expect(new_key).to_be_enabled()
    await expect(note).to_be_hidden()

    # Another tab took the fifth place meanwhile: the server's refusal is what the form shows.
    refusal = await user.create_key("Elsewhere")
    assert refusal["__typename"] == "ApiKey", refusal
    refusal = await user.create_key("One too many")
    assert refusal["code"] == "KEY_LIMIT_REACHED", refusal
    await new_key.click()
    dialog = page.get_by_role("dialog", name="New API key")
    await dialog.get_by_label("Name", exact=True).fill("One too many")
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog.get_by_role("alert")).to_have_text(refusal["message"])
    await dialog.get_by_role("button", name="Cancel").click()

    # With five keys on the page, the button is disabled, and the reason is beside it.
    await page.reload()
    await expect(key_rows(page)).to_have_count(5)
    await expect(page.get_by_test_id("keys-count")).to_have_text("5 of 5 keys")
    await expect(new_key).to_be_disabled()
    await expect(note).to_have_text(
        "You have reached the limit of 5 API keys. Delete a key to create a new one."
    )
    await expect(new_key).to_have_attribute("aria-describedby", "limit-note")
    note_box, button_box = await note.bounding_box(), await new_key.bounding_box()
    assert note_box and button_box
    beside = note_box["x"] + note_box["width"] <= button_box["x"] and (
        note_box["y"] < button_box["y"] + button_box["height"]
        and button_box["y"] < note_box["y"] + note_box["height"]
    )
    assert beside, f"the reason is not beside the button: {note_box} {button_box}"

    # Below the limit again, the button works and the note goes away.
    await open_menu_item(page, "Key 0", "Delete")
    await (
        page.get_by_role("dialog", name="Delete this key?")
        .get_by_role("button", name="Delete key")
        .click()
    )
    await expect(key_rows(page)).to_have_count(4)
    await expect(new_key).to_be_enabled()
    await expect(note).to_be_hidden()


async def test_the_limit_is_the_one_the_server_puts_in_the_page(page: Page, user: User) -> None:
    """A deployment with another APIKEYS_MAX_KEYS_PER_USER says so in the page it serves (as
    tests/test_settings_page_limit.py checks); the page counts with it."""
    await user.create_key("Second")

    async def serve_limit_of_two(route: Route) -> None:
        response = await route.fetch()
        html = (await response.text()).replace(
            '<meta name="apikeys-key-limit" content="5">',
            '<meta name="apikeys-key-limit" content="2">',
        )
        await route.fulfill(response=response, body=html)

    await page.route(re.compile(r"/(index\.html)?(#.*)?$"), serve_limit_of_two)
    await open_page(page, user)
    await expect(page.get_by_test_id("keys-count")).to_have_text("2 of 2 keys")
    await expect(page.get_by_role("button", name="New API key")).to_be_disabled()


# --- Reveal, copy, last used --------------------------------------------------------------


async def test_reveals_and_copies_a_key_only_when_asked(page: Page, user: User) -> None:
    [default] = await user.keys()
    secret = await user.secret(default["id"])
    await open_page(page, user)
    row = key_row(page, "Default")
    value = row.get_by_test_id("key-value")
    await expect(value).to_have_text(default["maskedKey"])
    assert_not_shown(secret, await page.content(), "the page before Reveal")

    await row.get_by_role("button", name="Reveal key").click()
    await expect(value).to_have_attribute("data-secret", "")
    assert_secret(await value.inner_text(), secret, "the revealed key")

    await row.get_by_role("button", name="Hide key").click()
    await expect(value).to_have_text(default["maskedKey"])
    assert_not_shown(secret, await page.content(), "the page after Hide")

    copy = row.get_by_role("button", name="Copy key")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    await expect(page.get_by_role("status")).to_contain_text("copied")
    assert_secret(await page.evaluate("navigator.clipboard.readText()"), secret, "the clipboard")
    assert_not_shown(secret, await page.content(), "the page after Copy")


async def test_copy_works_without_the_clipboard_api(page: Page, user: User) -> None:
    # As on an insecure origin: no navigator.clipboard. Record what execCommand('copy') copies.
    await page.add_init_script(
        """
        Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });
        window.copied = [];
        const execCommand = Document.prototype.execCommand;
        Document.prototype.execCommand = function (command, ...rest) {
          const field = document.activeElement;
          if (command === 'copy' && field && 'selectionStart' in field) {
            window.copied.push(field.value.slice(field.selectionStart, field.selectionEnd));
          }
          return execCommand.call(this, command, ...rest);
        };
        """
    )
    [default] = await user.keys()
    secret = await user.secret(default["id"])
    await open_page(page, user)
    copy = key_row(page, "Default").get_by_role("button", name="Copy key")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    copied: list[str] = await page.evaluate("window.copied")
    assert len(copied) == 1, f"execCommand('copy') ran {len(copied)} times"
    assert_secret(copied[0], secret, "the selection copied")
    await expect(page.get_by_test_id("keys-error")).to_be_hidden()


async def test_last_used_is_relative(page: Page, user: User) -> None:
    [default] = await user.keys()
    secret = await user.secret(default["id"])
    # A request authenticated by the key is a use of it.
    await user.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": secret}
    )

    async def used() -> bool:
        return (await user.keys())[0]["lastUsedAt"] is not None

    await wait_for(used, "the use to be recorded")
    await open_page(page, user)
    await expect(key_row(page, "Default").get_by_test_id("last-used")).to_have_text("Just now")


# --- The run command ----------------------------------------------------------------------


async def test_run_command_shows_the_masked_command_and_copies_the_real_one(
    page: Page, user: User
) -> None:
    ci = await user.create_key("CI deploys")
    [default, _] = await user.keys()
    await open_page(page, user)
    panel = page.get_by_test_id("run-panel")
    command = panel.get_by_test_id("run-command")
    await expect(key_rows(page)).to_have_count(2)

    if not await has_query_field(user, "workflowRunCommand"):
        # The service does not have the field yet: the panel says so, the page still works.
        await expect(panel.get_by_role("alert")).to_contain_text("Could not build the run command")
        await key_row(page, "CI deploys").get_by_role("button", name="Reveal key").click()
        await expect(key_row(page, "CI deploys").get_by_test_id("key-value")).to_have_attribute(
            "data-secret", ""
        )
        return

    # It starts empty, with a placeholder and a hint rather than a made-up workflow.
    workflow = panel.get_by_label("Workflow ID")
    await expect(workflow).to_have_value("")
    await expect(workflow).to_have_attribute("placeholder", "e.g. daily-report")
    await expect(panel.get_by_test_id("run-hint")).to_be_visible()
    await expect(command).to_be_hidden()
    await expect(panel.get_by_role("alert")).to_be_hidden()

    # By default: the default key, the REST API.
    await workflow.fill("daily-report")
    await expect(panel.get_by_test_id("run-hint")).to_be_hidden()
    key_choice = panel.get_by_label("API key")
    await expect(key_choice.locator("option")).to_have_count(2)
    await expect(key_choice).to_have_value(default["id"])
    await expect(command).to_contain_text(default["maskedKey"])
    await expect(command).to_contain_text("daily-report")

    await key_choice.select_option(ci["id"])
    await panel.get_by_role("radio", name="CLI").check()
    await panel.get_by_label("Workflow ID").fill("nightly-report")
    await expect(command).to_contain_text(ci["maskedKey"])
    await expect(command).to_contain_text("nightly-report")
    await expect(command).not_to_contain_text(default["maskedKey"])
    await expect(panel.get_by_role("alert")).to_be_hidden()

    # What is shown is the API's maskedCommand; Copy puts the API's full command in the clipboard.
    variables = {"workflowId": "nightly-report", "method": "CLI", "apiKeyId": ci["id"]}
    expected = (await user.data(RUN_COMMAND, **variables))["workflowRunCommand"]
    await expect(command).to_have_text(expected["maskedCommand"])
    copy = panel.get_by_role("button", name="Copy command")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    # Its confirmation is in view, not at the top of the page.
    await expect(page.get_by_role("status")).to_have_text("Command copied to the clipboard.")
    await expect(page.get_by_role("status")).to_be_in_viewport()
    clipboard: str = await page.evaluate("navigator.clipboard.readText()")
    assert_secret(clipboard, expected["command"], "the copied command")
    ci_secret = await user.secret(ci["id"])
    holds_key = ci_secret in clipboard
    assert holds_key, "the copied command does not hold the chosen key"
    assert_not_shown(ci_secret, await page.content(), "the run command panel")

    # A workflow id the API refuses: its message in the panel, the rest of the page unharmed.
    await panel.get_by_label("Workflow ID").fill("x" * 201)
    await expect(panel.get_by_role("alert")).to_contain_text("Could not build the run command")
    await expect(copy).to_be_hidden()
    await expect(key_rows(page)).to_have_count(2)


# --- Keys found in public --------------------------------------------------------------------

LEAK_URL = "https://github.com/someone/repo/blob/main/deploy.sh"


async def test_a_revoked_key_offers_only_what_it_can_still_do(
    page: Page, user: User, service: Service
) -> None:
    ci = await user.create_key("CI")
    await user.create_key("Staging")
    assert await service.report_leak(await user.secret(ci["id"]), LEAK_URL) == "true_positive"
    await open_page(page, user)

    banner = page.get_by_test_id("leak-banner")
    await expect(banner).to_have_count(1)
    await expect(banner.locator(".leak-message")).to_have_text(
        re.compile(
            rf"^Your key 'CI' was found in public at {re.escape(LEAK_URL)} on .+ and has been"
            r" revoked: it no longer works\. Delete it, and create a new key if you need one\.$"
        )
    )
    await expect(banner.get_by_role("link", name=LEAK_URL)).to_have_attribute("href", LEAK_URL)
    # Not an alert re-announced after every save: one polite live region, each banner added once.
    await expect(banner).not_to_have_attribute("role", "alert")
    await expect(page.locator("#leak-banners")).to_have_attribute("aria-live", "polite")

    revoked = key_row(page, "CI")
    await expect(revoked.get_by_test_id("revoked-badge")).to_have_text("Revoked")
    await expect(key_row(page, "Staging").get_by_test_id("revoked-badge")).to_have_count(0)
    # No Reveal, no Copy, no Rotate: its secret works nowhere.
    await expect(revoked.get_by_test_id("key-value")).to_have_text(MASKED_KEY)
    await expect(revoked.get_by_role("button", name="Reveal key CI")).to_have_count(0)
    await expect(revoked.get_by_role("button", name="Copy key CI")).to_have_count(0)
    await expect(revoked).to_contain_text("Revoked: it no longer works.")
    await revoked.get_by_role("button", name="Actions for CI").click()
    await expect(page.get_by_role("menuitem")).to_have_text(["Edit", "Usage", "Delete"])
    await page.keyboard.press("Escape")

    options = page.get_by_label("API key").locator("option")
    await expect(options).to_have_count(2)
    await expect(options).not_to_contain_text(["CI"])

    # The banner survives a save elsewhere as the same element (so it is not announced again).
    await banner.evaluate("banner => { banner.dataset.seen = 'yes'; }")
    await open_menu_item(page, "Staging", "Edit")
    editor = page.get_by_role("dialog", name="Edit key")
    await editor.get_by_role("textbox", name="Name", exact=True).fill("Staging 2")
    await editor.get_by_role("button", name="Save").click()
    await expect(key_row(page, "Staging 2")).to_be_visible()
    await expect(banner).to_have_attribute("data-seen", "yes")

    # The banner's button deletes it, with words for a key that already does not work.
    await banner.get_by_role("button", name="Delete key").click()
    dialog = page.get_by_role("dialog", name="Delete this key?")
    await expect(dialog).to_contain_text(
        "“CI” was revoked when it was found in public: it already does not work."
    )
    await expect(dialog).not_to_contain_text("stops working at once")
    await dialog.get_by_role("button", name="Delete key").click()
    await expect(banner).to_have_count(0)
    await expect(key_row(page, "CI")).to_have_count(0)


async def test_a_leaked_default_keys_banner_copies_the_new_key_then_can_be_dismissed(
    page: Page, user: User, service: Service
) -> None:
    default = (await user.keys())[0]
    leaked = await user.secret(default["id"])
    assert await service.report_leak(leaked, LEAK_URL) == "true_positive"
    await open_page(page, user)

    banner = page.get_by_test_id("leak-banner")
    await expect(banner.locator(".leak-message")).to_have_text(
        re.compile(
            r"^Your key 'Default' was found in public at .+ on .+\. We gave your default key a"
            r" new secret: copy it and update the workflows and scripts that use it\.$"
        )
    )
    row = key_row(page, "Default")
    await expect(row.get_by_test_id("leaked-badge")).to_have_text("Leaked")
    await expect(row.get_by_test_id("key-value")).not_to_have_text(f"{leaked[:4]}****{leaked[-4:]}")
    # It works, with its new secret: Reveal, Copy, and the run command panel offer it.
    await expect(row.get_by_role("button", name="Reveal key Default")).to_be_visible()
    await expect(page.get_by_label("API key").locator("option")).to_have_count(1)

    # Nothing to dismiss before the new key is copied.
    await expect(banner.get_by_role("button", name="Dismiss")).to_have_count(0)
    await banner.get_by_role("button", name="Copy the new key").click()
    now = await user.secret(default["id"])
    assert_secret(await page.evaluate("navigator.clipboard.readText()"), now, "the clipboard")
    assert_not_shown(leaked, now, "the default key's new secret")
    dismiss = banner.get_by_role("button", name="Dismiss")
    await expect(dismiss).to_be_focused()
    await dismiss.click()
    await expect(banner).to_have_count(0)
    await expect(row.get_by_test_id("leaked-badge")).to_have_count(0)
    await expect(row.get_by_test_id("name-cell")).to_be_focused()

    # Remembered by the server, for this report: not back after a reload.
    data = await user.data("{ apiKeys { leak { reportedAt dismissedAt } } }")
    assert data["apiKeys"][0]["leak"]["dismissedAt"] is not None
    await page.reload()
    await expect(key_rows(page)).to_have_count(1)
    await expect(banner).to_have_count(0)
    await expect(row.get_by_test_id("leaked-badge")).to_have_count(0)

    # The new secret found in public too: a new report, and a new banner.
    assert await service.report_leak(now, LEAK_URL) == "true_positive"
    await page.reload()
    await expect(banner).to_have_count(1)


async def test_rotating_a_leaked_default_key_says_it_clears_the_report(
    page: Page, user: User, service: Service
) -> None:
    default = (await user.keys())[0]
    assert await service.report_leak(await user.secret(default["id"]), LEAK_URL) == "true_positive"
    await open_page(page, user)
    banner = page.get_by_test_id("leak-banner")
    row = key_row(page, "Default")
    await expect(banner).to_have_count(1)

    await open_menu_item(page, "Default", "Rotate")
    dialog = page.get_by_test_id("rotate-dialog")
    await expect(dialog).to_contain_text(
        "This key already got a new secret when it was found in public. Rotating gives it"
        " another one and clears the leak report"
    )
    await dialog.get_by_role("button", name="Rotate key").click()
    await finish_new_key(page)
    await expect(banner).to_have_count(0)
    await expect(row.get_by_test_id("leaked-badge")).to_have_count(0)
