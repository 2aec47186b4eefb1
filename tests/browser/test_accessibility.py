"""What axe-core finds on the page (nothing, on the list, the menu and every dialog, the Restrict
dialog at each of its steps), and the focus ring a keyboard user follows."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.axe import Axe
from tests.browser.support import Service, User, open_page
from tests.browser.test_restricting_keys import open_restrict
from tests.browser.test_settings_page import (
    LEAK_URL,
    finish_new_key,
    key_row,
    key_rows,
    new_key_step,
    open_menu_item,
)
from tests.browser.test_usage_page import create_key, use_key


async def test_axe_finds_nothing_on_the_list_the_menu_and_every_dialog(
    page: Page, user: User, service: Service, axe: Axe
) -> None:
    await user.create_key("CI", "Nightly deploys")
    leaked = await user.create_key("Old laptop")
    assert await service.report_leak(await user.secret(leaked["id"]), LEAK_URL) == "true_positive"
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(3)
    await expect(key_row(page, "CI").get_by_test_id("usage-sparkline")).to_be_visible()
    await axe.check(page, "the list")

    await key_row(page, "CI").get_by_role("button", name="Actions for CI").click()
    await expect(page.get_by_role("menu")).to_be_visible()
    await axe.check(page, "the row menu")
    await page.keyboard.press("Escape")

    dialogs = [
        ("Edit", "CI", "Edit key"),
        ("Restrict", "CI", "Restrict “CI”"),
        ("Usage", "CI", "Usage of “CI”"),
        ("Delete", "CI", "Delete this key?"),
        ("Delete", "Old laptop", "Delete this key?"),
        ("Rotate", "Default", "Rotate the default key?"),
    ]
    for item, key_name, title in dialogs:
        await open_menu_item(page, key_name, item)
        dialog = page.get_by_role("dialog", name=title)
        await expect(dialog).to_be_visible()
        await expect(dialog).not_to_have_attribute("aria-busy", "true")
        await axe.check(page, f"the dialog {title!r} of {key_name}")
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

    await page.get_by_role("button", name="New API key").click()
    create = page.get_by_role("dialog", name="New API key")
    await axe.check(page, "the create dialog")
    # With a refusal under its field.
    await create.get_by_role("button", name="Create key").click()
    await expect(create.get_by_role("alert")).to_be_visible()
    await axe.check(page, "the create dialog with a refused name")
    await create.get_by_label("Name", exact=True).fill("Fresh")
    await create.get_by_role("button", name="Create key").click()
    await new_key_step(page)
    await axe.check(page, "the new-key step")
    await finish_new_key(page)
    await axe.check(page, "the list with a new key highlighted")


async def test_axe_finds_nothing_in_the_restrict_dialog_at_each_step(
    page: Page, user: User, service: Service, axe: Axe
) -> None:
    ci = await create_key(user, "CI")
    await use_key(service, user, ci["id"], "nightly-report", "deploy", client_address="203.0.113.7")
    await open_page(page, user)
    dialog = await open_restrict(page, "CI")
    await axe.check(page, "the Restrict dialog filled in from the suggestions")

    networks = dialog.get_by_role("radiogroup", name="Networks")
    await networks.get_by_role("radio", name="Only these").check()
    await dialog.get_by_label("Addresses and networks").fill("198.51.100.0/24")
    await dialog.get_by_label("Workflow IDs").fill("deploy")
    await expect(dialog.get_by_role("button", name="Add nightly-report")).to_be_visible()
    await expect(dialog.get_by_role("button", name="Add 203.0.113.7")).to_be_visible()
    await axe.check(page, "the Restrict dialog with suggestions to add")

    await dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(dialog.get_by_test_id("scope-warning")).not_to_be_empty()
    await axe.check(page, "the Restrict dialog's warning")

    await dialog.get_by_label("Addresses and networks").fill("example.com")
    await dialog.get_by_role("button", name="Save", exact=True).click()
    await dialog.get_by_role("button", name="Save anyway").click()  # nightly-report is left out
    await expect(dialog.locator("#restrict-addresses-error")).to_be_visible()
    await axe.check(page, "the Restrict dialog with a refused network")


async def test_the_focus_ring_is_solid_and_contrasts_3_to_1(page: Page, user: User) -> None:
    await open_page(page, user)
    await expect(key_rows(page)).to_have_count(1)
    new_key = page.get_by_role("button", name="New API key")
    await new_key.focus()
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Tab")  # from the keyboard, so :focus-visible applies
    await expect(new_key).to_be_focused()
    ring = await new_key.evaluate(
        """button => {
          const style = getComputedStyle(button);
          return [style.outlineStyle, style.outlineWidth, style.outlineColor,
                  getComputedStyle(button.closest('.card')).backgroundColor];
        }"""
    )
    style, width, color, background = ring
    assert style == "solid", f"the focus ring is {style}"
    assert float(width.removesuffix("px")) >= 2, f"the focus ring is {width} wide"
    ratio = contrast(rgb(color), rgb(background))
    assert ratio >= 3, f"the focus ring contrasts {ratio:.2f}:1 with {background}"


def rgb(css: str) -> tuple[float, float, float]:
    found = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", css)
    assert found, css
    assert found.group(4) in (None, "1"), f"{css} is translucent"
    return (float(found.group(1)), float(found.group(2)), float(found.group(3)))


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2's contrast ratio of two colours."""

    def luminance(color: tuple[float, float, float]) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (channel / 255 for channel in color)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
