"""The one rule for human text: NFC, no control/bidi/noncharacters, a size limit naming the field."""

from __future__ import annotations

import pytest

from outage_comms.human_text import HumanTextError, check_text, clean_text, forbidden_character

REFUSED = {
    "ansi escape": "Back up \x1b[31mnow\x1b[0m",
    "nul": "Back\x00up",
    "bell": "ring\x07",
    "c1 csi": "x\x9b31m",
    "del": "a\x7fb",
    "noncharacter fffe": "a\ufffeb",
    "noncharacter ffff": "a\uffffb",
    "noncharacter fdd0": "a\ufdd0b",
    "plane 1 noncharacter": "a\U0001fffeb",
    "right-to-left override": "invoice\u202egpj.exe",
    "left-to-right isolate": "a\u2066b",
    "lone surrogate": "a\ud800b",
    "line separator": "a\u2028b",
    "byte order mark": "a\ufeffb",
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_check_text_refuses_and_names_the_field_and_character(text: str) -> None:
    with pytest.raises(HumanTextError) as raised:
        check_text(text, field="note.pt-BR", limit=500)
    message = str(raised.value)
    assert message.startswith("'note.pt-BR' contains ")
    assert "U+" in message and "remove it" in message


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_clean_text_drops_what_check_text_refuses(text: str) -> None:
    cleaned = clean_text(text)
    assert forbidden_character(cleaned) is None
    assert "[31m" not in cleaned


def test_nfc_line_ends_and_trim() -> None:
    assert check_text("  Cafe\u0301\r\nline two\tend \n", field="note.en", limit=50) == "Café\nline two\tend"


def test_single_line_fields_refuse_line_breaks_inside() -> None:
    with pytest.raises(HumanTextError, match="'title' contains U\\+000A"):
        check_text("one\ntwo", field="title", limit=50, multiline=False)
    assert clean_text("one\ntwo", multiline=False) == "one two"


def test_limit_counts_characters_after_nfc_and_names_the_limit() -> None:
    assert check_text("e\u0301" * 10, field="note.en", limit=10) == "é" * 10
    with pytest.raises(HumanTextError, match=r"'note\.en' is 11 characters long, over the limit of 10"):
        check_text("é" * 11, field="note.en", limit=10)
    assert clean_text("x" * 20, limit=10) == "x" * 9 + "…"


def test_ordinary_text_of_every_shipped_language_passes() -> None:
    for text in (
        "Estamos investigando lentidão no checkout — ação necessária? Não.",
        "👩🏽‍💻 deploy done ✅ 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
        "שלום \u200fעולם",
        "Zürich • 東京 • Ελλάδα",
    ):
        assert check_text(text, field="note.en", limit=200) == text
        assert clean_text(text) == text
