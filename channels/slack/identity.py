"""Who the desk's bot is in Slack, for Bolt's ``authorize`` and the start-up log.

Bolt authorizes every request: it needs the bot's user id and bot id (to drop
the bot's own events) and its token. Bolt's single-workspace authorization asks
``auth.test`` on the first request and, when that call fails (a 429, a Slack
hiccup), answers Slack 200 with an apology: the event is acknowledged and lost.
Here ``auth.test`` is asked until it succeeds, then kept, and a failure raises,
so Bolt answers 500 (no Socket Mode ack) and Slack delivers the request again.
"""

from __future__ import annotations

from slack_bolt.authorization import AuthorizeResult

from channels.slack.web import SlackWeb


class BotIdentity:
    """Who the bot is (``auth.test``) and its token, as Bolt's ``authorize`` wants it."""

    def __init__(self, web: SlackWeb, token: str) -> None:
        self.web = web
        self.token = token
        self.result: AuthorizeResult | None = None

    async def learn(self) -> AuthorizeResult:
        """Asked until it succeeds, then kept; :class:`SlackError` when Slack says no."""
        if self.result is None:
            auth = await self.web.call("auth.test")
            self.result = AuthorizeResult(
                enterprise_id=auth.get("enterprise_id"),
                team_id=auth.get("team_id"),
                team=auth.get("team"),
                url=auth.get("url"),
                bot_user_id=auth.get("user_id"),
                bot_id=auth.get("bot_id"),
                bot_token=self.token,
            )
        return self.result
