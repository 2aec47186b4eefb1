"""The Settings -> API Keys page in a real browser, against the real service.

Each test arranges what it needs through the GraphQL API as its own user, drives the page the
way a person would (roles, labels, double-clicks, dialogs), and checks both the screen and what
the API then says. Full keys and tokens are compared without ever being printed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Locator, Page, expect

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


# --- Editing in place ---------------------------------------------------------------------


async def test_renames_and_describes_a_key_in_place(page: Page, user: User) -> None:
    created = await user.create_key("Zapier", "old words")
    await open_page(page, user)
    row = key_row(page, "Zapier")

    # Double-click, type, Enter: saved.
    await row.get_by_test_id("name-cell").dblclick()
    editor = page.get_by_role("textbox", name="Name", exact=True)
    await expect(editor).to_be_focused()
    await editor.fill("Zapier (prod)")
    await editor.press("Enter")
    row = key_row(page, "Zapier (prod)")
    await expect(row).to_be_visible()
    await expect(editor).to_have_count(0)
    await expect(row.get_by_test_id("name-cell")).to_be_focused()

    # Escape cancels.
    await row.get_by_test_id("name-cell").dblclick()
    await editor.fill("Never saved")
    await editor.press("Escape")
    await expect(row.get_by_test_id("name-cell")).to_have_text("Zapier (prod)")

    # A refused name leaves the old one, and says why (as the API does).
    refusal = await user.create_key("DEFAULT")
    assert refusal["code"] == "NAME_TAKEN", refusal
    await row.get_by_test_id("name-cell").dblclick()
    await editor.fill("DEFAULT")
    await editor.press("Enter")
    await expect(page.get_by_test_id("keys-error")).to_have_text(refusal["message"])
    await expect(row.get_by_test_id("name-cell")).to_have_text("Zapier (prod)")

    # The description: saved when the field loses focus.
    description = row.get_by_test_id("description-cell")
    await description.dblclick()
    textarea = page.get_by_role("textbox", name="Description")
    await textarea.fill("Runs every hour")
    await page.get_by_role("heading", name="API Keys", exact=True).click()
    await expect(description).to_have_text("Runs every hour")
    await expect(page.get_by_test_id("keys-error")).to_be_hidden()

    [_, stored] = await user.keys()
    assert (stored["id"], stored["name"], stored["description"]) == (
        created["id"],
        "Zapier (prod)",
        "Runs every hour",
    )

    # An emptied description is no description (sent as null).
    await description.dblclick()
    await textarea.fill("")
    await textarea.press("Enter")
    await expect(description).to_have_text("—")
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
    await dialog.get_by_label("Old key stops working").select_option(label="In 1 hour")
    await dialog.get_by_role("button", name="Rotate key").click()
    await expect(dialog).to_be_hidden()
    await expect(value).not_to_have_text(before["maskedKey"])
    await expect(page.get_by_role("status")).to_contain_text("keeps working for 1 hour")

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


async def test_the_key_limit_is_shown_and_the_servers_refusal_too(page: Page, user: User) -> None:
    for n in range(4):
        await user.create_key(f"Key {n}")
    # What the API answers to a sixth key is what the form must show.
    refusal = await user.create_key("One too many")
    assert refusal["code"] == "KEY_LIMIT_REACHED", refusal

    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(5)
    await expect(page.get_by_test_id("limit-note")).to_contain_text(
        "You have reached the limit of 5 API keys"
    )
    await expect(page.get_by_test_id("keys-count")).to_have_text("5 of 5 keys")

    await page.get_by_role("button", name="New API Key").click()
    dialog = page.get_by_role("dialog", name="New API Key")
    await dialog.get_by_label("Name", exact=True).fill("One too many")
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog.get_by_role("alert")).to_have_text(refusal["message"])
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(key_rows(page)).to_have_count(5)

    # Below the limit again, the note goes away.
    await open_menu_item(page, "Key 0", "Delete")
    await (
        page.get_by_role("dialog", name="Delete this key?")
        .get_by_role("button", name="Delete key")
        .click()
    )
    await expect(key_rows(page)).to_have_count(4)
    await expect(page.get_by_test_id("limit-note")).to_be_hidden()


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

    # By default: the default key, the REST API, the example workflow.
    key_choice = panel.get_by_label("API key")
    await expect(key_choice.locator("option")).to_have_count(2)
    await expect(key_choice).to_have_value(default["id"])
    await expect(command).to_contain_text(default["maskedKey"])
    await expect(command).to_contain_text("my-workflow")

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


async def test_a_leaked_key_is_shown_revoked_with_a_banner_and_left_out_of_the_run_command(
    page: Page, user: User, service: Service
) -> None:
    ci = await user.create_key("CI")
    await user.create_key("Staging")
    assert await service.report_leak(await user.secret(ci["id"]), LEAK_URL) == "true_positive"
    await open_page(page, user)

    banner = page.get_by_test_id("leak-banner")
    await expect(banner).to_have_count(1)
    await expect(banner).to_contain_text(
        re.compile(
            rf"^Your key 'CI' was found in public at {re.escape(LEAK_URL)} on .+ and has been"
            r" revoked\. Delete it and create a new one\.$"
        )
    )
    await expect(banner.get_by_role("link", name=LEAK_URL)).to_have_attribute("href", LEAK_URL)
    await expect(key_row(page, "CI").get_by_test_id("revoked-badge")).to_have_text("Revoked")
    await expect(key_row(page, "Staging").get_by_test_id("revoked-badge")).to_have_count(0)

    options = page.get_by_label("API key").locator("option")
    await expect(options).to_have_count(2)
    await expect(options).not_to_contain_text(["CI"])

    # Deleting it clears the banner.
    await open_menu_item(page, "CI", "Delete")
    await page.get_by_test_id("delete-dialog").get_by_role("button", name="Delete key").click()
    await expect(banner).to_have_count(0)


async def test_a_leaked_default_key_has_a_new_secret_and_says_so(
    page: Page, user: User, service: Service
) -> None:
    default = (await user.keys())[0]
    leaked = await user.secret(default["id"])
    assert await service.report_leak(leaked, LEAK_URL) == "true_positive"
    await open_page(page, user)

    banner = page.get_by_test_id("leak-banner")
    await expect(banner).to_contain_text(
        re.compile(
            r"^Your key 'Default' was found in public at .+ on .+\. We gave your default key a"
            r" new secret: update the workflows and scripts that use it\.$"
        )
    )
    row = key_row(page, "Default")
    await expect(row.get_by_test_id("leaked-badge")).to_have_text("Leaked")
    await expect(row.get_by_test_id("key-value")).not_to_have_text(f"{leaked[:4]}****{leaked[-4:]}")
    now = await user.secret(default["id"])
    assert_not_shown(leaked, now, "the default key's new secret")
    # The run command panel still offers the default key: it works, with its new secret.
    await expect(page.get_by_label("API key").locator("option")).to_have_count(1)

    # Its next rotation ends the report.
    await open_menu_item(page, "Default", "Rotate")
    await page.get_by_test_id("rotate-dialog").get_by_role("button", name="Rotate key").click()
    await expect(banner).to_have_count(0)
    await expect(row.get_by_test_id("leaked-badge")).to_have_count(0)
