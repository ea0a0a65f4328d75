"""A fake Slack on loopback: the Web API methods the desk uses and Socket Mode.

Built from Slack's documented request encodings and response shapes (see
``server.py``); payload builders in ``payloads.py`` start from real payloads
kept in ``tests/fixtures/slack``.
"""

from tests.fakeslack.server import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
