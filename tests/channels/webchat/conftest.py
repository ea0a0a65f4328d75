"""Fixtures for the web chat tests: the real app with the channel, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from webchat_support import BASE_CONFIG, Chat, MakeChat, start_chat

from contactcenter.config import Settings


@pytest.fixture
async def make_chat(settings: Settings) -> AsyncIterator[MakeChat]:
    """``await make_chat(**webchat_config)``: a running app; closed after the test."""
    chats: list[Chat] = []

    async def make(**config: Any) -> Chat:
        chat = await start_chat(settings, {**BASE_CONFIG, **config})
        chats.append(chat)
        return chat

    yield make
    for chat in chats:
        await chat.close()


@pytest.fixture
async def chat(make_chat: MakeChat) -> Chat:
    return await make_chat()
