"""Feedback in words for the post-incident summary."""

from __future__ import annotations

import pytest

from outage_comms.feedback import feedback_summary_lines

pytestmark = pytest.mark.unit

COUNTS = {
    "yes": 30,
    "no": 10,
    "comments": 3,
    "by_channel": {
        "email": {"yes": 20, "no": 2, "comments": 3},
        "sms": {"yes": 10, "no": 8, "comments": 0},
        "bluesky": {"yes": 0, "no": 0, "comments": 0},
    },
    "by_locale": {"en": {"yes": 25, "no": 5, "comments": 2}, "pt-BR": {"yes": 5, "no": 5, "comments": 1}},
    "by_scenario": {"identified": {"yes": 30, "no": 10, "comments": 3}},
    "by_update": {"002-identified": {"yes": 30, "no": 10, "comments": 3}},
}


def test_english_lines_give_totals_percentages_and_breakdowns_largest_first() -> None:
    lines = feedback_summary_lines(COUNTS, "en")
    assert lines[0] == "Was this update helpful? 40 answers: 30 yes (75%), 10 no (25%)."
    assert lines[1] == "3 customers left a comment."
    assert (
        lines[2] == "By channel: email 20 yes / 2 no; SMS 10 yes / 8 no."
    )  # no line for a channel nobody used
    assert lines[3] == "By language: English 25 yes / 5 no; Portuguese 5 yes / 5 no."
    assert lines[4] == "By kind of update: cause found 30 yes / 10 no."


def test_portuguese_lines() -> None:
    lines = feedback_summary_lines(COUNTS, "pt-BR")
    assert lines[0] == "Esta atualização foi útil? 40 respostas: 30 sim (75%), 10 não (25%)."
    assert lines[2].startswith("Por canal: e-mail 20 sim / 2 não; SMS 10 sim / 8 não")


def test_no_answers_is_said_plainly() -> None:
    empty = {
        "yes": 0,
        "no": 0,
        "comments": 0,
        "by_channel": {},
        "by_locale": {},
        "by_scenario": {},
        "by_update": {},
    }
    assert feedback_summary_lines(empty, "en") == [
        'No customer answered "Was this update helpful?" for this incident.'
    ]
    assert feedback_summary_lines({}, "pt-BR")[0].startswith("Nenhum cliente respondeu")
