"""A fake Telegram Bot API on loopback, for tests, replays and the alert benchmark.

It answers the way the real Bot API does for what the pipeline uses: `POST /bot<TOKEN>/<method>`
(method names case-insensitive) with form-encoded, JSON, multipart or query parameters; `getMe`
(which python-telegram-bot calls first), `sendMessage`, `sendPhoto` (a multipart upload: the
photo's bytes and caption are recorded in `photos`), and for the bot's commands `getUpdates` (long
polling over a queue of updates a test injects with `send_command`), `setMyCommands` (recorded)
and `deleteWebhook`. It checks what Telegram checks before it
accepts a message: the token (401), blocked chats (403), unknown chats (400 chat not found),
groups that became supergroups (400 with `migrate_to_chat_id`, `migrated_chats`),
empty or over-long text (400), and the `parse_mode` markup (400 "can't parse entities", with
Telegram's wording), so "accepted by the fake" means Telegram would have parsed the formatting;
where Telegram's exact rules are unknown it is stricter (a stray `>` in HTML, an unescaped `[`
in MarkdownV2 are refused). Each accepted message is recorded with the text as the reader sees it.

Faults are scripted per method (`script`): any `Response` (use `telegram_error` or
`recorded_error` to build one), or `Hold` to accept the message but answer late. With `limits`
(`alert_policy.TELEGRAM_FLOOD_LIMITS`: 1 message/s per chat, 20/min per group, 30/s overall,
short bursts allowed) the server also enforces flood control and answers 429 with
`retry_after`, as Telegram does.
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from nfl_replay.http import FakeHTTPServer, FaultHook, Request, Response, json_response
from nfl_sync.domain.markup import MAX_MESSAGE_LENGTH, text_length
from nfl_sync.domain.pacing import Allowance, FloodLimits, chat_allowances

MAX_CAPTION_LENGTH = 1024  # Telegram's limit on a photo's caption, in characters

# The bot of the recorded getMe answer (tests/fixtures/telegram/getMe_ok.json).
BOT_USER = {
    "id": 2084591315,
    "is_bot": True,
    "first_name": "Roger-logger",
    "username": "RogerLoggerBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted: `visible_text` is what the chat shows once markup is applied."""

    chat_id: str
    text: str
    parse_mode: str | None
    visible_text: str
    message_id: int
    received_at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class SentPhoto:
    """A photo the fake accepted: the uploaded bytes and the caption as sent."""

    chat_id: str
    photo: bytes
    caption: str
    message_id: int
    received_at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class Hold:
    """Scripted: accept and record the message, then hold the answer `seconds` (past the client's
    timeout, the client cannot know the message went out)."""

    seconds: float


def telegram_error(
    status: int, description: str, retry_after: int | None = None, migrate_to_chat_id: int | None = None
) -> Response:
    """A Bot API error answer; `retry_after` adds the parameter and header a 429 carries,
    `migrate_to_chat_id` the parameter of a group that became a supergroup."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    headers = {}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
        headers["Retry-After"] = str(retry_after)
    if migrate_to_chat_id is not None:
        body["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
    return json_response(body, status, headers)


def recorded_error(body: bytes) -> Response:
    """A recorded Bot API error body sent back verbatim, with the status it names."""
    data = json.loads(body)
    retry_after = (data.get("parameters") or {}).get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Response(data["error_code"], body, "application/json", headers)


class EntityError(ValueError):
    """The markup cannot be parsed; the message is Telegram's description after the prefix."""


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_MARKDOWN_RESERVED = set("_*[]()~`>#+-=|{}.!\\")
_MARKDOWN_ENTITIES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _markdown_v2(text: str) -> str:
    visible: list[str] = []
    open_entities: list[tuple[str, int]] = []  # (marker, byte offset)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
                visible.append(text[i + 1])
                i += 2
                continue
            raise EntityError("Character '\\' is reserved and must be escaped with the preceding '\\'")
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            j = i + len(fence)
            while j < len(text) and not text.startswith(fence, j):
                if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in "`\\":
                    j += 1
                visible.append(text[j])
                j += 1
            if j >= len(text):
                kind = "Pre" if fence == "```" else "Code"
                raise EntityError(f"Can't find end of {kind} entity at byte offset {_byte_offset(text, i)}")
            i = j + len(fence)
            continue
        marker = next((m for m in ("__", "||") if text.startswith(m, i)), char if char in "*_~" else None)
        if marker is not None:
            if open_entities and open_entities[-1][0] == marker:
                open_entities.pop()
            elif any(open_marker == marker for open_marker, _ in open_entities):
                inner, offset = open_entities[-1]
                raise EntityError(f"Can't find end of {_MARKDOWN_ENTITIES[inner]} entity at byte offset {offset}")
            else:
                open_entities.append((marker, _byte_offset(text, i)))
            i += len(marker)
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a blockquote line
            continue
        if char in _MARKDOWN_RESERVED:
            raise EntityError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        visible.append(char)
        i += 1
    if open_entities:
        marker, offset = open_entities[-1]
        raise EntityError(f"Can't find end of {_MARKDOWN_ENTITIES[marker]} entity at byte offset {offset}")
    return "".join(visible)


_HTML_TAGS = frozenset(
    {
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
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_TOKEN = re.compile(r"<(/?)([A-Za-z][\w-]*)(\s[^<>]*)?>|&(?:#\d+|#x[0-9A-Fa-f]+|lt|gt|amp|quot);|[<>&]")


def _html(text: str) -> str:
    visible: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        visible.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        offset = _byte_offset(text, match.start())
        if match.group(2):
            name = match.group(2).lower()
            if not match.group(1):
                if name not in _HTML_TAGS:
                    raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
                open_tags.append(name)
            elif not open_tags or open_tags[-1] != name:
                expected = f'expected "</{open_tags[-1]}>"' if open_tags else "no tag is open"
                raise EntityError(f'Unmatched end tag at byte offset {offset}, {expected}, found "</{name}>"')
            else:
                open_tags.pop()
        elif token[0] == "&" and len(token) > 1:
            visible.append(html.unescape(token))
        else:
            raise EntityError(f"Character '{token}' must be written as an HTML entity at byte offset {offset}")
    visible.append(text[position:])
    if open_tags:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(visible)


def parse_entities(text: str, parse_mode: str | None) -> str:
    """The visible text of `text` under `parse_mode`, or EntityError as Telegram would refuse it."""
    mode = (parse_mode or "").lower()
    if mode == "markdownv2":
        return _markdown_v2(text)
    if mode == "html":
        return _html(text)
    if mode:
        raise EntityError(f"Unsupported parse_mode {parse_mode!r}")
    return text


Scripted = Response | Hold
_CHAT_ID = re.compile(r"-?\d+|@\w+")


class FakeTelegramServer(FakeHTTPServer):
    """The fake Bot API for one bot token. Give clients `api_base_url` as TELEGRAM_API_BASE_URL."""

    def __init__(
        self,
        token: str,
        *,
        limits: FloodLimits | None = None,
        known_chats: set[str] | None = None,
        faults: FaultHook | None = None,
    ):
        super().__init__("telegram", faults=faults)
        self.token = token
        self.limits = limits
        self.known_chats = known_chats
        self.blocked_chats: set[str] = set()
        self.migrated_chats: dict[str, str] = {}  # old group id -> its supergroup's id
        self._scripts: dict[str, deque[Scripted]] = {}
        self._messages: list[SentMessage] = []
        self._photos: list[SentPhoto] = []
        self._message_ids: dict[str, int] = {}
        self._overall: Allowance | None = None
        self._per_chat: dict[str, list[Allowance]] = {}
        self._state_lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []  # not yet confirmed by an offset
        self._update_ids = 0
        self._arrived = threading.Condition(self._state_lock)
        self.my_commands: list[dict[str, Any]] = []
        for verb in ("GET", "POST"):
            self.route(verb, "/{bot}/{method}", self._handle)

    @property
    def api_base_url(self) -> str:
        """The base URL a client appends the token to (like https://api.telegram.org/bot)."""
        return f"{self.base_url}/bot"

    @property
    def messages(self) -> list[SentMessage]:
        """Every accepted message, in the order they arrived."""
        with self._state_lock:
            return list(self._messages)

    @property
    def photos(self) -> list[SentPhoto]:
        """Every accepted photo, in the order they arrived."""
        with self._state_lock:
            return list(self._photos)

    def messages_to(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]

    def status_count(self, status: int) -> int:
        """How many answers had HTTP `status` (e.g. 429s sent)."""
        return sum(1 for r in self.requests if r.status == status)

    def script(self, method: str, *responses: Scripted) -> None:
        """Answer the next calls of `method` with `responses`, in order, then normally again."""
        with self._state_lock:
            self._scripts.setdefault(method.lower(), deque()).extend(responses)

    def send_command(self, chat_id: str, text: str, title: str | None = None) -> int:
        """A user in `chat_id` (a group when negative) writes `text` to the bot: queued for
        getUpdates as Telegram would; returns its update_id."""
        with self._state_lock:
            self._update_ids += 1
            chat = _chat(chat_id)
            if title is not None and chat["type"] != "private":
                chat["title"] = title
            sender = {
                "id": abs(int(chat_id)) if chat["type"] == "private" else 999,
                "is_bot": False,
                "first_name": "Fan",
            }
            entities = (
                [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
            )
            message = {
                "message_id": 10_000 + self._update_ids,
                "from": sender,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
                "entities": entities,
            }
            self._updates.append({"update_id": self._update_ids, "message": message})
            self._arrived.notify_all()
            return self._update_ids

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (a getUpdates with a later offset)."""
        with self._state_lock:
            return len(self._updates)

    def not_found(self, request: Request) -> Response:
        return telegram_error(404, "Not Found")

    def _handle(self, request: Request) -> Response:
        if request.params["bot"] != f"bot{self.token}":
            return telegram_error(401, "Unauthorized")
        method = request.params["method"].lower()
        with self._state_lock:
            queue = self._scripts.get(method)
            scripted = queue.popleft() if queue else None
        if isinstance(scripted, Response):
            return scripted
        if method == "getme":
            response = json_response({"ok": True, "result": BOT_USER})
        elif method == "sendmessage":
            response = self._send_message(_parameters(request))
        elif method == "sendphoto":
            response = self._send_photo(*_multipart(request))
        elif method == "getupdates":
            response = self._get_updates(_parameters(request))
        elif method == "setmycommands":
            commands = json.loads(_parameters(request).get("commands", "[]"))
            with self._state_lock:
                self.my_commands = commands
            response = json_response({"ok": True, "result": True})
        elif method == "deletewebhook":
            response = json_response({"ok": True, "result": True})
        else:
            return telegram_error(404, "Not Found")
        return replace(response, hold_seconds=scripted.seconds) if isinstance(scripted, Hold) else response

    def _send_message(self, params: dict[str, str]) -> Response:
        chat_id, text, parse_mode = params.get("chat_id", ""), params.get("text", ""), params.get("parse_mode")
        refused = self._refuse_chat(chat_id)
        if refused is not None:
            return refused
        if not text.strip():
            return telegram_error(400, "Bad Request: message text is empty")
        try:
            visible = parse_entities(text, parse_mode)
        except EntityError as error:
            return telegram_error(400, f"Bad Request: can't parse entities: {error}")
        if text_length(visible) > MAX_MESSAGE_LENGTH:
            return telegram_error(400, "Bad Request: message is too long")
        with self._state_lock:
            message_id = self._next_message_id(chat_id)
            if isinstance(message_id, Response):
                return message_id
            self._messages.append(SentMessage(chat_id, text, parse_mode, visible, message_id, time.monotonic()))
        return self._sent(chat_id, message_id, {"text": visible})

    def _send_photo(self, params: dict[str, str], files: dict[str, bytes]) -> Response:
        chat_id, caption, photo = params.get("chat_id", ""), params.get("caption", ""), files.get("photo")
        refused = self._refuse_chat(chat_id)
        if refused is not None:
            return refused
        if not photo:
            return telegram_error(400, "Bad Request: there is no photo in the request")
        if text_length(caption) > MAX_CAPTION_LENGTH:
            return telegram_error(400, "Bad Request: message caption is too long")
        with self._state_lock:
            message_id = self._next_message_id(chat_id)
            if isinstance(message_id, Response):
                return message_id
            self._photos.append(SentPhoto(chat_id, photo, caption, message_id, time.monotonic()))
        size = {"file_id": f"photo{message_id}", "file_unique_id": f"u{message_id}", "width": 1080, "height": 1350}
        return self._sent(chat_id, message_id, {"photo": [size], "caption": caption})

    def _refuse_chat(self, chat_id: str) -> Response | None:
        """Telegram's answer to a message for a chat it refuses (None: the chat may get it)."""
        if not chat_id:
            return telegram_error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return telegram_error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated_chats:
            return telegram_error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=int(self.migrated_chats[chat_id]),
            )
        if not _CHAT_ID.fullmatch(chat_id) or (self.known_chats is not None and chat_id not in self.known_chats):
            return telegram_error(400, "Bad Request: chat not found")
        return None

    def _next_message_id(self, chat_id: str) -> int | Response:
        """The chat's next message id, or a 429 under flood control. Called holding the state lock."""
        wait = self._flood_wait(chat_id)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            return telegram_error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        return message_id

    @staticmethod
    def _sent(chat_id: str, message_id: int, content: dict[str, Any]) -> Response:
        sender = {key: BOT_USER[key] for key in ("id", "is_bot", "first_name", "username")}
        message = {"message_id": message_id, "from": sender, "chat": _chat(chat_id), "date": int(time.time())}
        return json_response({"ok": True, "result": {**message, **content}})

    def _get_updates(self, params: dict[str, str]) -> Response:
        """Updates from `offset` on (those before it are confirmed and forgotten), waiting up to
        `timeout` seconds for one to come (the long poll; the wait ends as one is injected, or
        when the server stops)."""
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._arrived:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(min(left, 0.1))
            updates = list(self._updates[: int(params.get("limit") or 100)])
        return json_response({"ok": True, "result": updates})

    def _flood_wait(self, chat_id: str) -> float:
        """Seconds until `chat_id` may receive a message (0: now, and the message is counted)."""
        if self.limits is None:
            return 0.0
        now = time.monotonic()
        if self._overall is None:
            self._overall = Allowance(self.limits.overall_rate, self.limits.overall_burst, now)
        allowances = [self._overall, *self._per_chat.setdefault(chat_id, chat_allowances(chat_id, self.limits, now))]
        wait = max(allowance.wait(now) for allowance in allowances)
        if wait == 0:
            for allowance in allowances:
                allowance.take(now)
        return wait


def _parameters(request: Request) -> dict[str, str]:
    """Query, form-encoded and JSON parameters merged, the way the Bot API accepts all three."""
    params = {name: values[0] for name, values in request.query.items()}
    content_type = next((value for name, value in request.headers.items() if name.lower() == "content-type"), "")
    content_type = content_type.lower()
    if content_type.startswith("application/json"):
        params.update(
            {name: value if isinstance(value, str) else json.dumps(value) for name, value in request.json().items()}
        )
    elif request.body:
        params.update(
            {name: values[0] for name, values in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
        )
    return params


def _multipart(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """A multipart/form-data body's fields and files (by form name), as python-telegram-bot uploads
    a photo; other bodies through `_parameters`, without files."""
    content_type = next((value for name, value in request.headers.items() if name.lower() == "content-type"), "")
    if not content_type.lower().startswith("multipart/form-data"):
        return _parameters(request), {}
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    params = {name: values[0] for name, values in request.query.items()}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name, payload = part.get_param("name", header="content-disposition"), part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            files[name] = payload
        else:
            params[name] = payload.decode("utf-8")
    return params, files


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.startswith("@"):
        return {"id": -1000000000000 - abs(hash(chat_id)) % 10**9, "type": "channel", "title": chat_id}
    if chat_id.startswith("-"):
        return {"id": int(chat_id), "type": "group", "title": f"Group {chat_id}"}
    return {"id": int(chat_id), "type": "private", "first_name": "Fan"}
