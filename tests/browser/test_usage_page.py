"""Who uses a key, and until when: expiries, usage sparklines, the Usage dialog, the workflows the
rotate and delete dialogs warn about, and expired keys in the run command panel.

Uses are made as the platform's gateway makes them (`POST /v1/keys/verify` with workflow ids,
client addresses and user agents); the browser test service writes them within 50 ms. A key that
has expired is made the only way the API allows: it is created to expire two seconds ahead, and
the test waits.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Request, Route, expect

from tests.browser.support import Service, User, open_page
from tests.browser.test_settings_page import (
    RUN_COMMAND,
    finish_new_key,
    key_row,
    key_rows,
    open_menu_item,
    wait_for,
)

CREATE = """
  mutation ($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on ApiKey { id name maskedKey expiresAt }
      ... on UserError { code message }
      ... on ValidationError { field }
    }
  }"""
USAGE = """
  query ($id: ID!) {
    apiKey(id: $id) {
      lastUsedFrom { clientAddress userAgent }
      usage { date uses }
      usedBy { workflowId uses lastUsedAt }
    }
  }"""
EXPIRED_SOON_SECONDS = 2  # the server refuses expiries in the past: create one this far ahead
# What the page shows in the danger colour (styles.css `--danger-text`).
DANGER_RED = "rgb(180, 35, 24)"
AGENT = "blk-cli/2.4 (linux; x86_64)"


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def create_key(user: User, name: str, expires_at: datetime | None = None) -> dict[str, Any]:
    data = await user.data(
        CREATE, input={"name": name, "expiresAt": iso(expires_at) if expires_at else None}
    )
    result: dict[str, Any] = data["createApiKey"]
    return result


async def create_expired_keys(user: User, *names: str) -> list[dict[str, Any]]:
    """Keys that expire two seconds from now, once they have (the API refuses a past expiry)."""
    until = datetime.now(UTC) + timedelta(seconds=EXPIRED_SOON_SECONDS)
    created = [await create_key(user, name, until) for name in names]
    assert all(key["__typename"] == "ApiKey" for key in created), created
    await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)
    return created


async def use_key(
    service: Service,
    user: User,
    key_id: str,
    *uses: str,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """The gateway verifies the key once per workflow id in `uses`, in order, then the test
    waits until the tracker has written them all."""
    secret = await user.secret(key_id)
    before = await _total_uses(user, key_id)
    for workflow_id in uses:
        verdict = await service.verify(
            secret, workflow_id=workflow_id, client_address=client_address, user_agent=user_agent
        )
        assert verdict["valid"], verdict
    await wait_for(
        lambda: _has_total(user, key_id, before + len(uses)), f"{len(uses)} uses to be written"
    )


async def _total_uses(user: User, key_id: str) -> int:
    data = await user.data(USAGE, id=key_id)
    return sum(day["uses"] for day in data["apiKey"]["usage"])


async def _has_total(user: User, key_id: str, total: int) -> bool:
    return await _total_uses(user, key_id) == total


# --- 1. Expires ---------------------------------------------------------------------------


async def test_the_expires_column_says_never_a_countdown_or_a_red_expired(
    page: Page, user: User
) -> None:
    soon = await create_key(user, "Contractor", datetime.now(UTC) + timedelta(days=12, hours=1))
    assert soon["__typename"] == "ApiKey", soon
    await create_expired_keys(user, "Old CI")
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(3)  # an expired key stays listed

    default = key_row(page, "Default")
    await expect(default.get_by_test_id("expires")).to_have_text("Never")
    await expect(default).not_to_have_class("expired")

    contractor = key_row(page, "Contractor").get_by_test_id("expires")
    await expect(contractor).to_have_text("in 12 days")
    await expect(contractor.locator("time")).to_have_attribute("title", re.compile(r"^Expires "))
    await expect(contractor.locator("time")).to_have_attribute("datetime", soon["expiresAt"])
    await expect(key_row(page, "Contractor")).not_to_have_class("expired")

    old = key_row(page, "Old CI")
    await expect(old.get_by_test_id("expires")).to_have_text("Expired")
    await expect(old.get_by_test_id("expires").locator("time")).to_have_css("color", DANGER_RED)
    await expect(old).to_have_class("expired")


async def test_a_key_turns_expired_on_the_page_when_the_browsers_clock_passes_its_expiry(
    page: Page, user: User
) -> None:
    await create_key(user, "Contractor", datetime.now(UTC) + timedelta(days=12, hours=1))
    await page.clock.install()
    await open_page(page, user)
    cell = key_row(page, "Contractor").get_by_test_id("expires")
    await expect(cell).to_have_text("in 12 days")
    option = page.get_by_test_id("run-panel").get_by_label("API key").locator("option").nth(1)
    await expect(option).not_to_contain_text("expired")

    # Thirteen days later, without a reload: the page's own clock says it has expired.
    await page.clock.fast_forward(13 * 24 * 3600 * 1000)
    await expect(cell).to_have_text("Expired")
    await expect(key_row(page, "Contractor")).to_have_class("expired")
    await expect(option).to_contain_text("· expired")
    await expect(key_row(page, "Default").get_by_test_id("expires")).to_have_text("Never")


# --- 2. Sparklines ------------------------------------------------------------------------


async def test_each_key_has_a_30_day_usage_sparkline_loaded_after_the_list(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "deploy", "deploy", "nightly-report", "deploy", "sync")
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and request.post_data:
            sent.append(json.loads(request.post_data))

    page.on("request", record)
    await open_page(page, user)

    chart = key_row(page, "CI").get_by_test_id("usage-sparkline")
    await expect(chart).to_have_attribute("aria-label", "5 uses in the last 30 days")
    await expect(chart).to_have_attribute("role", "img")
    # The tooltip on hover is the SVG's own <title>.
    await expect(chart.locator("title").first).to_have_text("5 uses in the last 30 days")
    bars = chart.locator("rect")
    await expect(bars).to_have_count(30)
    days = (await user.data(USAGE, id=ci["id"]))["apiKey"]["usage"]
    shown = [
        (await bar.get_attribute("data-date"), int(await bar.get_attribute("data-uses") or -1))
        for bar in await bars.all()
    ]
    assert shown == [(day["date"], day["uses"]) for day in days]
    assert shown[-1][1] == 5, "today's bar does not hold today's uses"

    unused = key_row(page, "Default").get_by_test_id("usage-sparkline")
    await expect(unused).to_have_attribute("aria-label", "0 uses in the last 30 days")
    await expect(unused.locator("rect.spark-bar-empty")).to_have_count(30)

    # The list's query stays one of plain fields (a prepared plan answers it); the days come
    # from a query of their own, sent after it.
    operations = [re.search(r"\b(?:query|mutation) (\w+)", body["query"]) for body in sent]
    names = [operation.group(1) if operation else None for operation in operations]
    listed = names.index("ApiKeys")
    assert "usage" not in sent[listed]["query"], "the list's query asks for usage"
    assert "KeyUsage" in names[listed + 1 :], f"no usage query after the list: {names}"


async def test_a_new_key_gets_an_empty_sparkline_and_the_others_keep_theirs(
    page: Page, user: User, service: Service
) -> None:
    [default] = await user.keys()
    await use_key(service, user, default["id"], "deploy")
    await open_page(page, user)
    chart = key_row(page, "Default").get_by_test_id("usage-sparkline")
    await expect(chart).to_have_attribute("aria-label", "1 use in the last 30 days")

    await page.get_by_role("button", name="New API Key").click()
    dialog = page.get_by_role("dialog", name="New API Key")
    await dialog.get_by_label("Name", exact=True).fill("Fresh")
    await dialog.get_by_role("button", name="Create key").click()
    await finish_new_key(page)
    fresh = key_row(page, "Fresh").get_by_test_id("usage-sparkline")
    await expect(fresh).to_have_attribute("aria-label", "0 uses in the last 30 days")
    await expect(fresh.locator("rect")).to_have_count(30)
    await expect(chart).to_have_attribute("aria-label", "1 use in the last 30 days")


# --- 3. Creating a key that expires -------------------------------------------------------


async def test_the_create_dialog_offers_an_expiry_and_shows_the_servers_refusal(
    page: Page, user: User
) -> None:
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(1)
    new_key = page.get_by_role("button", name="New API Key")
    dialog = page.get_by_role("dialog", name="New API Key")
    name = dialog.get_by_label("Name", exact=True)
    expiry = dialog.get_by_role("radiogroup", name="Expires")
    day = dialog.get_by_label("Expiry date")
    create = dialog.get_by_role("button", name="Create key")

    # No expiry by default.
    await new_key.click()
    await expect(expiry.get_by_role("radio", name="Never")).to_be_checked()
    await expect(day).to_be_hidden()
    await name.fill("Forever")
    await create.click()
    await expect(dialog).to_be_hidden()
    await finish_new_key(page)
    await expect(key_row(page, "Forever").get_by_test_id("expires")).to_have_text("Never")

    # 30 days.
    await new_key.click()
    await name.fill("Thirty days")
    await expiry.get_by_role("radio", name="30 days").check()
    await expect(day).to_be_hidden()
    asked = datetime.now(UTC)
    await create.click()
    await expect(dialog).to_be_hidden()
    await finish_new_key(page)
    await expect(key_row(page, "Thirty days").get_by_test_id("expires")).to_have_text("in 30 days")

    # On a date: the date field appears; a day too far is refused, with the server's words.
    await new_key.click()
    await name.fill("Until a date")
    await expiry.get_by_role("radio", name="On a date").check()
    await expect(day).to_be_visible()
    too_far = datetime.now(UTC).date() + timedelta(days=400)
    refusal = await create_key(
        user, "Until a date", datetime.combine(too_far, datetime.min.time(), UTC)
    )
    assert refusal["__typename"] == "ValidationError" and refusal["field"] == "expiresAt", refusal
    await day.fill(too_far.isoformat())
    await create.click()
    await expect(dialog.get_by_role("alert")).to_have_text(refusal["message"])
    await expect(dialog).to_be_visible()
    await expect(day).to_have_attribute("aria-invalid", "true")
    await expect(day).to_be_focused()

    chosen = datetime.now(UTC).date() + timedelta(days=10)
    await day.fill(chosen.isoformat())
    await create.click()
    await expect(dialog).to_be_hidden()
    await finish_new_key(page)
    await expect(key_row(page, "Until a date").get_by_test_id("expires")).to_have_text(
        re.compile(r"^in (10|11) days$")
    )

    stored = {k["name"]: k["expiresAt"] for k in await _keys_with_expiry(user)}
    assert stored["Default"] is None and stored["Forever"] is None
    thirty = datetime.fromisoformat(stored["Thirty days"])
    assert abs(thirty - (asked + timedelta(days=30))) < timedelta(minutes=1), thirty
    # The end of the chosen day where the reader is (the page's time zone here is UTC).
    end_of_day = datetime.combine(chosen, datetime.max.time(), UTC).replace(microsecond=0)
    assert datetime.fromisoformat(stored["Until a date"]) == end_of_day

    # Opened again, the form starts over: no expiry, no date field, nothing marked.
    await new_key.click()
    await expect(expiry.get_by_role("radio", name="Never")).to_be_checked()
    await expect(day).to_be_hidden()
    await expect(dialog.get_by_role("alert")).to_be_hidden()


@pytest.mark.timezone("Pacific/Auckland")
async def test_a_date_expiry_ends_with_that_day_in_the_readers_time_zone(
    page: Page, user: User
) -> None:
    zone = ZoneInfo("Pacific/Auckland")
    chosen = datetime.now(zone).date() + timedelta(days=5)
    await open_page(page, user)
    await page.get_by_role("button", name="New API Key").click()
    dialog = page.get_by_role("dialog", name="New API Key")
    await dialog.get_by_label("Name", exact=True).fill("Auckland")
    # From the keyboard: the arrow keys move through the choices.
    await dialog.get_by_role("radio", name="Never").focus()
    for _ in range(4):
        await page.keyboard.press("ArrowRight")
    await expect(dialog.get_by_role("radio", name="On a date")).to_be_checked()
    # Without a day there is nothing to send: the page says so where the day goes.
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog.get_by_role("alert")).to_have_text("Choose the day the key stops working.")
    await expect(dialog.get_by_label("Expiry date")).to_be_focused()

    await dialog.get_by_label("Expiry date").fill(chosen.isoformat())
    await dialog.get_by_role("button", name="Create key").click()
    await expect(dialog).to_be_hidden()

    stored = {k["name"]: k["expiresAt"] for k in await _keys_with_expiry(user)}
    end_of_day = datetime.combine(chosen, datetime.max.time(), zone).replace(microsecond=0)
    assert datetime.fromisoformat(stored["Auckland"]) == end_of_day.astimezone(UTC)


async def _keys_with_expiry(user: User) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await user.data("{ apiKeys { name expiresAt } }"))["apiKeys"]
    return keys


# --- 4. The Usage dialog ------------------------------------------------------------------


async def test_the_usage_dialog_lists_the_workflows_and_where_the_key_was_last_used_from(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "nightly-report", "nightly-report", "nightly-report")
    await use_key(service, user, ci["id"], "deploy")
    await use_key(
        service,
        user,
        ci["id"],
        "sync-crm",
        "sync-crm",
        client_address="203.0.113.7",
        user_agent=AGENT,
    )
    await open_page(page, user)

    await open_menu_item(page, "CI", "Usage")
    dialog = page.get_by_role("dialog", name="Usage of “CI”")
    await expect(dialog).to_be_visible()
    rows = dialog.get_by_test_id("workflow-use")
    await expect(rows).to_have_count(3)
    # Most recently used first, as the API answers.
    used_by = (await user.data(USAGE, id=ci["id"]))["apiKey"]["usedBy"]
    assert [(u["workflowId"], u["uses"]) for u in used_by] == [
        ("sync-crm", 2),
        ("deploy", 1),
        ("nightly-report", 3),
    ]
    await expect(rows.locator("th")).to_have_text(["sync-crm", "deploy", "nightly-report"])
    await expect(rows.locator("td.numeric")).to_have_text(["2 uses", "1 use", "3 uses"])
    await expect(rows.locator("time")).to_have_text(["Just now", "Just now", "Just now"])
    await expect(dialog.get_by_test_id("usage-total")).to_have_text("6 uses in the last 30 days")
    await expect(dialog.get_by_test_id("usage-chart").get_by_role("img")).to_have_attribute(
        "aria-label", "6 uses in the last 30 days"
    )
    await expect(dialog.get_by_test_id("client-address")).to_have_text("203.0.113.7")
    await expect(dialog.get_by_test_id("user-agent")).to_have_text(AGENT)

    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # Focus goes back to where the dialog was opened from.
    await expect(key_row(page, "CI").get_by_role("button", name="Actions for CI")).to_be_focused()

    # A key never used, opened from the keyboard: the menu button, then its items.
    await key_row(page, "Default").get_by_role("button", name="Actions for Default").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("menuitem", name="Edit")).to_be_focused()
    await page.keyboard.press("End")
    await expect(page.get_by_role("menuitem", name="Rotate")).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await expect(page.get_by_role("menuitem", name="Usage")).to_be_focused()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Usage of “Default”")
    await expect(dialog.get_by_test_id("no-workflows")).to_have_text(
        "No workflow used this key in the last 30 days."
    )
    await expect(dialog.get_by_test_id("last-used-from")).to_have_text("Never used")
    await expect(dialog.get_by_test_id("usage-total")).to_have_text("0 uses in the last 30 days")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()


# --- 5. Rotate and delete name the workflows that would fail ------------------------------

WARNING = (
    "These workflows used this key in the last 7 days and will fail until they use another key:"
)
NO_WORKFLOW = "No workflow used this key in the last 7 days."


async def test_delete_and_rotate_name_the_workflows_that_used_the_key_in_the_last_7_days(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "nightly-report", "nightly-report", "deploy")
    await open_page(page, user)

    await open_menu_item(page, "CI", "Delete")
    dialog = page.get_by_role("dialog", name="Delete this key?")
    workflows = dialog.get_by_test_id("recent-workflows")
    await expect(workflows).to_contain_text(WARNING)
    await expect(workflows.get_by_role("listitem")).to_have_count(2)
    await expect(workflows.get_by_role("listitem").locator("code")).to_have_text(
        ["deploy", "nightly-report"]
    )
    await expect(workflows.get_by_role("listitem").first).to_contain_text(
        "1 use, last used just now"
    )
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()

    await open_menu_item(page, "Default", "Rotate")
    rotate = page.get_by_role("dialog", name="Rotate the default key?")
    grace = rotate.get_by_label("Old key stops working")
    await expect(rotate.get_by_test_id("recent-workflows")).to_have_text(NO_WORKFLOW)
    await expect(grace).to_have_value("0")  # unused: nothing needs time to move over
    await rotate.get_by_role("button", name="Cancel").click()

    # A use that names no workflow (a script calling the API with the key) names none here,
    # but the key is in use: the old secret is offered a day's grace.
    [default, _] = await user.keys()
    await service.verify(await user.secret(default["id"]))
    await wait_for(lambda: _has_total(user, default["id"], 1), "the use to be written")
    await page.reload()
    await open_menu_item(page, "Default", "Rotate")
    await expect(rotate.get_by_test_id("recent-workflows")).to_have_text(NO_WORKFLOW)
    await expect(grace).to_have_value("86400")
    await expect(rotate.get_by_role("button", name="Rotate key")).to_have_class(
        re.compile(r"\bbtn-danger\b")
    )
    await rotate.get_by_role("button", name="Cancel").click()

    # Workflows that used it: the rotation's words are about moving them to the new secret.
    await use_key(service, user, default["id"], "deploy")
    await open_menu_item(page, "Default", "Rotate")
    await expect(rotate.get_by_test_id("recent-workflows")).to_contain_text(
        "These workflows used this key in the last 7 days and must move to the new secret"
        " before the old one stops working:"
    )
    await expect(grace).to_have_value("86400")


async def test_the_confirmation_dialogs_stay_usable_while_the_workflows_load(
    page: Page, user: User
) -> None:
    await create_key(user, "Old laptop")
    release = asyncio.Event()
    held: list[Route] = []

    async def hold_workflow_lookups(route: Route) -> None:
        if "KeyRecentWorkflows" in (route.request.post_data or ""):
            held.append(route)
            await release.wait()
        await route.continue_()

    await page.route("**/graphql", hold_workflow_lookups)
    await open_page(page, user)

    await open_menu_item(page, "Old laptop", "Delete")
    dialog = page.get_by_role("dialog", name="Delete this key?")
    workflows = dialog.get_by_test_id("recent-workflows")
    await expect(workflows).to_have_text(
        "Checking which workflows used this key in the last 7 days…"
    )
    await expect(workflows).to_have_attribute("aria-busy", "true")
    await expect(dialog.get_by_role("button", name="Delete key")).to_be_enabled()
    await dialog.get_by_role("button", name="Delete key").click()
    await expect(dialog).to_be_hidden()
    await expect(key_row(page, "Old laptop")).to_have_count(0)
    assert [k["name"] for k in await user.keys()] == ["Default"]

    # The late answer changes nothing: the next dialog shows its own key's.
    assert len(held) == 1
    release.set()
    await open_menu_item(page, "Default", "Rotate")
    rotate = page.get_by_role("dialog", name="Rotate the default key?")
    await expect(rotate.get_by_test_id("recent-workflows")).to_have_text(NO_WORKFLOW)
    await expect(page.get_by_test_id("keys-error")).to_be_hidden()


# --- 6. Expired keys in the run command panel ---------------------------------------------


async def test_the_run_command_panel_marks_expired_keys_and_shows_the_servers_refusal(
    page: Page, user: User
) -> None:
    await create_key(user, "CI")
    [old] = await create_expired_keys(user, "Old CI")
    refused = await user.gql(
        RUN_COMMAND, workflowId="my-workflow", method="REST_API", apiKeyId=old["id"]
    )
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "KEY_EXPIRED", error
    await open_page(page, user)

    panel = page.get_by_test_id("run-panel")
    choice = panel.get_by_label("API key")
    options = choice.locator("option")
    await expect(options).to_have_count(3)
    await expect(options).to_have_text(
        [
            re.compile(r"^Default \(default\) · \S+$"),
            re.compile(r"^CI · \S+$"),
            f"Old CI · {old['maskedKey']} · expired",
        ]
    )
    # For a workflow, the API offers only the keys that can run it: not an expired one.
    await panel.get_by_label("Workflow ID").fill("my-workflow")
    await expect(panel.get_by_test_id("run-command")).to_be_visible()
    await expect(options).to_have_text(
        [re.compile(r"^Default \(default\) · \S+$"), re.compile(r"^CI · \S+$")]
    )

    # A key that expires between the list and the command (the list is made to say it still
    # works): the panel shows what the server says of it.
    async def still_offered(route: Route) -> None:
        if "UsableKeys" not in (route.request.post_data or ""):
            await route.continue_()
            return
        answer = await route.fetch()
        body = await answer.json()
        body["data"]["apiKeys"].append(
            {"id": old["id"], "name": "Old CI", "isDefault": False, "maskedKey": old["maskedKey"]}
        )
        await route.fulfill(response=answer, json=body)

    await page.route("**/graphql", still_offered)
    await panel.get_by_label("Workflow ID").fill("my-workflow-2")
    await expect(options).to_have_count(3)
    await choice.select_option(old["id"])
    await expect(panel.get_by_role("alert")).to_have_text(
        f"Could not build the run command: {error['message']}"
    )
    await expect(panel.get_by_role("button", name="Copy command")).to_be_hidden()
