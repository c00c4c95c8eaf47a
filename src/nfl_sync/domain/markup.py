"""Telegram's text markup: escaping for HTML and MarkdownV2, what the reader sees, and message size.

Every interpolated value goes through its parse mode's escaping, so a team, a player or a play
text holding `-`, `.`, `(`, `!`, `<` or `&` can never make Telegram answer "can't parse
entities". Text lengths count UTF-16 code units, as Telegram does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_LENGTH = 4096
RESEND_NOTICE = "🔁 Resent after an interruption: you may already have this alert."
# Every message leaves room for the resend notice, so a labelled resend still fits.
BODY_LIMIT = MAX_MESSAGE_LENGTH - len(RESEND_NOTICE) * 2 - 16

_MARKDOWN_RESERVED = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_MARKDOWN_CODE_RESERVED = re.compile(r"([`\\])")
_MARKDOWN_UNESCAPE = re.compile(r"\\(.)|[*_~`|]", re.S)
_HTML_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), so emoji are not under-counted."""
    return len(text.encode("utf-16-le")) // 2


def valid_unicode(text: str) -> str:
    """`text` with lone surrogates replaced and NULs removed: neither can be sent as UTF-8 to
    Telegram nor stored by PostgreSQL."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "")


def clean(value: Any) -> str:
    """`value` as one line of valid text: invalid code points fixed, control characters and runs
    of whitespace collapsed, since either would break the request or the layout."""
    return " ".join(_CONTROL.sub(" ", valid_unicode(str(value))).split())


def escape_markdown_v2(text: str) -> str:
    """Escape every character MarkdownV2 reserves outside entities (and the backslash)."""
    return _MARKDOWN_RESERVED.sub(r"\\\1", text)


def escape_html(text: str) -> str:
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class Markup:
    """How one parse mode escapes text and writes bold, italic and code."""

    escape: Callable[[str], str]
    escape_code: Callable[[str], str]
    bold_marks: tuple[str, str]
    italic_marks: tuple[str, str]
    code_marks: tuple[str, str]

    def text(self, value: Any) -> str:
        return self.escape(clean(value))

    def bold(self, value: Any) -> str:
        return self._wrap(self.bold_marks, self.text(value))

    def italic(self, value: Any) -> str:
        return self._wrap(self.italic_marks, self.text(value))

    def code(self, value: Any) -> str:
        return self._wrap(self.code_marks, self.escape_code(clean(value)))

    @staticmethod
    def _wrap(marks: tuple[str, str], inner: str) -> str:
        # An empty entity is no entity: MarkdownV2 would read "__" as the start of an underline.
        return marks[0] + inner + marks[1] if inner else ""


_MARKUPS: dict[str | None, Markup] = {
    None: Markup(str, str, ("", ""), ("", ""), ("", "")),
    "HTML": Markup(escape_html, escape_html, ("<b>", "</b>"), ("<i>", "</i>"), ("<code>", "</code>")),
    "MarkdownV2": Markup(
        escape_markdown_v2, lambda s: _MARKDOWN_CODE_RESERVED.sub(r"\\\1", s), ("*", "*"), ("_", "_"), ("`", "`")
    ),
}


def markup(parse_mode: str | None) -> Markup:
    try:
        return _MARKUPS[parse_mode]
    except KeyError:
        raise ValueError(f"unknown parse mode {parse_mode!r}; expected HTML, MarkdownV2 or None") from None


def to_plain(text: str, parse_mode: str | None) -> str:
    """What the reader sees of `text` once Telegram has applied `parse_mode` (for the console,
    and as the fallback when Telegram rejects the formatting)."""
    if parse_mode == "HTML":
        return html.unescape(_HTML_TAG.sub("", text))
    if parse_mode == "MarkdownV2":
        return _MARKDOWN_UNESCAPE.sub(lambda match: match.group(1) or "", text)
    return text


def with_resend_notice(text: str, parse_mode: str | None) -> str:
    """`text` headed by a line saying it may repeat an earlier copy (see alerts/sender.py)."""
    return markup(parse_mode).italic(RESEND_NOTICE) + "\n" + text
