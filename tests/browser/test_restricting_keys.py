"""Least privilege on the page: each key's scope in the table, and the Restrict dialog (filled in
from the workflows that used the key, a warning by name before cutting off what used it lately,
the server's refusals under their list, lifting a restriction).

Uses are made as the platform's gateway makes them (`service.verify` with workflow ids and client
addresses), and written within 50 ms by the browser tests' service.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Locator, Page, Request, expect

from tests.browser.support import Service, User, open_page
from tests.browser.test_settings_page import LEAK_URL, key_row, key_rows, open_menu_item
from tests.browser.test_usage_page import create_expired_keys, create_key, use_key

SCOPE = """
  query ($id: ID!) {
    apiKey(id: $id) { workflowIds allowedAddresses suggestedWorkflowIds(days: 30) }
  }"""
UPDATE = """
  mutation ($input: UpdateApiKeyInput!) {
    updateApiKey(input: $input) {
      __typename
      ... on ApiKey { workflowIds allowedAddresses }
      ... on UserError { code message }
      ... on ValidationError { field }
    }
  }"""
CUT_OFF = "These workflows used this key in the last 7 days and will be refused:"


async def scope_of(user: User, key_id: str) -> dict[str, Any]:
    key: dict[str, Any] = (await user.data(SCOPE, id=key_id))["apiKey"]
    return key


async def restrict(user: User, key_id: str, **scope: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await user.data(UPDATE, input={"id": key_id, **scope}))[
        "updateApiKey"
    ]
    return result


async def open_restrict(page: Page, key_name: str) -> Locator:
    await open_menu_item(page, key_name, "Restrict")
    dialog = page.get_by_role("dialog", name=f"Restrict “{key_name}”")
    await expect(dialog).to_be_visible()
    # The key's recent use has been looked up (the lists are filled in, the warning can be said).
    await expect(dialog.get_by_test_id("workflow-suggestions")).not_to_have_attribute(
        "aria-busy", "true"
    )
    return dialog


def workflows_of(dialog: Locator) -> tuple[Locator, Locator]:
    """The workflows' "Only these" choice and their list."""
    group = dialog.get_by_role("radiogroup", name="Workflows")
    return group.get_by_role("radio", name="Only these"), dialog.get_by_label("Workflow IDs")


def networks_of(dialog: Locator) -> tuple[Locator, Locator]:
    group = dialog.get_by_role("radiogroup", name="Networks")
    return group.get_by_role("radio", name="Only these"), dialog.get_by_label(
        "Addresses and networks"
    )


async def expect_scope(row: Locator, workflows: str, networks: str) -> None:
    await expect(row.get_by_test_id("scope-workflows")).to_have_text(workflows)
    await expect(row.get_by_test_id("scope-networks")).to_have_text(networks)


async def test_restrict_is_filled_in_with_the_workflows_that_used_the_key_and_saves_them(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "nightly-report", "nightly-report", "deploy")
    suggested = (await scope_of(user, ci["id"]))["suggestedWorkflowIds"]
    assert suggested == ["deploy", "nightly-report"], suggested  # most recent first
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(2)
    await expect_scope(key_row(page, "CI"), "All workflows", "Any network")
    await expect_scope(key_row(page, "Default"), "All workflows", "Any network")

    dialog = await open_restrict(page, "CI")
    only, listed = workflows_of(dialog)
    await expect(only).to_be_checked()
    await expect(listed).to_have_value("deploy\nnightly-report")
    await expect(dialog.get_by_test_id("workflow-suggestions")).to_have_text(
        "Filled in with the workflows that used this key in the last 30 days."
    )
    any_network = dialog.get_by_role("radiogroup", name="Networks").get_by_role(
        "radio", name="Any network"
    )
    await expect(any_network).to_be_checked()
    await expect(networks_of(dialog)[1]).to_be_hidden()

    # Nothing that used the key is left out: Save saves at once.
    await dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("status")).to_have_text(
        "Scope of “CI” saved: 2 workflows, any network."
    )
    await expect_scope(key_row(page, "CI"), "2 workflows", "Any network")
    await expect(key_row(page, "CI").get_by_test_id("scope-workflows")).to_have_attribute(
        "title", "deploy, nightly-report"
    )
    await expect(key_row(page, "CI").get_by_test_id("name-cell")).to_be_focused()
    stored = await scope_of(user, ci["id"])
    assert stored["workflowIds"] == ["deploy", "nightly-report"], stored
    assert stored["allowedAddresses"] is None, stored

    # Opened again, the dialog shows the key's own list.
    dialog = await open_restrict(page, "CI")
    await expect(workflows_of(dialog)[1]).to_have_value("deploy\nnightly-report")
    await expect(dialog.get_by_test_id("workflow-suggestions")).to_have_text(
        "Every workflow that used this key in the last 30 days is listed."
    )


async def test_a_scope_that_cuts_off_recent_use_is_named_and_saved_only_once_confirmed(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "nightly-report", client_address="203.0.113.7")
    await use_key(service, user, ci["id"], "deploy", client_address="198.51.100.23")
    await open_page(page, user)

    dialog = await open_restrict(page, "CI")
    only_workflows, workflows = workflows_of(dialog)
    only_networks, networks = networks_of(dialog)
    await workflows.fill("deploy")
    await only_networks.check()
    await networks.fill("203.0.113.0/24")
    save = dialog.get_by_role("button", name="Save", exact=True)
    await save.click()

    # Not saved: the dialog says by name what would be cut off, and asks again.
    warning = dialog.get_by_test_id("scope-warning")
    await expect(warning).to_contain_text(CUT_OFF)
    await expect(warning.get_by_role("listitem").locator("code")).to_have_text(["nightly-report"])
    await expect(warning.get_by_role("listitem")).to_contain_text(["1 use, last used just now"])
    await expect(warning.get_by_test_id("address-outside")).to_have_text(
        "The key was last used from 198.51.100.23 (just now), outside these networks:"
        " uses from there will be refused."
    )
    confirm = dialog.get_by_role("button", name="Save anyway")
    await expect(confirm).to_be_visible()
    await expect(confirm).to_have_class(re.compile(r"\bbtn-danger\b"))
    stored = await scope_of(user, ci["id"])
    assert stored["workflowIds"] is None and stored["allowedAddresses"] is None, stored

    # A change makes the warning stale: it goes, and Save works it out again.
    await networks.fill("203.0.113.0/24\n198.51.100.0/24")
    await expect(warning).to_be_empty()
    await expect(save).to_be_visible()
    await save.click()
    await expect(warning).to_contain_text(CUT_OFF)
    await expect(warning.get_by_test_id("address-outside")).to_have_count(0)

    # Confirmed: saved as shown.
    await confirm.click()
    await expect(dialog).to_be_hidden()
    await expect_scope(key_row(page, "CI"), "1 workflow", "2 networks")
    stored = await scope_of(user, ci["id"])
    assert stored["workflowIds"] == ["deploy"], stored
    assert stored["allowedAddresses"] == ["203.0.113.0/24", "198.51.100.0/24"], stored
    await expect(only_workflows).to_be_hidden()  # the dialog is closed


async def test_a_restricted_key_opens_with_its_lists_and_offers_what_else_used_it(
    page: Page, user: User, service: Service
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "sync-crm", "deploy", client_address="2001:db8::7")
    restricted = await restrict(
        user, ci["id"], workflowIds=["deploy"], allowedAddresses=["192.0.2.0/24"]
    )
    assert restricted["__typename"] == "ApiKey", restricted
    await open_page(page, user)
    await expect_scope(key_row(page, "CI"), "1 workflow", "1 network")

    dialog = await open_restrict(page, "CI")
    only_workflows, workflows = workflows_of(dialog)
    only_networks, networks = networks_of(dialog)
    await expect(only_workflows).to_be_checked()
    await expect(workflows).to_have_value("deploy")
    await expect(only_networks).to_be_checked()
    await expect(networks).to_have_value("192.0.2.0/24")
    suggestions = dialog.get_by_test_id("workflow-suggestions")
    await expect(suggestions).to_contain_text("Also used in the last 30 days:")

    await suggestions.get_by_role("button", name="Add sync-crm").click()
    await expect(workflows).to_have_value("deploy\nsync-crm")
    await expect(suggestions.get_by_role("button")).to_have_count(0)
    await expect(workflows).to_be_focused()
    await (
        dialog.get_by_test_id("network-suggestions")
        .get_by_role("button", name="Add 2001:db8::7")
        .click()
    )
    await expect(networks).to_have_value("192.0.2.0/24\n2001:db8::7")
    await expect(dialog.get_by_test_id("network-suggestions")).to_be_empty()

    # Everything that used the key is in: no warning.
    await dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect_scope(key_row(page, "CI"), "2 workflows", "2 networks")
    stored = await scope_of(user, ci["id"])
    assert stored["workflowIds"] == ["deploy", "sync-crm"], stored
    assert stored["allowedAddresses"] == ["192.0.2.0/24", "2001:db8::7/128"], stored


async def test_the_servers_refusal_is_shown_under_its_list_with_the_typed_text_kept(
    page: Page, user: User
) -> None:
    [default] = await user.keys()
    typed_networks = "10.0.0.0/8\n10.1.2.3/8"  # host bits set: refused, not widened
    refused = await restrict(user, default["id"], allowedAddresses=typed_networks.split("\n"))
    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "allowedAddresses", refused
    empty = await restrict(user, default["id"], workflowIds=[])
    assert empty["field"] == "workflowIds", empty
    await open_page(page, user)

    # Never used: nothing to suggest, every workflow and any network to start with.
    dialog = await open_restrict(page, "Default")
    await expect(dialog.get_by_role("radio", name="All workflows")).to_be_checked()
    only_workflows, workflows = workflows_of(dialog)
    only_networks, networks = networks_of(dialog)
    await only_networks.check()
    await networks.fill(typed_networks)
    save = dialog.get_by_role("button", name="Save", exact=True)
    await save.click()
    under_networks = dialog.locator("#restrict-addresses-error")
    await expect(under_networks).to_have_text(refused["message"])
    await expect(dialog.get_by_role("alert")).to_have_count(1)  # only there
    await expect(networks).to_have_value(typed_networks)
    await expect(networks).to_have_attribute("aria-invalid", "true")
    await expect(networks).to_have_attribute("aria-errormessage", "restrict-addresses-error")
    await expect(networks).to_be_focused()
    await expect(page.get_by_test_id("keys-error")).to_be_hidden()

    # Fixed; but an empty workflow list is refused in turn, under it.
    await networks.fill("10.0.0.0/8")
    await only_workflows.check()
    await expect(workflows).to_have_value("")
    await save.click()
    await expect(dialog.locator("#restrict-workflow-ids-error")).to_have_text(empty["message"])
    await expect(under_networks).to_be_hidden()
    await expect(networks).not_to_have_attribute("aria-invalid", "true")
    await expect(networks).to_have_value("10.0.0.0/8")
    await expect(workflows).to_be_focused()

    await workflows.fill("daily-report\n\n  nightly-report  \n")
    await save.click()
    await expect(dialog).to_be_hidden()
    await expect_scope(key_row(page, "Default"), "2 workflows", "1 network")
    stored = await scope_of(user, default["id"])
    assert stored["workflowIds"] == ["daily-report", "nightly-report"], stored
    assert stored["allowedAddresses"] == ["10.0.0.0/8"], stored


async def test_all_workflows_and_any_network_lift_a_restriction(page: Page, user: User) -> None:
    ci = await create_key(user, "CI")
    await restrict(user, ci["id"], workflowIds=["deploy"], allowedAddresses=["10.0.0.0/8"])
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql") and "UpdateApiKey" in (request.post_data or ""):
            sent.append(json.loads(request.post_data or "{}")["variables"]["input"])

    page.on("request", record)
    await open_page(page, user)
    await expect_scope(key_row(page, "CI"), "1 workflow", "1 network")

    dialog = await open_restrict(page, "CI")
    await dialog.get_by_role("radio", name="All workflows").check()
    await dialog.get_by_role("radio", name="Any network").check()
    await expect(workflows_of(dialog)[1]).to_be_hidden()
    await dialog.get_by_role("button", name="Save", exact=True).click()  # wider: nothing to warn of
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("status")).to_have_text(
        "Scope of “CI” saved: all workflows, any network."
    )
    await expect_scope(key_row(page, "CI"), "All workflows", "Any network")
    assert sent == [{"id": ci["id"], "workflowIds": None, "allowedAddresses": None}], sent
    stored = await scope_of(user, ci["id"])
    assert stored["workflowIds"] is None and stored["allowedAddresses"] is None, stored


async def test_revoked_and_expired_keys_are_not_offered_restrict(
    page: Page, user: User, service: Service
) -> None:
    leaked = await create_key(user, "Old laptop")
    assert await service.report_leak(await user.secret(leaked["id"]), LEAK_URL) == "true_positive"
    await create_expired_keys(user, "Old CI")
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(3)
    for name, actions in (
        ("Default", ["Edit", "Restrict", "Usage", "Rotate"]),
        ("Old laptop", ["Edit", "Usage", "Delete"]),
        ("Old CI", ["Edit", "Usage", "Delete"]),
    ):
        await key_row(page, name).get_by_role("button", name=f"Actions for {name}").click()
        await expect(page.get_by_role("menuitem")).to_have_text(actions)
        await page.keyboard.press("Escape")
