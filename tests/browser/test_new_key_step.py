"""A new key is put in front of its owner at once: after a create and after a rotation, the
"Copy your new key" step shows the whole key, selected, with Copy and Done; the key's row is then
marked. Keys are compared without ever being printed."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.browser.support import User, open_page
from tests.browser.test_settings_page import (
    assert_not_shown,
    assert_secret,
    key_row,
    key_rows,
    new_key_step,
    open_menu_item,
)


async def assert_shown_selected(field: Locator, secret: str) -> None:
    """The field holds exactly `secret`, all of it selected (ready for Ctrl+C)."""
    await expect(field).to_be_focused()
    assert_secret(await field.input_value(), secret, "the key in the new-key step")
    selected = await field.evaluate("f => [f.selectionStart, f.selectionEnd, f.value.length]")
    assert selected[0] == 0 and selected[1] == selected[2], f"selection {selected[:2]}"


async def test_after_create_the_new_key_is_shown_selected_with_copy_and_done(
    page: Page, user: User
) -> None:
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(1)
    await page.get_by_role("button", name="New API key").click()
    create = page.get_by_role("dialog", name="New API key")
    await create.get_by_label("Name", exact=True).fill("CI deploys")
    await create.get_by_role("button", name="Create key").click()

    step = await new_key_step(page)
    await expect(create).to_be_hidden()
    await expect(step).to_contain_text("“CI deploys” is ready.")
    [_, created] = await user.keys()
    secret = await user.secret(created["id"])
    field = step.get_by_label("New key")
    await assert_shown_selected(field, secret)

    copy = step.get_by_role("button", name="Copy")
    await copy.click()
    await expect(step.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert_secret(await page.evaluate("navigator.clipboard.readText()"), secret, "the clipboard")

    await step.get_by_role("button", name="Done").click()
    await expect(step).to_be_hidden()
    # The secret left the page with the step; the new row is marked, in view, and focused.
    assert_not_shown(secret, await page.content(), "the page after Done")
    row = key_row(page, "CI deploys")
    await expect(row).to_have_class(re.compile(r"\bhighlighted\b"))
    await expect(key_row(page, "Default")).not_to_have_class(re.compile(r"\bhighlighted\b"))
    await expect(row.get_by_test_id("name-cell")).to_be_focused()
    await expect(row).to_be_in_viewport()
    await expect(page.get_by_role("status").last).to_contain_text("“CI deploys” created")


async def test_after_a_rotation_the_new_secret_is_shown_and_the_old_ones_grace_told(
    page: Page, user: User
) -> None:
    [before] = await user.keys()
    old = await user.secret(before["id"])
    await open_page(page, user)
    await open_menu_item(page, "Default", "Rotate")
    rotate = page.get_by_role("dialog", name="Rotate the default key?")
    await rotate.get_by_label("Old key stops working").select_option(label="In 7 days")
    await rotate.get_by_role("button", name="Rotate key").click()

    step = await new_key_step(page)
    await expect(step).to_contain_text("“Default” has a new secret.")
    new = await user.secret(before["id"])
    assert_not_shown(old, new, "the rotated key")
    await assert_shown_selected(step.get_by_label("New key"), new)
    await step.get_by_role("button", name="Done").click()

    row = key_row(page, "Default")
    await expect(row).to_have_class(re.compile(r"\bhighlighted\b"))
    await expect(row.get_by_test_id("old-secret")).to_have_text(
        re.compile(r"^The old key keeps working until .+ \(in 7 days\)\.$")
    )
    await expect(page.get_by_role("status")).to_contain_text("The old key keeps working for 7 days")
