"""The one access gate every chat front-end passes a command through: allowed chats, rate limit, rights."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import Settings
from bot.frontends.ratelimit import ChatRateLimiter
from bot.words.messages import t


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command was not run, in words safe to show the chat."""

    text: str
    # A flood already told to slow down: say nothing more in the chat until it is under the limit.
    silent: bool = False


class Gate:
    """Decides, per platform and chat, whether a command may run now and who counts as an operator."""

    def __init__(self, settings: Settings, limiter: ChatRateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or ChatRateLimiter()

    def allowed(self, *ids: int | None) -> bool:
        """True when no allow-list is set, or any of the ids (chat, channel, guild) is on it."""
        allowed = self.settings.allowed_chat_ids
        return not allowed or any(i in allowed for i in ids if i is not None)

    def check(self, platform: str, chat_key: str, *ids: int | None, lang: str = "en") -> Refusal | None:
        """None when the command may run now; otherwise the refusal to show."""
        if not self.allowed(*ids):
            return Refusal(t("error.not_allowed", lang))
        wait = self.limiter.check(f"{platform}:{chat_key}")
        if wait > 0:
            text = t("error.rate_limited", lang, seconds=max(1, round(wait)))
            # One "slow down" per flood in the chat, then silence; a private answer (Discord's
            # ephemeral reply) may still say it, since nobody else sees it.
            return Refusal(text, silent=not self.limiter.warn_once(f"{platform}:{chat_key}"))
        return None

    def is_operator(self, user_id: int) -> bool:
        """In ADMIN_USER_IDS: may see internals and run /admin."""
        return user_id in self.settings.admin_user_ids


class Gated:
    """A front-end that passes commands through a Gate; its limiter can be swapped (tests, operators)."""

    gate: Gate

    @property
    def limiter(self) -> ChatRateLimiter:
        return self.gate.limiter

    @limiter.setter
    def limiter(self, limiter: ChatRateLimiter) -> None:
        self.gate.limiter = limiter
