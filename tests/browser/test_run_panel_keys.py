"""The run command panel's key choice: for the workflow typed, only the keys that can run it (the
API's `apiKeys(usableFor:)`); the key the user picked stays picked whenever it can, and the panel
says when it cannot."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Page, Request, expect

from tests.browser.support import User, open_page
from tests.browser.test_restricting_keys import open_restrict, restrict
from tests.browser.test_settings_page import key_rows
from tests.browser.test_usage_page import create_key


def option(name: str, masked_key: str, *, default: bool = False) -> str:
    return f"{name}{' (default)' if default else ''} · {masked_key}"


async def test_the_key_choice_offers_only_the_keys_that_can_run_the_workflow_typed(
    page: Page, user: User
) -> None:
    [default] = await user.keys()
    reports = await create_key(user, "Reports")
    deploys = await create_key(user, "Deploys")
    await restrict(user, reports["id"], workflowIds=["daily-report"])
    await restrict(user, deploys["id"], workflowIds=["deploy"])
    asked: list[Any] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and "UsableKeys" in (request.post_data or ""):
            asked.append(json.loads(request.post_data or "{}")["variables"])

    page.on("request", record)
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(3)
    panel = page.get_by_test_id("run-panel")
    workflow = panel.get_by_label("Workflow ID")
    choice = panel.get_by_label("API key")
    options = choice.locator("option")
    command = panel.get_by_test_id("run-command")
    note = panel.get_by_test_id("run-key-note")

    # No workflow named: every key that works, as before.
    await expect(options).to_have_text(
        [
            option("Default", default["maskedKey"], default=True),
            option("Reports", reports["maskedKey"]),
            option("Deploys", deploys["maskedKey"]),
        ]
    )

    # A workflow: only the keys the API says can run it, the default chosen.
    await workflow.fill("daily-report")
    await expect(options).to_have_text(
        [
            option("Default", default["maskedKey"], default=True),
            option("Reports", reports["maskedKey"]),
        ]
    )
    await expect(choice).to_have_value(default["id"])
    await expect(command).to_contain_text(default["maskedKey"])
    assert {"workflowId": "daily-report"} in asked, asked

    # The user picks one; another workflow leaves it out: the default is chosen, and said so.
    await choice.select_option(reports["id"])
    await expect(command).to_contain_text(reports["maskedKey"])
    await workflow.fill("deploy")
    await expect(options).to_have_text(
        [
            option("Default", default["maskedKey"], default=True),
            option("Deploys", deploys["maskedKey"]),
        ]
    )
    await expect(choice).to_have_value(default["id"])
    await expect(note).to_have_text("“Reports” cannot run “deploy”, so “Default” is chosen.")
    await expect(command).to_contain_text(default["maskedKey"])
    await expect(command).to_contain_text("deploy")

    # Back to a workflow it can run: the key picked is picked again.
    await workflow.fill("daily-report")
    await expect(choice).to_have_value(reports["id"])
    await expect(note).to_have_text("")
    await expect(command).to_contain_text(reports["maskedKey"])

    # Cleared: every key again, the pick kept.
    await workflow.fill("")
    await expect(options).to_have_count(3)
    await expect(choice).to_have_value(reports["id"])
    await expect(command).to_be_hidden()


async def test_when_no_key_can_run_the_workflow_the_panel_says_so(page: Page, user: User) -> None:
    [default] = await user.keys()
    await restrict(user, default["id"], workflowIds=["daily-report"])
    await open_page(page, user)
    panel = page.get_by_test_id("run-panel")
    choice = panel.get_by_label("API key")

    await panel.get_by_label("Workflow ID").fill("nightly-report")
    await expect(choice).to_be_disabled()
    await expect(choice.locator("option")).to_have_text(["No key can run this workflow"])
    await expect(panel.get_by_test_id("run-key-note")).to_have_text(
        "None of your keys can run “nightly-report”. Add it to a key's workflows with Restrict,"
        " or create a new key."
    )
    await expect(panel.get_by_test_id("run-command")).to_be_hidden()
    await expect(panel.get_by_role("alert")).to_be_hidden()

    await panel.get_by_label("Workflow ID").fill("daily-report")
    await expect(choice).to_be_enabled()
    await expect(choice).to_have_value(default["id"])
    await expect(panel.get_by_test_id("run-command")).to_contain_text(default["maskedKey"])


async def test_a_scope_saved_in_the_restrict_dialog_changes_the_keys_offered(
    page: Page, user: User
) -> None:
    ci = await create_key(user, "CI")
    await open_page(page, user)
    panel = page.get_by_test_id("run-panel")
    choice = panel.get_by_label("API key")
    await panel.get_by_label("Workflow ID").fill("deploy")
    await choice.select_option(ci["id"])
    await expect(panel.get_by_test_id("run-command")).to_contain_text(ci["maskedKey"])

    dialog = await open_restrict(page, "CI")
    await (
        dialog.get_by_role("radiogroup", name="Workflows")
        .get_by_role("radio", name="Only these")
        .check()
    )
    await dialog.get_by_label("Workflow IDs").fill("nightly-report")
    await dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(dialog).to_be_hidden()

    await expect(choice.locator("option")).to_have_text([re.compile(r"^Default \(default\) · ")])
    await expect(panel.get_by_test_id("run-key-note")).to_have_text(
        "“CI” cannot run “deploy”, so “Default” is chosen."
    )
