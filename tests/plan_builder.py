"""A plan for any company, locales and channels, written to a folder with its own templates.

Tests of "any set of locales" and "any subset of channels" build their plans here instead of
editing the example plan: a fictional payments company (Ledgerly), whatever locales and channels
the test asks for, the shipped templates copied beside the plan (``templates/``), and words for a
new locale supplied by the test as the team would write them.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_TEMPLATES = ROOT / "templates"

#: Settings of each channel a test may switch on (no Nimbus Notes names; secrets by name only).
CHANNEL_SETTINGS: dict[str, dict[str, Any]] = {
    "sns": {"topic_name": "ledgerly-status-subscribers"},
    "email": {"from_address": "status@ledgerly.example", "reply_to": "help@ledgerly.example"},
    "sms": {"origination_identity": "+18885550142", "max_segments": 3},
    "in_app": {},
    "slack": {"webhook_url_secret": "ledgerly/slack-webhook"},
    "teams": {"webhook_url_secret": "ledgerly/teams-webhook"},
    "status_page": {"domain": "status.ledgerly.example"},
}
#: Drill targets of the web channels, by secret name.
DRILL_SECRETS = {"slack": "ledgerly/drill/slack-webhook", "teams": "ledgerly/drill/teams-webhook"}

#: Words per locale a test can extend; a locale without words repeats the English ones.
WORDS: dict[str, dict[str, str]] = {
    "en": {"checkout": "Checkout", "payouts": "Payouts", "payments": "Payments", "critical": "Critical",
           "major": "Major", "minor": "Minor", "drill": "[DRILL]",
           "fallback": "Some of our services are not working as they should"},
    "de": {"checkout": "Checkout", "payouts": "Auszahlungen", "payments": "Zahlungen", "critical": "Kritisch",
           "major": "Schwer", "minor": "Gering", "drill": "[ÜBUNG]",
           "fallback": "Einige unserer Dienste funktionieren nicht wie gewohnt"},
    "pt-BR": {"checkout": "Checkout", "payouts": "Repasses", "payments": "Pagamentos", "critical": "Crítico",
              "major": "Grave", "minor": "Leve", "drill": "[SIMULAÇÃO]",
              "fallback": "Alguns dos nossos serviços não estão funcionando como deveriam"},
}  # fmt: skip

ZONES = {"en": ("UTC", "UTC"), "de": ("Europe/Berlin", "MEZ"), "pt-BR": ("America/Sao_Paulo", "BRT")}


@dataclass
class PlanSpec:
    locales: Sequence[str] = ("en",)
    channels: Sequence[str] = ("email", "slack", "status_page")
    default_locale: str = "en"
    name: str = "Ledgerly"
    extra: Mapping[str, Any] = field(default_factory=dict)


def _text(key: str, locales: Sequence[str]) -> dict[str, str]:
    return {code: WORDS.get(code, WORDS["en"])[key] for code in locales}


def plan_data(spec: PlanSpec) -> dict[str, Any]:
    """A valid plan (schema and references) for ``spec``."""
    locs = list(spec.locales)
    person = {"name": "Alex Doe", "email": "oncall@ledgerly.example", "phone": "+14155550142",
              "chat_handle": "@alex",
              "approver_principals": ["arn:aws:iam::111122223333:role/LedgerlyIncidentManager"]}  # fmt: skip
    severities = [
        {"id": "sev1", "name": _text("critical", locs), "impact": "critical", "incident_manager_impact": [1],
         "cadence_minutes": 30, "default_scenario": "major_outage", "first_message_minutes": 10,
         "approval": {"required": True, "timeout_minutes": 10, "on_timeout": "send_holding_statement"}},
        {"id": "sev2", "name": _text("major", locs), "impact": "major", "incident_manager_impact": [2],
         "cadence_minutes": 60, "default_scenario": "partial_outage", "first_message_minutes": 15,
         "approval": {"required": True, "timeout_minutes": 15, "on_timeout": "escalate"}},
        {"id": "sev3", "name": _text("minor", locs), "impact": "minor", "incident_manager_impact": [3, 4, 5],
         "cadence_minutes": 120, "default_scenario": "degraded_performance", "first_message_minutes": 30,
         "approval": {"required": False}},
    ]  # fmt: skip
    scenarios = {
        name: {"statuspage_status": status}
        for name, status in (
            ("investigating", "investigating"), ("identified", "identified"), ("monitoring", "monitoring"),
            ("resolved", "resolved"), ("degraded_performance", "investigating"),
            ("partial_outage", "investigating"), ("major_outage", "investigating"),
            ("holding_update", "investigating"), ("maintenance_scheduled", "scheduled"),
            ("maintenance_in_progress", "in_progress"), ("maintenance_completed", "completed"),
            ("post_incident_summary", "postmortem"),
        )
    }  # fmt: skip
    # The summary is long-form: never by SMS, voice or push (as the shipped templates have it).
    scenarios["post_incident_summary"]["channels"] = [
        c for c in spec.channels if c not in ("sms", "voice", "push")
    ]
    data: dict[str, Any] = {
        "version": 1,
        "organization": {"name": spec.name, "status_page_url": "https://status.ledgerly.example",
                         "support_url": "https://help.ledgerly.example",
                         "internal_domains": ["corp.ledgerly.example"]},
        "locales": [{"code": c, "timezone": ZONES.get(c, ("UTC", "UTC"))[0],
                     "timezone_label": ZONES.get(c, ("UTC", "UTC"))[1]} for c in locs],
        "default_locale": spec.default_locale,
        "roles": {"incident_manager": person, "communications_manager": person, "support_manager": person},
        "groups": [{"id": "payments", "name": _text("payments", locs)}],
        "components": [
            {"id": cid, "name": _text(cid, locs), "description": _text(cid, locs), "group": "payments",
             "audiences": ["customers"], "signals": {"alarm_name_patterns": [f"{cid}-*"]}}
            for cid in ("checkout", "payouts")
        ],
        "audiences": [{"id": "customers", "description": "Every merchant", "kind": "customers"},
                      {"id": "drill", "description": "Test addresses", "kind": "drill"}],
        "channels": {name: CHANNEL_SETTINGS[name] for name in spec.channels},
        "severities": severities,
        "scenarios": scenarios,
        "drill": {"audience": "drill", "marker": _text("drill", locs),
                  "webhook_secrets": {c: s for c, s in DRILL_SECRETS.items() if c in spec.channels}},
        "guard": {"fallback": _text("fallback", locs)},
        "templates": "templates",
    }  # fmt: skip
    data.update(spec.extra)
    return data


def write_plan_folder(
    folder: Path,
    spec: PlanSpec,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    copy_locales: Sequence[str] | None = None,
) -> Path:
    """``folder/plan.yaml`` + ``folder/templates/``: the shipped templates, and for each locale of
    ``translations`` the English files copied and translated by replacing whole phrases (the team's
    words). ``copy_locales`` limits which new locales get files (to test missing ones). Returns the plan."""
    templates = folder / "templates"
    shutil.copytree(SHIPPED_TEMPLATES, templates, ignore=shutil.ignore_patterns("README.md"))
    for code, phrases in (translations or {}).items():
        if copy_locales is not None and code not in copy_locales:
            continue
        _translate_copy(templates, code, phrases)
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(plan_data(spec), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _translate_copy(templates: Path, code: str, phrases: Mapping[str, str]) -> None:
    def translated(text: str) -> str:
        for english, local in phrases.items():
            text = text.replace(english, local)
        return text

    (templates / "messages" / code).mkdir(parents=True, exist_ok=True)
    for source in (templates / "messages" / "en").glob("*.yaml"):
        (templates / "messages" / code / source.name).write_text(
            translated(source.read_text()), encoding="utf-8"
        )
    for sub in ("status/strings", "subscriptions"):
        source = templates / sub / "en.yaml"
        text = translated(source.read_text()).replace("html_lang: en", f"html_lang: {code}")
        (templates / sub / f"{code}.yaml").write_text(text, encoding="utf-8")


#: A few German words for the English templates, as a team would start its translation.
GERMAN = {
    "We're looking into it": "Wir sehen uns das an",
    "Next update": "Nächstes Update",
    "next update": "nächstes Update",
    "All systems are working": "Alle Systeme funktionieren",
    "Current status": "Aktueller Status",
    "English": "Deutsch",
}
