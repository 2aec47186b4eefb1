"""The settings page on a 390 × 844 phone: each key is a card (its scope among its values),
nothing scrolls sideways, and every action of every key is on screen, Restrict included."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.axe import Axe
from tests.browser.support import Service, User, open_page
from tests.browser.test_settings_page import LEAK_URL, key_row, key_rows

PHONE = {"width": 390, "height": 844}
LONG_DESCRIPTION = (
    "Deploys the staging and production stacks every night, then runs the smoke tests against"
    " both and posts the results in the release channel. Owned by the platform team; ask in"
    " #platform before rotating it. Also used by the weekly dependency refresh and by the"
    " on-call runbook's one-click rollback, so keep it."
)
LONG_NAME = "Nightly deploys of the staging and production stacks (platforms)"


async def test_on_a_phone_every_key_is_a_card_with_its_actions_on_screen(
    page: Page, user: User, service: Service, axe: Axe
) -> None:
    assert len(LONG_NAME) == 64 and len(LONG_DESCRIPTION) > 300
    await user.create_key(LONG_NAME, LONG_DESCRIPTION)
    leaked = await user.create_key("Old laptop", "Personal scripts")
    await user.create_key("Zapier")
    assert await service.report_leak(await user.secret(leaked["id"]), LEAK_URL) == "true_positive"
    await page.set_viewport_size(PHONE)
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(4)

    # The document does not scroll sideways.
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == PHONE["width"], f"scroll width {widths[0]} of {widths[1]}"

    # Every button of every key is inside the 390 px: Copy, Reveal and each action.
    buttons = key_rows(page).get_by_role("button")
    boxes = [await button.bounding_box() for button in await buttons.all()]
    outside = [
        await button.inner_text()
        for button, box in zip(await buttons.all(), boxes, strict=True)
        if box is None or box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]
    ]
    assert not outside, f"buttons outside the screen: {outside}"
    # Visible actions, not only a menu: each key's are there without a tap on ⋮.
    for name, actions in (
        ("Default", ["Edit", "Restrict", "Usage", "Rotate"]),
        (LONG_NAME, ["Edit", "Restrict", "Usage", "Delete"]),
        ("Old laptop", ["Edit", "Usage", "Delete"]),  # revoked: nothing left to restrict
    ):
        row = key_row(page, name)
        await expect(row.get_by_test_id("row-actions").get_by_role("button")).to_have_text(actions)
        await expect(row.get_by_role("button", name=f"Actions for {name}")).to_be_hidden()
    await expect(
        key_row(page, "Zapier").get_by_role("button", name="Copy key Zapier")
    ).to_be_visible()

    # A card: name, clamped description, masked key, expiry and last used, one above the other.
    card = key_row(page, LONG_NAME)
    box = await card.bounding_box()
    assert box is not None and box["height"] < 420, f"the card is {box} tall"
    text = card.get_by_test_id("description-text")
    clamped = await text.evaluate("element => element.scrollHeight > element.clientHeight + 1")
    assert clamped, "the description is not clamped"
    assert await card.evaluate("row => getComputedStyle(row).display") == "grid"
    for test_id, label in (("expires", "Expires"), ("last-used", "Last used"), ("scope", "Scope")):
        shown = await card.get_by_test_id(test_id).evaluate(
            "cell => getComputedStyle(cell, '::before').content"
        )
        assert shown == f'"{label}"', f"the {test_id} value is labelled {shown}"

    # An action from the card works.
    await card.get_by_role("button", name=f"Edit {LONG_NAME}").click()
    editor = page.get_by_role("dialog", name="Edit key")
    await expect(editor.get_by_role("textbox", name="Name", exact=True)).to_have_value(LONG_NAME)
    await axe.check(page, "the editor on a phone")
    await editor.get_by_role("button", name="Cancel").click()

    # So does Restrict, whose dialog fits the phone's width.
    await card.get_by_role("button", name=f"Restrict {LONG_NAME}").click()
    restrict = page.get_by_role("dialog", name=f"Restrict “{LONG_NAME}”")
    await expect(restrict.get_by_role("radio", name="All workflows")).to_be_checked()
    box = await restrict.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    await axe.check(page, "the Restrict dialog on a phone")
    await restrict.get_by_role("button", name="Cancel").click()

    await axe.check(page, "the list on a phone")
