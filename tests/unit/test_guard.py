"""The checks every customer-facing message must pass."""

from __future__ import annotations

import pytest

from outage_comms.guard import find_identifiers, find_jargon, sms_size

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("é à ü Ñ", "GSM-7", 7, 1),  # in the default alphabet
        ("ã" * 70, "UCS-2", 70, 1),
        ("ã" * 71, "UCS-2", 71, 2),
        ("Sincronização" + "a" * 121, "UCS-2", 134, 2),
        ("🙂" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
    ],
)
def test_sms_size_counts_segments(text: str, encoding: str, units: int, segments: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_sms_size_names_the_characters_that_forced_ucs2() -> None:
    assert sms_size("Não abre — tente depois").offending == "ã—"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("see arn:aws:rds:us-east-1:123456789012:db:prod-notes", "identifier.arn"),
        ("account 123456789012 is affected", "identifier.account_id"),
        ("server 10.0.3.17 is down", "identifier.ip_address"),
        ("reach 2001:db8::1 now", "identifier.ip_address"),
        ("db1.corp.nimbusnotes.example is slow", "identifier.internal_host"),
        ("ip-10-0-0-1.ec2.internal failed", "identifier.internal_host"),
    ],
)
def test_internal_identifiers_are_found(text: str, code: str) -> None:
    codes = {f.code for f in find_identifiers(text, ["corp.nimbusnotes.example"])}
    assert code in codes


@pytest.mark.parametrize(
    "text",
    [
        "Next update at 14:35 UTC on 27 Nov.",
        "Próxima atualização até 27/11 às 11h35 (horário de Brasília).",
        "Visit https://status.nimbusnotes.example/incidents/inc-1 for details.",
        "Call +1 415 555 0100 or read version 2.4.1 notes.",
    ],
)
def test_ordinary_customer_text_is_not_flagged(text: str) -> None:
    assert find_identifiers(text, ["corp.nimbusnotes.example"]) == []


def test_jargon_matches_words_not_fragments() -> None:
    terms = ["AZ", "p99", "throttl*", "latency"]
    assert [f.message for f in find_jargon("One AZ is down", terms)] == ["uses jargon 'AZ'"]
    assert find_jargon("AMAZING news from Arizona", terms) == []
    assert find_jargon("requests were throttled", terms)[0].message == "uses jargon 'throttled'"
    assert find_jargon("high Latency seen", terms)[0].message == "uses jargon 'Latency'"
    assert find_jargon("Your notes are safe.", terms) == []
