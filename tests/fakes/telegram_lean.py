"""A lean loopback fake of the Bot API's send path, for throughput benchmarks.

FakeTelegram records every call with its parameters and answer and checks each against the real server's
rules, which is what tests want; a 100,000-chat benchmark wants a fake that costs as little as possible of
the same 2 cores the bot runs on, and holds no record that grows with every call. This one answers getMe,
sendMessage and sendPhoto in the same wire format, with the same messages (text or caption parsed from
HTML into entities, photo sizes whose file_ids work for later sends), and keeps only what a benchmark
reads: how many times each chat was sent to, when, and how many sends carried allow_paid_broadcast. No
limits are enforced; use FakeTelegram(enforce_limits=True) for those.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.telegram import DEFAULT_TOKEN, EntityParseError, parse_html, png_size

JSONDict = dict[str, Any]


class LeanTelegram:
    """`async with LeanTelegram() as tg:`; point PTB at `tg.base_url`; read `tg.per_chat` and `tg.times`."""

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "plumbline_test_bot") -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Plumbline (test)",
            "username": bot_username,
        }
        self.per_chat: dict[int, int] = {}  # successful sends to each chat
        self.times: list[float] = []  # time.monotonic() of each successful send
        self.paid_sends = 0
        self.uploads = 0  # sendPhoto calls that carried the picture itself
        self._files: dict[str, list[JSONDict]] = {}  # file_id -> the photo sizes of its upload
        self._file_seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def __aenter__(self) -> LeanTelegram:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    def duplicated(self) -> int:
        """Sends beyond the first to any chat."""
        return sum(n - 1 for n in self.per_chat.values() if n > 1)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        form: Any = (
            await request.json() if request.content_type == "application/json" else await request.post()
        )
        method = request.match_info["method"]
        try:
            if method == "getMe":
                result: JSONDict = {**self.bot_user, "can_join_groups": True}
            elif method == "sendMessage":
                result = self._message(form, "text", "entities", {})
            elif method == "sendPhoto":
                result = self._message(form, "caption", "caption_entities", {"photo": self._photo(form)})
            else:
                return _answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except ValueError as exc:
            return _answer(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"})
        return _answer(200, {"ok": True, "result": result})

    def _message(self, form: Any, text_field: str, entities_field: str, body: JSONDict) -> JSONDict:
        chat_id = int(form["chat_id"])  # a JSON number, or a form field's text
        raw = form.get(text_field)
        message: JSONDict = {
            "message_id": self.per_chat.get(chat_id, 0) + 1,
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private", "first_name": "Trader"},
            "date": int(time.time()),
            **body,
        }
        if isinstance(raw, str) and raw:
            try:
                text, entities = (
                    parse_html(raw) if str(form.get("parse_mode", "")).lower() == "html" else (raw, [])
                )
            except EntityParseError as exc:
                raise ValueError(f"can't parse entities: {exc}") from None
            message[text_field] = text
            if entities:
                message[entities_field] = entities
        elif text_field == "text":
            raise ValueError("message text is empty")
        markup = form.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.per_chat[chat_id] = message["message_id"]
        self.times.append(time.monotonic())
        if form.get("allow_paid_broadcast") in (True, "true"):
            self.paid_sends += 1
        return message

    def _photo(self, form: Any) -> list[JSONDict]:
        photo = form.get("photo")
        if isinstance(photo, str) and not photo.startswith("attach://"):
            sizes = self._files.get(photo)
            if sizes is None:
                raise ValueError("wrong file identifier/HTTP URL specified")
            return [dict(size) for size in sizes]
        upload = form.get(photo.removeprefix("attach://")) if isinstance(photo, str) else photo
        data = upload.file.read() if isinstance(upload, web.FileField) else None
        size = png_size(data) if data else None
        if data is None or size is None:
            raise ValueError("IMAGE_PROCESS_FAILED")
        seq = next(self._file_seq)
        file_id = f"AgACAgEAAxkDAAI{seq:06d}{hashlib.sha1(data).hexdigest()[:24]}"
        width, height = size
        # One size, the original: FakeTelegram adds Telegram's smaller thumbnails; PTB reads the last.
        sizes = [
            {
                "file_id": file_id,
                "file_unique_id": f"AQAD{seq:04d}",
                "file_size": len(data),
                "width": width,
                "height": height,
            }
        ]
        self._files[file_id] = sizes
        self.uploads += 1
        return [dict(size) for size in sizes]


def _answer(status: int, body: JSONDict) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
