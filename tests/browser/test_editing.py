"""Text that fits (descriptions clamped in the list, whole in the editor) and errors where they
happen (under the refused field, the typed text kept; one notice at a time; one message in a
dialog when the server is down)."""

from __future__ import annotations

from playwright.async_api import Page, Route, expect

from tests.browser.support import User, open_page
from tests.browser.test_phone_layout import LONG_DESCRIPTION, LONG_NAME
from tests.browser.test_settings_page import key_row, key_rows, open_menu_item

DESCRIPTION_360 = (LONG_DESCRIPTION * 2)[:360]


async def test_a_long_description_is_clamped_in_the_list_and_whole_in_the_editor(
    page: Page, user: User
) -> None:
    await user.create_key(LONG_NAME, DESCRIPTION_360)
    await open_page(page, user)
    row = key_row(page, LONG_NAME)
    cell = row.get_by_test_id("description-cell")
    text = row.get_by_test_id("description-text")

    # Two lines in the list: the row stays a row.
    await expect(text).to_have_text(DESCRIPTION_360)  # all of it is in the page, for readers
    box = await row.bounding_box()
    assert box is not None and box["height"] < 200, f"the row is {box['height'] if box else 0}px"
    lines = await text.evaluate(
        "element => element.clientHeight / parseFloat(getComputedStyle(element).lineHeight)"
    )
    assert round(lines) == 2, f"the description shows {lines} lines"
    # The whole text on focus (the keyboard's hover).
    await cell.focus()
    whole = await text.evaluate("element => element.scrollHeight <= element.clientHeight + 1")
    assert whole, "the focused description is still clamped"

    # The editor: the whole name, and the whole description without scrolling.
    await open_menu_item(page, LONG_NAME, "Edit")
    editor = page.get_by_role("dialog", name="Edit key")
    name = editor.get_by_role("textbox", name="Name", exact=True)
    description = editor.get_by_role("textbox", name="Description")
    await expect(name).to_have_value(LONG_NAME)
    name_fits = await name.evaluate("input => input.scrollWidth <= input.clientWidth")
    assert name_fits, "the name does not fit its field"
    await expect(description).to_have_value(DESCRIPTION_360)
    fits = await description.evaluate("area => area.scrollHeight <= area.clientHeight")
    assert fits, "the description does not fit its field"
    size = await description.bounding_box()
    assert size is not None and size["width"] >= 400, f"the description field is {size}"
    await expect(editor).to_contain_text("360 of 500 characters.")


async def test_a_refused_rename_keeps_the_typed_text_with_the_reason_under_the_field(
    page: Page, user: User
) -> None:
    await user.create_key("Zapier")
    refusal = await user.create_key("default ")
    assert refusal["code"] == "NAME_TAKEN", refusal
    await open_page(page, user)

    await key_row(page, "Zapier").get_by_test_id("name-cell").dblclick()
    editor = page.get_by_role("dialog", name="Edit key")
    name = editor.get_by_role("textbox", name="Name", exact=True)
    await name.fill("default ")
    await name.press("Enter")
    under_name = editor.locator("#edit-name-error")
    await expect(under_name).to_have_text(refusal["message"])
    await expect(editor.get_by_role("alert")).to_have_count(1)  # only there
    await expect(editor).to_be_visible()
    await expect(name).to_have_value("default ")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_have_attribute("aria-errormessage", "edit-name-error")
    await expect(name).to_be_focused()
    await expect(page.get_by_test_id("keys-error")).to_be_hidden()  # not far from its cause
    await expect(key_row(page, "Zapier")).to_be_visible()

    # Fixed, the same editor saves; the message is gone.
    await name.fill("Zapier (prod)")
    await name.press("Enter")
    await expect(editor).to_be_hidden()
    await expect(key_row(page, "Zapier (prod)")).to_be_visible()
    await expect(under_name).to_be_hidden()


async def test_one_notice_at_a_time_and_a_success_clears_an_earlier_error(
    page: Page, user: User
) -> None:
    await user.create_key("Zapier")
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(2)

    async def refuse_secrets(route: Route) -> None:
        if "ApiKeySecret" in (route.request.post_data or ""):
            await route.abort()
        else:
            await route.continue_()

    await page.route("**/graphql", refuse_secrets)
    await key_row(page, "Zapier").get_by_role("button", name="Copy key Zapier").click()
    error = page.get_by_test_id("keys-error")
    await expect(error).to_have_text(
        "Could not reach the server. Check your connection and try again."
    )
    await expect(error).to_be_in_viewport()
    await page.unroute("**/graphql", refuse_secrets)

    await open_menu_item(page, "Zapier", "Edit")
    editor = page.get_by_role("dialog", name="Edit key")
    await editor.get_by_role("textbox", name="Name", exact=True).fill("Zapier 2")
    await editor.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(error).to_be_hidden()
    # One notice: the confirmation alone.
    visible = [
        n for n in await page.get_by_test_id("notice").locator("p").all() if await n.is_visible()
    ]
    assert len(visible) == 1, f"{len(visible)} notices shown"


async def test_with_the_server_down_the_delete_dialog_says_so_once(page: Page, user: User) -> None:
    await user.create_key("Old laptop")
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(2)
    await page.route("**/graphql", lambda route: route.abort())

    await open_menu_item(page, "Old laptop", "Delete")
    dialog = page.get_by_role("dialog", name="Delete this key?")
    await expect(dialog.get_by_test_id("recent-workflows")).to_have_text(
        "Could not check which workflows used this key."
    )
    await dialog.get_by_role("button", name="Delete key").click()
    await expect(dialog.get_by_role("alert")).to_have_text(
        "Could not reach the server. Check your connection and try again."
    )
    await expect(dialog.get_by_test_id("recent-workflows")).to_have_text("")
    await expect(dialog).not_to_contain_text("Could not check")
    await expect(key_row(page, "Old laptop")).to_have_count(1)
