"""Message quality, per message: reading grade (English), length, SMS parts and encoding, findings.

Used by the drill (over every delivered message, ``quality.json`` and a table in ``report.md``); the
rules themselves are the library's (:mod:`outage_comms.plan_lint.quality`), which ``outage-comms lint
--format json`` applies to every template rendered with sample data.
The findings are what a reader would notice: a sentence said twice, template debris (``None``,
``null``, ``{{ ... }}``), an unfilled link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from outage_comms.plan_lint.quality import (
    MIN_WORDS_FOR_GRADE,
    REPEATS_ON_PURPOSE,
    MessageQuality,
    assess,
    debris,
    grade,
    reader_text,
    repeated_sentences,
    sentences,
)

__all__ = [  # the lint's rules (outage_comms.plan_lint.quality), and the drill's delivered-message reading
    "MIN_WORDS_FOR_GRADE",
    "REPEATS_ON_PURPOSE",
    "MessageQuality",
    "assess",
    "assess_deliveries",
    "debris",
    "delivered_parts",
    "delivered_text",
    "grade",
    "markdown_table",
    "reader_text",
    "repeated_sentences",
    "sentences",
    "summary_rows",
    "visible_text",
]


def summary_rows(rows: Iterable[MessageQuality]) -> list[dict[str, Any]]:
    """Per channel: messages, longest, worst grade, most SMS parts, findings."""
    by_channel: dict[str, list[MessageQuality]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    table = []
    for channel, found in sorted(by_channel.items()):
        grades = [r.grade for r in found if r.grade is not None]
        parts = [r.sms_parts for r in found if r.sms_parts is not None]
        encodings = sorted({r.sms_encoding for r in found if r.sms_encoding})
        table.append(
            {
                "channel": channel,
                "messages": len(found),
                "longest": max(r.characters for r in found),
                "worst_grade_en": max(grades) if grades else None,
                "sms_parts_max": max(parts) if parts else None,
                "sms_encodings": encodings,
                "findings": sum(len(r.findings) for r in found),
            }
        )
    return table


def markdown_table(rows: list[MessageQuality]) -> str:
    """The short summary table for ``report.md``, then each finding."""
    lines = [
        "## Message quality",
        "",
        "Every delivered message: reading grade (Flesch-Kincaid, English), length, SMS parts and encoding, "
        "findings (a repeated sentence, template debris). All rows: `quality.json`.",
        "",
        "| channel | messages | longest (chars) | worst grade (en) | SMS parts (max) | findings |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for row in summary_rows(rows):
        grade_text = "-" if row["worst_grade_en"] is None else f"{row['worst_grade_en']:.1f}"
        parts = (
            "-"
            if row["sms_parts_max"] is None
            else f"{row['sms_parts_max']} ({', '.join(row['sms_encodings'])})"
        )
        lines.append(
            f"| {row['channel']} | {row['messages']} | {row['longest']} | {grade_text} | {parts} | "
            f"{row['findings']} |"
        )
    problems = [(r.name, f) for r in rows for f in r.findings]
    if problems:
        lines += ["", *(f"- `{name}`: {finding}" for name, finding in problems)]
    return "\n".join(lines) + "\n"


#: JSON fields that carry words a reader sees (providers' request bodies, chat payloads).
_TEXT_KEYS = frozenset(
    {
        "text",
        "status",
        "body",
        "message",
        "messagebody",
        "title",
        "subject",
        "description",
        "summary",
        "comment",
        "content",
        "plain",
    }
)


def _json_text(value: Any, key: str = "") -> list[str]:
    if isinstance(value, str):
        return [value] if key.lower() in _TEXT_KEYS and value.strip() else []
    if isinstance(value, Mapping):
        return [t for k, v in value.items() for t in _json_text(v, str(k))]
    if isinstance(value, list):
        return [t for v in value for t in _json_text(v, key)]
    return []


def delivered_parts(name: str, raw: str) -> list[str]:
    """What a reader sees of one file under ``deliveries/``, one part per text a reader gets: the
    email's visible text, each message field of a provider request or chat post (headers, ids and
    tokens left out)."""
    import email
    import json

    if name.endswith(".json"):  # an SMS / voice / push provider request
        return _json_text(json.loads(raw))
    if name.endswith(".http"):  # METHOD path, headers JSON, blank line, body
        body = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
        try:
            return _json_text(json.loads(body))
        except ValueError:
            return [body]
    text = raw.split("\n", 1)[1] if raw.startswith("To: ") else raw
    if raw.startswith("To: ") and "MIME-Version" in raw[:2000]:
        message = email.message_from_string(text)
        parts = [
            bytes(part.get_payload(decode=True)).decode(part.get_content_charset() or "utf-8", "replace")
            for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")
        ]
        plain = [p for p in parts if "<html" not in p.lower()]
        text = f"Subject: {message.get('Subject', '')}\n\n" + "\n".join(
            plain or [visible_text(p) for p in parts]
        )
    elif "<html" in text.lower():
        head, _, page = text.partition("\n\n")
        text = f"{head}\n\n{visible_text(page)}"
    return [text]


def delivered_text(name: str, raw: str) -> str:
    """All a reader sees of one delivered file (see :func:`delivered_parts`)."""
    return "\n".join(delivered_parts(name, raw))


def visible_text(page: str) -> str:
    """The words of an HTML page a reader sees: no head, title, style, script or hidden preheader."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        SKIP = frozenset({"head", "title", "style", "script"})
        BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "table", "td"})

        def __init__(self) -> None:
            super().__init__()
            self.hidden: list[str] = []
            self.words: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            style = (dict(attrs).get("style") or "").replace(" ", "").lower()
            if tag in self.SKIP or "display:none" in style or (self.hidden and tag == self.hidden[-1]):
                self.hidden.append(tag)
            if tag in self.BLOCKS:
                self.words.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if self.hidden and tag == self.hidden[-1]:
                self.hidden.pop()
            if tag in self.BLOCKS:
                self.words.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.hidden:
                self.words.append(data)

    reader = Reader()
    reader.feed(page)
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in "".join(reader.words).splitlines())
    return "\n".join(line for line in lines if line)


def _locale_of(name: str, text: str) -> str:
    found = re.search(r"\.([a-z]{2}(?:-[A-Z]{2})?)\.txt$", name)
    if found:
        return found.group(1)
    portuguese = re.search(r"\b(não|você|estamos|serviço|atualização|simulação)\b", text, re.IGNORECASE)
    return "pt" if portuguese else "en"


def assess_deliveries(out_dir: Any, files: Iterable[str]) -> list[MessageQuality]:
    """A quality row per delivered file (``files`` relative to ``out_dir``: ``deliveries/sms/001.json``)."""
    from pathlib import Path

    rows = []
    for relative in files:
        path = Path(out_dir) / relative
        channel = Path(relative).parts[1] if len(Path(relative).parts) > 2 else "?"
        parts = delivered_parts(path.name, path.read_text(encoding="utf-8", errors="replace"))
        text = "\n".join(parts)
        bodies = [p.split("\n", 1)[1] if p.startswith("Subject: ") and "\n" in p else p for p in parts]
        locale = _locale_of(path.name, text)
        rows.append(assess(relative, channel, locale, text, sms=channel == "sms", parts=bodies))
    return rows
