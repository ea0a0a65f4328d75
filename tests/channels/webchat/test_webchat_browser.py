"""The widget in headless Debian Chromium, driven by Playwright, against the real app.

Skips with the reason when Chromium or Playwright is missing; in CI (CI=true)
that is a failure (``tests.services.require``). Chromium is the system one
(/usr/bin/chromium); ``playwright install`` is never needed.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from sqlmodel import select
from webchat_support import ARTICLE_URL, RESET_ANSWER, Chat

from contactcenter.storage.models import Conversation
from tests.services import require

CHROMIUM = os.environ.get("CONTACTCENTER_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def require_browser() -> None:
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    require(importlib.util.find_spec("playwright") is not None, "Playwright for Python")


async def webchat_conversation(chat: Chat) -> int:
    async with chat.services.db.session() as s:
        conv = (await s.exec(select(Conversation).where(Conversation.channel == "webchat"))).one()
    assert conv.id is not None
    return conv.id


async def test_widget_bot_answer_escalation_and_agent_reply(chat: Chat) -> None:
    require_browser()
    from playwright.async_api import async_playwright, expect

    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            response = await page.goto(chat.url + "/chat")
            assert response is not None and response.ok

            launcher = page.get_by_role("button", name="Open chat")
            await launcher.click()
            dialog = page.get_by_role("dialog", name="Chat with us")
            await expect(dialog).to_be_visible()
            box = page.get_by_role("textbox", name="Message", exact=True)
            await expect(box).to_be_focused()

            await box.fill("How do I reset my password?")
            await box.press("Enter")
            bot = page.locator(".msg.bot").filter(has_text=RESET_ANSWER)
            await expect(bot).to_be_visible(timeout=10_000)
            await expect(bot.get_by_role("link", name="Reset your password")).to_have_attribute(
                "href", ARTICLE_URL
            )
            mine = page.locator(".msg.customer").filter(has_text="reset my password")
            await expect(mine).to_have_attribute("data-id", mine_id_pattern())

            # Hostile text is shown as text, never run as HTML.
            await box.fill('<img src=x onerror="window.pwned=1"> hi')
            await box.press("Enter")
            await expect(
                page.locator(".msg.customer").filter(has_text="<img src=x")
            ).to_have_attribute("data-id", mine_id_pattern())
            assert await page.evaluate("window.pwned === undefined")
            assert await page.locator("#contactcenter-chat img").count() == 0

            await page.get_by_role("button", name="Talk to a human").click()
            await expect(
                page.locator(".msg.bot").filter(has_text="member of our team")
            ).to_be_visible(timeout=10_000)

            cid = await webchat_conversation(chat)
            status, agent = await chat.api.call("POST", "/api/v1/agents", json={"name": "Ann"})
            assert status == 201
            await chat.api.call(
                "POST", f"/api/v1/conversations/{cid}/assign", json={"agent_id": agent["id"]}
            )
            await expect(page.get_by_text("Ann joined the conversation.")).to_be_visible(
                timeout=10_000
            )
            await chat.channel.agent_typing(cid, True, "Ann")
            await expect(page.get_by_text("Ann is typing…")).to_be_visible()
            status, _ = await chat.api.call(
                "POST",
                f"/api/v1/conversations/{cid}/messages",
                json={"text": "Hello from Ann, happy to help.", "agent_id": agent["id"]},
            )
            assert status == 201
            reply = page.locator(".msg.agent").filter(has_text="Hello from Ann, happy to help.")
            await expect(reply).to_be_visible(timeout=10_000)
            await expect(reply.locator(".who")).to_have_text("Ann")
            await expect(reply.locator("time")).to_have_count(1)

            await page.screenshot(path=str(ARTIFACTS / "webchat.png"))

            # Escape closes the window and gives focus back to the launcher.
            await expect(box).to_be_focused()
            await page.keyboard.press("Escape")
            await expect(dialog).to_be_hidden()
            await expect(launcher).to_be_focused()
        finally:
            await browser.close()
    assert not [c for c in console if c.startswith(("error", "pageerror"))], console


def mine_id_pattern() -> Any:
    import re

    return re.compile(r"^\d+$")


async def test_widget_on_a_phone_resumes_after_reload(chat: Chat) -> None:
    require_browser()
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
            )
            page = await context.new_page()
            await page.goto(chat.url + "/chat")
            await page.get_by_role("button", name="Open chat").click()
            dialog = page.get_by_role("dialog")
            size = await dialog.bounding_box()
            assert size is not None and size["width"] >= 370 and size["height"] >= 600
            box = page.get_by_role("textbox", name="Message", exact=True)
            await box.fill("password help from my phone")
            await page.get_by_role("button", name="Send").click()
            await expect(page.locator(".msg.bot").first).to_be_visible(timeout=10_000)
            await page.screenshot(path=str(ARTIFACTS / "webchat-phone.png"))

            # A reload resumes the same visitor: the token is in localStorage.
            await page.reload()
            await page.get_by_role("button", name="Open chat").click()
            await expect(
                page.locator(".msg.customer").filter(has_text="password help from my phone")
            ).to_have_count(1, timeout=10_000)
            await expect(page.locator(".msg.bot")).to_have_count(1)
        finally:
            await browser.close()
    async with chat.services.db.session() as s:
        assert len((await s.exec(select(Conversation))).all()) == 1
