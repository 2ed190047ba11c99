"""A loopback aiohttp fake of the Telegram Bot API, for driving the real python-telegram-bot in tests.

It speaks the wire protocol PTB uses: every method is a POST to `/bot<token>/<method>` whose body is
`application/x-www-form-urlencoded`, or `multipart/form-data` when a file is uploaded. Strings go as-is, every
other value JSON-encoded (`chat_id=42`, `disable_notification=true`, `reply_markup={...}`). JSON bodies and
query strings are accepted too, as the real server does. Answers are the real envelopes:
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": ..., "parameters": {...}}`.

Validation follows the real server where it is cheap to be exact (HTML parsing mirrors tdlib's parser and its
error texts); faults, delays, dropped connections, blocked chats and flood limits can be switched on.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import math
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

from aiohttp import BodyPartReader, web

JSONDict = dict[str, Any]
ChatId = int | str
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]

DEFAULT_TOKEN = "123456:TEST-fake-token-not-real"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_TEXT = 4096
MAX_CAPTION = 1024
GLOBAL_SENDS_PER_SECOND = 30
# allow_paid_broadcast=True: up to 1000 messages/s overall, 0.1 Telegram Stars each beyond the free 30/s.
PAID_SENDS_PER_SECOND = 1000
GROUP_SENDS_PER_MINUTE = 20
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})

_METHOD_NAMES = (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "sendPhoto",
    "sendChatAction",
    "answerCallbackQuery",
    "editMessageText",
    "editMessageReplyMarkup",
    "getChatMember",
    "getChatAdministrators",
    "getChat",
    "getFile",
    "close",
    "logOut",
)
CANONICAL_METHODS: dict[str, str] = {name.lower(): name for name in _METHOD_NAMES}

# Params the server reads as integers / booleans; PTB sends them JSON-encoded (`42`, `true`).
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "user_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "from_chat_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
# Free-text params are never JSON-decoded, even when the text happens to look like JSON.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "description",
        "title",
        "url",
        "parse_mode",
        "action",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "secret_token",
        "photo",
        "file_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# What the server delivers when allowed_updates was never set or set to []: everything but these three.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """An error answer of the Bot API; raised by method handlers, rendered by the dispatcher."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, parameters: JSONDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


@dataclass
class Call:
    """One request the fake answered (or, for drops and shutdown, did not)."""

    method: str
    params: dict[str, object]
    files: dict[str, bytes]
    at: float
    status: int = 200
    response: JSONDict = field(default_factory=dict)
    content_type: str = ""
    delayed: bool = False  # the server slept before answering (see FakeTelegram.delay_next)
    client_gone: bool = False  # the client had hung up by the time the answer was ready
    dropped: bool = False  # the connection was closed instead of answering (FakeTelegram.drop_next)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> ChatId | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def text(self) -> str | None:
        """Text or caption as sent (before entity parsing)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None


@dataclass
class _Fault:
    method: str
    status: int
    count: int
    chat_id: ChatId | None = None
    retry_after: int | None = None
    description: str | None = None
    migrate_to_chat_id: int | None = None
    body: str | None = None
    drop: Literal["before", "after"] | None = None


@dataclass
class _Delay:
    method: str
    seconds: float
    count: int
    chat_id: ChatId | None = None


# ---------------------------------------------------------------------------------------------------------
# Telegram's HTML: a port of tdlib's parse_html, down to its error messages.

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """Raised with the text Telegram puts after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _html_entity(text: str, pos: int) -> tuple[str, int] | None:
    match = _HTML_ENTITY_RE.match(text, pos)
    if match is None:
        return None
    dec, hexa, named = match.groups()
    if named:
        return _NAMED_ENTITIES[named], match.end()
    code = int(dec) if dec else int(hexa, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code == 0:
        return None
    return chr(code), match.end()


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Return (plain text, entities) the way Telegram parses parse_mode=HTML, or raise EntityParseError."""
    out: list[str] = []
    out_len = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSONDict] = []
    n = len(text)
    i = 0

    def at(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def emit(chunk: str) -> None:
        nonlocal out_len
        out.append(chunk)
        out_len += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _html_entity(text, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            emit(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {at(begin)}")
            i += 1
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {at(begin)}")
            i += 1
            tag, open_attrs, offset = stack.pop()
            if end_name and end_name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {at(begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            length = out_len - offset
            language = open_attrs.get("class", "")
            if tag == "code" and stack and stack[-1][0] == "pre" and language.startswith("language-"):
                stack[-1][1]["\0language"] = language.removeprefix("language-")
            elif length > 0:
                entity = _entity_for(tag, open_attrs, offset, length)
                if entity is not None:
                    entities.append(entity)
            continue

        start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {at(begin)}")
        name = text[start:i].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {at(begin)}")
            if text[i] == ">":
                break
            attr_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[attr_start:i].lower()
            if not attr_name:
                raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {at(begin)}')
            while i < n and text[i].isspace():
                i += 1
            if name == "blockquote" and attr_name == "expandable" and (i >= n or text[i] != "="):
                attrs[attr_name] = ""
                continue
            if i >= n or text[i] != "=":
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {at(begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at(begin)}')
            if text[i] not in "'\"":
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_start:i].lower()
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    raise EntityParseError(f"Unexpected end of name token at byte offset {at(token_start)}")
            else:
                quote = text[i]
                i += 1
                chars: list[str] = []
                while i < n and text[i] != quote:
                    decoded = _html_entity(text, i) if text[i] == "&" else None
                    if decoded is not None:
                        chars.append(decoded[0])
                        i = decoded[1]
                    else:
                        chars.append(text[i])
                        i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {at(begin)}")
                i += 1
                value = "".join(chars)
            attrs[attr_name] = value
        i += 1
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at(begin)}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError("Invalid custom emoji identifier specified")
        stack.append((name, attrs, out_len))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity_for(tag: str, attrs: dict[str, str], offset: int, length: int) -> JSONDict | None:
    if tag == "a":
        href = attrs.get("href")
        if not href:
            return None
        return {"type": "text_link", "offset": offset, "length": length, "url": href}
    if tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": attrs["emoji-id"],
        }
    if tag == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote", "offset": offset, "length": length}
    entity: JSONDict = {"type": _TAG_ENTITY[tag], "offset": offset, "length": length}
    if tag == "pre" and "\0language" in attrs:
        entity["language"] = attrs["\0language"]
    return entity


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a complete PNG, or None when Telegram's image processing would reject the bytes."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 8 + 25 + 12:
        return None
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13 or data[-8:-4] != b"IEND":
        return None
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        return None
    return width, height


# ---------------------------------------------------------------------------------------------------------


class FakeTelegram:
    """The Bot API on 127.0.0.1; use as `async with FakeTelegram() as tg:` and point PTB at `tg.base_url`."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "plumbline_test_bot",
        enforce_limits: bool = False,
    ) -> None:
        self._token = token
        self._bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits

        self.calls: list[Call] = []
        self.blocked_chats: set[int] = set()
        self.rejected_429 = 0
        self.paid_sends = 0  # sends that carried allow_paid_broadcast=True
        self.webhook_url = ""
        self.callback_answers: list[JSONDict] = []

        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = asyncio.Event()
        self._recorded = asyncio.Event()
        self._updates_changed = asyncio.Event()

        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(500_000_001)
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._callback_ids = itertools.count(4_382_000_000_000_000_001)
        self._live_callbacks: set[str] = set()

        self._chats: dict[ChatId, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._message_ids: dict[ChatId, int] = {}
        self._messages: dict[tuple[ChatId, int], JSONDict] = {}
        self._members: dict[tuple[ChatId, int], MemberStatus] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._files: dict[str, bytes] = {}
        self._file_seq = itertools.count(1)

        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[ChatId, deque[float]] = {}

        self._handlers: dict[str, Callable[[dict[str, object], dict[str, bytes]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        self._closing.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        # Wake long polls and delayed answers so shutdown does not wait for their timers.
        self._closing.set()
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- properties -----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/file/bot"

    @property
    def token(self) -> str:
        return self._token

    @property
    def bot_id(self) -> int:
        return self._bot_id

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": "Plumbline (test)",
            "username": self.bot_username,
        }

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    # -- inspection -----------------------------------------------------------------------------------------

    def calls_of(self, method: str, *, ok_only: bool = False) -> list[Call]:
        name = CANONICAL_METHODS.get(method.lower(), method)
        return [c for c in self.calls if c.method == name and (c.ok or not ok_only)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage/sendPhoto calls, in delivery order, optionally for one chat."""
        return [
            c
            for c in self.calls
            if c.ok and c.method in SEND_METHODS and (chat_id is None or c.chat_id == chat_id)
        ]

    def duplicates(self) -> list[tuple[int, str]]:
        """(chat_id, text or caption) pairs delivered more than once; captionless photos count by content."""
        seen: Counter[tuple[int, str]] = Counter()
        for call in self.sent():
            chat = call.chat_id
            if not isinstance(chat, int):
                continue
            body = call.text
            if body is None:
                digest = hashlib.sha256(call.files.get("photo", b"")).hexdigest()[:12]
                body = f"<photo {digest}>"
            seen[(chat, body)] += 1
        return [key for key, n in seen.items() if n > 1]

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    def message(self, chat_id: ChatId, message_id: int) -> JSONDict | None:
        """The current state of a stored message (sent, pushed or edited)."""
        stored = self._messages.get((chat_id, message_id))
        return copy.deepcopy(stored) if stored is not None else None

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:  # noqa: ASYNC109
        """Wait until `count` successful calls of `method` have been recorded; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.calls_of(method, ok_only=True)
            if len(done) >= count:
                return done
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"waited {timeout:g}s for {count} successful {method} call(s), saw {len(done)}; "
                    f"recorded: {self._summary()}"
                )
            self._recorded.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recorded.wait(), remaining)

    def _summary(self) -> str:
        if not self.calls:
            return "nothing"
        counts: dict[str, Counter[int]] = {}
        for call in self.calls:
            counts.setdefault(call.method, Counter())[call.status] += 1
        parts = []
        for method, statuses in counts.items():
            detail = ", ".join(f"{n}x{status}" for status, n in sorted(statuses.items()))
            parts.append(f"{method} ({detail})")
        return "; ".join(parts)

    # -- configuration --------------------------------------------------------------------------------------

    def set_member_status(self, chat_id: ChatId, user_id: int, status: MemberStatus) -> None:
        self._members[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        count: int = 1,
        migrate_to_chat_id: int | None = None,
        chat_id: ChatId | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` (optionally only for `chat_id`) with an error.

        `body` replaces the JSON envelope with a raw text/html body, like the nginx page of a real 502.
        """
        self._faults.append(
            _Fault(
                method=_canonical(method),
                status=status,
                count=count,
                chat_id=chat_id,
                retry_after=retry_after,
                description=description,
                migrate_to_chat_id=migrate_to_chat_id,
                body=body,
            )
        )

    def forget_files(self) -> None:
        """Every file_id handed out so far stops working, as when Telegram expires them."""
        self._files.clear()

    def clear_faults(self) -> None:
        """Forget every pending fault, delay and drop: the API is healthy again."""
        self._faults.clear()
        self._delays.clear()

    def drop_next(
        self, method: str, *, count: int = 1, chat_id: ChatId | None = None, after_delivery: bool = False
    ) -> None:
        """Close the connection instead of answering; with after_delivery the call takes effect first."""
        self._faults.append(
            _Fault(
                method=_canonical(method),
                status=0,
                count=count,
                chat_id=chat_id,
                drop="after" if after_delivery else "before",
            )
        )

    def delay_next(
        self, method: str, seconds: float, count: int = 1, *, chat_id: ChatId | None = None
    ) -> None:
        """Sleep before handling the next `count` calls; the call still takes effect when the sleep ends."""
        self._delays.append(_Delay(method=_canonical(method), seconds=seconds, count=count, chat_id=chat_id))

    # -- injecting updates ----------------------------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int = 1001,
        chat_type: str = "private",
        username: str = "trader",
        chat_title: str | None = None,
        language_code: str = "en",
    ) -> int:
        """Queue a user's text message as an Update; returns its update_id. language_code is the sender's
        client language, as Telegram sends it (often non-standard, e.g. zh-hant-tw)."""
        user = self._user(user_id, username, language_code)
        chat = self._register_chat(chat_id, chat_type, chat_title, user)
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        self._messages[(chat_id, message["message_id"])] = message
        return self._enqueue({"message": copy.deepcopy(message)})

    def push_channel_post(self, chat_id: int, text: str, *, title: str = "Rates desk") -> int:
        """Queue a post in a channel where the bot is an administrator: no `from`, the channel signs it."""
        chat = {"id": chat_id, "type": "channel", "title": title}
        self._chats[chat_id] = chat
        post: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "sender_chat": copy.deepcopy(chat),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            post["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        self._messages[(chat_id, post["message_id"])] = post
        return self._enqueue({"channel_post": copy.deepcopy(post)})

    def push_callback(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        *,
        message_id: int = 1,
        chat_type: str = "private",
        username: str = "trader",
        message_text: str | None = None,
    ) -> int:
        """Queue a button press on the bot's message `message_id`; returns its update_id."""
        user = self._user(user_id, username)
        chat = self._register_chat(chat_id, chat_type, None, user)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
                "text": message_text or "Plumbline alert",
            }
            self._messages[(chat_id, message_id)] = message
            self._message_ids[chat_id] = max(self._message_ids.get(chat_id, 0), message_id)
        query_id = str(next(self._callback_ids))
        self._live_callbacks.add(query_id)
        callback = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(message),
            "chat_instance": str(-(abs(hash((chat_id, self._bot_id))) % 10**18)),
            "data": data,
        }
        return self._enqueue({"callback_query": callback})

    def push_raw(self, update: JSONDict) -> int:
        """Queue any dict as an update (an update_id is added when missing); returns its update_id."""
        update = copy.deepcopy(update)
        if isinstance(update.get("update_id"), int):
            # Keep later generated ids above a hand-picked one, as the real sequence only grows.
            self._update_ids = itertools.count(max(next(self._update_ids), update["update_id"] + 1))
            self._updates.append(update)
            self._wake_pollers()
            return int(update["update_id"])
        return self._enqueue(update)

    def _enqueue(self, body: JSONDict) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **body})
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return _json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        data = self._files.get(request.match_info["path"])
        if data is None:
            return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(body=data, content_type="application/octet-stream")

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        params, files = await _read_params(request)
        content_type = request.content_type
        if request.match_info["token"] != self._token:
            error = ApiError(401, "Unauthorized")
            self._record(
                Call(request.match_info["method"], params, files, arrived, 401, error.body(), content_type)
            )
            return _json_response(401, error.body())
        method = CANONICAL_METHODS.get(request.match_info["method"].lower())
        if method is None:
            error = ApiError(404, "Not Found")
            self._record(
                Call(request.match_info["method"], params, files, arrived, 404, error.body(), content_type)
            )
            return _json_response(404, error.body())

        call = Call(method, params, files, arrived, content_type=content_type)
        delay = self._take(self._delays, method, params)
        if delay is not None:
            call.delayed = True
            if await self._sleep(delay.seconds):
                error = ApiError(503, "Service Unavailable: the fake server is shutting down")
                return self._finish(request, call, error.status, error.body())
            call.at = time.monotonic()
            call.client_gone = request.transport is None or request.transport.is_closing()

        fault = self._take(self._faults, method, params)
        if fault is not None and fault.drop == "before":
            return self._drop(request, call)
        if fault is not None and fault.drop is None:
            if fault.body is not None:
                return self._finish(request, call, fault.status, {"ok": False}, raw=fault.body)
            error = self._fault_error(fault, params)
            return self._finish(request, call, error.status, error.body())

        try:
            result = await self._handlers[method](params, files)
        except ApiError as error:
            return self._finish(request, call, error.status, error.body())
        if fault is not None and fault.drop == "after":
            call.status = 200
            call.response = {"ok": True, "result": result}
            return self._drop(request, call)
        return self._finish(request, call, 200, {"ok": True, "result": result})

    def _finish(
        self, request: web.Request, call: Call, status: int, body: JSONDict, *, raw: str | None = None
    ) -> web.Response:
        call.status = status
        call.response = body if raw is None else {**body, "raw_body": raw}
        if call.delayed:
            call.client_gone = request.transport is None or request.transport.is_closing()
        self._record(call)
        if raw is not None:
            return web.Response(status=status, text=raw, content_type="text/html")
        return _json_response(status, body)

    def _drop(self, request: web.Request, call: Call) -> web.Response:
        call.dropped = True
        if call.status == 200 and not call.response:
            call.status = 0
        self._record(call)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._recorded.set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is closing; True when cut short by shutdown."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _take(self, queue: list[Any], method: str, params: dict[str, object]) -> Any:
        chat = params.get("chat_id")
        for item in queue:
            if item.method == method and (item.chat_id is None or item.chat_id == chat):
                item.count -= 1
                if item.count <= 0:
                    queue.remove(item)
                return item
        return None

    def _fault_error(self, fault: _Fault, params: dict[str, object]) -> ApiError:
        status = fault.status
        if status == 429:
            parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            default = (
                f"Too Many Requests: retry after {fault.retry_after if fault.retry_after is not None else 1}"
            )
            return ApiError(429, fault.description or default, parameters)
        if status == 400 and fault.migrate_to_chat_id is not None:
            return ApiError(
                400,
                fault.description or "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": fault.migrate_to_chat_id},
            )
        defaults = {
            400: "Bad Request",
            401: "Unauthorized",
            403: self._forbidden_text(params.get("chat_id")),
            404: "Not Found",
            409: _CONFLICT_POLL,
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        try:
            fallback = defaults.get(status) or HTTPStatus(status).phrase
        except ValueError:
            fallback = "Unknown Error"
        return ApiError(status, fault.description or fallback)

    # -- chats, users, messages -----------------------------------------------------------------------------

    def _user(self, user_id: int, username: str = "trader", language_code: str = "en") -> JSONDict:
        user = self._users.get(user_id)
        if user is None or user.get("username") != username or user.get("language_code") != language_code:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": username.capitalize() or "Trader",
                "username": username,
                "language_code": language_code,
            }
            self._users[user_id] = user
        return copy.deepcopy(user)

    def _register_chat(self, chat_id: ChatId, chat_type: str, title: str | None, user: JSONDict) -> JSONDict:
        if chat_type == "private":
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if user.get("username"):
                chat["username"] = user["username"]
        else:
            chat = {"id": chat_id, "type": chat_type, "title": title or "Plumbline test group"}
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def _chat(self, chat_id: ChatId) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return copy.deepcopy(known)
        if isinstance(chat_id, str):
            return {
                "id": -1001000000001,
                "type": "channel",
                "title": chat_id.lstrip("@"),
                "username": chat_id[1:],
            }
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Trader"}
        if chat_id <= -1_000_000_000_000:
            return {"id": chat_id, "type": "supergroup", "title": "Plumbline test supergroup"}
        return {"id": chat_id, "type": "group", "title": "Plumbline test group"}

    def _chat_type(self, chat_id: object) -> str:
        if isinstance(chat_id, int | str):
            return str(self._chat(chat_id)["type"])
        return "private"

    def _forbidden_text(self, chat_id: object) -> str:
        kind = self._chat_type(chat_id)
        if kind == "private":
            return "Forbidden: bot was blocked by the user"
        if kind == "channel":
            return "Forbidden: bot is not a member of the channel chat"
        return f"Forbidden: bot was kicked from the {kind} chat"

    def _next_message_id(self, chat_id: ChatId) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _require_chat(self, params: dict[str, object]) -> ChatId:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and not chat_id.startswith("@"):
            raise bad_request("chat not found")
        if not isinstance(chat_id, int | str) or chat_id == 0:
            raise bad_request("chat not found")
        return chat_id

    def _check_writable(self, chat_id: ChatId) -> None:
        if isinstance(chat_id, int) and chat_id in self.blocked_chats:
            raise ApiError(403, self._forbidden_text(chat_id))

    def _check_limits(self, chat_id: ChatId, params: dict[str, object]) -> None:
        paid = params.get("allow_paid_broadcast") is True
        if self.enforce_limits:
            self._enforce(chat_id, PAID_SENDS_PER_SECOND if paid else GLOBAL_SENDS_PER_SECOND)
        if paid:
            self.paid_sends += 1

    def _enforce(self, chat_id: ChatId, per_second: int) -> None:
        now = time.monotonic()
        waits: list[float] = []
        _prune(self._global_sends, now - 1.0)
        if len(self._global_sends) >= per_second:
            waits.append(self._global_sends[0] + 1.0 - now)
        history = self._chat_sends.get(chat_id)
        if history is not None:
            if self._chat_type(chat_id) == "private":
                _prune(history, now - 1.0)
                if history:
                    waits.append(history[0] + 1.0 - now)
            else:
                _prune(history, now - 60.0)
                if len(history) >= GROUP_SENDS_PER_MINUTE:
                    waits.append(history[0] + 60.0 - now)
        if waits:
            self.rejected_429 += 1
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _count_send(self, chat_id: ChatId) -> None:
        now = time.monotonic()
        self._global_sends.append(now)
        self._chat_sends.setdefault(chat_id, deque()).append(now)

    def _formatted(
        self, text: str, parse_mode: object, *, caption: bool = False
    ) -> tuple[str, list[JSONDict]]:
        if parse_mode is None or parse_mode == "":
            return text, []
        if not isinstance(parse_mode, str) or parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        if parse_mode.lower() != "html":
            return text, []  # Markdown is accepted unchecked
        try:
            return parse_html(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None

    def _reply_markup(self, params: dict[str, object]) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return markup
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise bad_request("can't parse inline keyboard markup JSON object")
        for row in keyboard:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                elif not any(key != "text" for key in button):
                    raise bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
        return markup

    def _new_message(self, chat_id: ChatId, body: JSONDict, markup: JSONDict | None) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **body,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return copy.deepcopy(message)

    # -- methods --------------------------------------------------------------------------------------------

    async def _true(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        return True

    async def _get_me(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, object], files: dict[str, bytes]) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        # A newer getUpdates ends the one still waiting, as on the real server.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()

        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(_int_param(params, "timeout", 0), 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None

        if offset > 0:
            self._updates = [u for u in self._updates if u.get("update_id", 0) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT_POLL)
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._closing.is_set():
                return copy.deepcopy(self._updates[:limit])
            changed = self._updates_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _is_allowed(self, update: JSONDict) -> bool:
        kind = next((key for key in update if key in _UPDATE_TYPES), None)
        if kind is None:
            return True
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    async def _set_webhook(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        url = params.get("url", "")
        if not isinstance(url, str) or (url and not url.startswith("https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _commands_key(self, params: dict[str, object]) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        if scope is not None:
            if scope.get("type") not in _SCOPE_TYPES:
                raise bad_request("unsupported bot command scope type specified")
            chat_scoped = scope["type"] in ("chat", "chat_administrators", "chat_member")
            if chat_scoped and scope.get("chat_id") not in self._chats:
                raise bad_request("chat not found")  # a user who never opened the bot
        language = params.get("language_code", "")
        if not isinstance(language, str) or (language and not re.fullmatch(r"[a-z]{2}", language)):
            raise bad_request("invalid language code specified")
        return _scope_key(scope), language

    async def _set_my_commands(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        stored: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        key = self._commands_key(params)
        if stored:
            self._commands[key] = stored
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, object], files: dict[str, bytes]) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        chat_id = self._require_chat(params)
        self._check_writable(chat_id)
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = self._formatted(raw, params.get("parse_mode"))
        if not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._reply_markup(params)
        self._check_limits(chat_id, params)
        self._count_send(chat_id)
        body: JSONDict = {"text": text}
        if entities:
            body["entities"] = entities
        return self._new_message(chat_id, body, markup)

    async def _send_photo(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        chat_id = self._require_chat(params)
        self._check_writable(chat_id)
        photo = params.get("photo")
        data: bytes | None
        if isinstance(photo, str) and photo.startswith("attach://"):
            data = files.get(photo.removeprefix("attach://"))
        elif isinstance(photo, str) and photo:
            data = self._files.get(_file_path(photo))
            if data is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            data = files.get("photo")
        if data is None:
            raise bad_request("there is no photo in the request")
        size = png_size(data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        caption, entities = "", list[JSONDict]()
        raw_caption = params.get("caption")
        if isinstance(raw_caption, str) and raw_caption:
            caption, entities = self._formatted(raw_caption, params.get("parse_mode"))
            if utf16_len(caption) > MAX_CAPTION:
                raise bad_request("message caption is too long")
        markup = self._reply_markup(params)
        self._check_limits(chat_id, params)
        self._count_send(chat_id)
        body: JSONDict = {"photo": self._photo_sizes(data, width, height)}
        if caption:
            body["caption"] = caption
        if entities:
            body["caption_entities"] = entities
        return self._new_message(chat_id, body, markup)

    def _photo_sizes(self, data: bytes, width: int, height: int) -> list[JSONDict]:
        """Telegram's thumbnail ladder: boxes of 90, 320, 800, 1280 and 2560 px, up to the original size."""
        sizes: list[JSONDict] = []
        longest = max(width, height)
        for box in (90, 320, 800, 1280, 2560):
            scale = min(1.0, box / longest)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            seq = next(self._file_seq)
            file_id = f"AgACAgEAAxkDAAI{seq:06d}{hashlib.sha1(data).hexdigest()[:24]}"
            self._files[_file_path(file_id)] = data
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{seq:04d}",
                    "file_size": max(1, round(len(data) * scale * scale)),
                    "width": w,
                    "height": h,
                }
            )
            if scale >= 1.0:
                break
        return sizes

    async def _send_chat_action(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        chat_id = self._require_chat(params)
        self._check_writable(chat_id)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: dict[str, object], files: dict[str, bytes]) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._live_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(dict(params))
        return True

    def _editable(self, params: dict[str, object]) -> tuple[ChatId, JSONDict] | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(params)
        self._check_writable(chat_id)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self._bot_id:
            raise bad_request("message can't be edited")
        return chat_id, message

    async def _edit_message_text(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict | bool:
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise bad_request("message text is empty")
        text, entities = self._formatted(raw, params.get("parse_mode"))
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = self._reply_markup(params)
        target = self._editable(params)
        if target is None:
            return True
        _, message = target
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        new_markup = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == new_markup
        ):
            raise bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(
        self, params: dict[str, object], files: dict[str, bytes]
    ) -> JSONDict | bool:
        markup = self._reply_markup(params)
        target = self._editable(params)
        if target is None:
            return True
        _, message = target
        new_markup = markup if markup is not None and "inline_keyboard" in markup else None
        if message.get("reply_markup") == new_markup:
            raise bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _member(self, chat_id: ChatId, user_id: int, status: MemberStatus) -> JSONDict:
        user = self.bot_user if user_id == self._bot_id else self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        member: JSONDict = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "kicked":
            member["until_date"] = 0
        elif status == "restricted":
            member.update(
                is_member=True,
                until_date=0,
                can_send_messages=False,
                can_send_audios=False,
                can_send_documents=False,
                can_send_photos=False,
                can_send_videos=False,
                can_send_video_notes=False,
                can_send_voice_notes=False,
                can_send_polls=False,
                can_send_other_messages=False,
                can_add_web_page_previews=False,
                can_change_info=False,
                can_invite_users=False,
                can_pin_messages=False,
                can_manage_topics=False,
            )
        return member

    async def _get_chat_member(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        chat_id = self._require_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        status = self._members.get((chat_id, user_id))
        if status is None:
            if self._chat_type(chat_id) == "private" and user_id not in (chat_id, self._bot_id):
                # tdlib: in a private chat only its two parties are members.
                raise bad_request("member not found")
            status = "member"
        return self._member(chat_id, user_id, status)

    async def _get_chat_administrators(
        self, params: dict[str, object], files: dict[str, bytes]
    ) -> list[JSONDict]:
        chat_id = self._require_chat(params)
        if self._chat_type(chat_id) == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            self._member(chat_id, user_id, status)
            for (chat, user_id), status in self._members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    async def _get_chat(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        chat_id = self._require_chat(params)
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_file(self, params: dict[str, object], files: dict[str, bytes]) -> JSONDict:
        file_id = params.get("file_id")
        path = _file_path(file_id) if isinstance(file_id, str) else ""
        if path not in self._files:
            raise bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": "AQAD" + hashlib.sha1(path.encode()).hexdigest()[:8],
            "file_size": len(self._files[path]),
            "file_path": path,
        }


# ---------------------------------------------------------------------------------------------------------


def _canonical(method: str) -> str:
    return CANONICAL_METHODS.get(method.lower(), method)


def _scope_key(scope: JSONDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _file_path(file_id: str) -> str:
    return f"photos/file_{hashlib.sha1(file_id.encode()).hexdigest()[:16]}.png"


def _prune(history: deque[float], cutoff: float) -> None:
    while history and history[0] <= cutoff:
        history.popleft()


def _int_param(params: dict[str, object], name: str, default: int) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        if value is None:
            return default
        raise bad_request(f"invalid {name} specified")
    return value


def _json_response(status: int, body: JSONDict) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _decode_value(name: str, value: object) -> object:
    """Turn a form value into what the Bot API would read it as."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    stripped = value.strip()
    if name in _INT_PARAMS:
        with contextlib.suppress(ValueError):
            return int(stripped)
        return value
    if name in _BOOL_PARAMS and stripped in ("true", "false"):
        return stripped == "true"
    if stripped[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            decoded: object = json.loads(stripped)
            return decoded
    return value


async def _read_params(request: web.Request) -> tuple[dict[str, object], dict[str, bytes]]:
    raw: dict[str, object] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.can_read_body:
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = bytes(await part.read(decode=True))
                else:
                    raw[part.name] = await part.text()
        elif request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
        else:
            form = await request.post()
            raw.update({key: value for key, value in form.items() if isinstance(value, str)})
    return {name: _decode_value(name, value) for name, value in raw.items()}, files
