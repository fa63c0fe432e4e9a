"""Message quality rows: what a reader notices (a sentence twice, template debris), reading grade, SMS cost;
the same rows in ``outage-comms lint --format json``."""

from __future__ import annotations

import json
from pathlib import Path

from outage_comms_cli.quality import assess, debris, delivered_text, markdown_table, repeated_sentences

ROOT = Path(__file__).resolve().parents[2]


def test_a_sentence_said_twice_and_template_debris_are_findings() -> None:
    text = (
        "Sign-in is failing for some customers. We found the cause and are fixing it. "
        "We found the cause and are fixing it. Next update by None. Reply {{ feedback }}."
    )
    row = assess("sms-1", "sms", "en", text, sms=True, body=text)
    assert repeated_sentences(text) == ["we found the cause and are fixing it"]
    assert debris(text) == ["None", "{{", "}}"]
    assert len(row.findings) == 4
    assert row.sms_encoding == "GSM-7" and row.sms_parts == 2  # 169 GSM-7 characters: two parts


def test_grade_is_english_only_and_words_like_nonetheless_are_not_debris() -> None:
    english = (
        "We are sorry. Sign-in does not work for some people right now and we are looking into it today."
    )
    portuguese = (
        "O login não funciona para algumas pessoas agora e estamos investigando o problema com cuidado hoje."
    )
    assert assess("e", "email", "en", english).grade is not None
    assert assess("p", "email", "pt-BR", portuguese).grade is None
    assert debris("Nonetheless, the null-safe parser works; nullable fields stay.") == []
    assert assess("p", "sms", "pt-BR", portuguese + " ação", sms=True).sms_encoding == "UCS-2"


def test_delivered_files_are_read_as_a_reader_sees_them(tmp_path: Path) -> None:
    request = {"OriginationIdentity": "+1", "MessageBody": "[DRILL] Sign-in is down.", "Context": {"id": "x"}}
    assert delivered_text("001.json", json.dumps(request)) == "[DRILL] Sign-in is down."
    http = 'POST /slack\n{"content-type": "application/json"}\n\n{"text": "Sign-in is down", "id": "abc"}\n'
    assert delivered_text("001.http", http) == "Sign-in is down"
    table = markdown_table([assess("deliveries/sms/001.json", "sms", "en", "Title\nA b c. A b c.", sms=True)])
    assert "| sms | 1 |" in table and "sentence repeated: 'a b c'" in table


def test_lint_json_carries_a_quality_row_per_message() -> None:
    from outage_comms_cli.lint import lint_plan

    report = lint_plan(ROOT / "plans" / "example.yaml").as_dict()
    rows = report["quality"]
    assert len(rows) == report["messages_checked"]
    sms = [r for r in rows if r["format"] == "sms"]
    assert sms and all(r["sms_parts"] >= 1 and r["sms_encoding"] in ("GSM-7", "UCS-2") for r in sms)
    assert any(r["grade"] is not None for r in rows if r["locale"] == "en" and r["format"] == "email")
    assert all(r["grade"] is None for r in rows if r["locale"] != "en")
    assert not [r for r in rows if r["findings"]], [r for r in rows if r["findings"]][:3]
