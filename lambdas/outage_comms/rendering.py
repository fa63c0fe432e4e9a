"""Turn the plan's templates into the words each channel sends.

Templates live in ``templates/messages/<locale>/<scenario>.yaml``: one file per scenario and
locale, holding every message format side by side so a communications manager reviews one
situation at a time. Every value is a Jinja2 template rendered in a *sandboxed* environment
with ``StrictUndefined`` (a missing variable is an error, never an empty string). HTML is only
produced from layouts with autoescape on.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Jinja2 loads on the first render, not at import (a third of a cold start)
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

from outage_comms.plan import LocaleSettings, Plan
from outage_comms.vocabulary import FORMAT_FIELDS, Channel, MessageFormat, Scenario


def _find_templates_dir() -> Path:
    """The runtime's templates: ``$TEMPLATES_DIR`` (set in the Lambda, from the plan's folder), else
    ``templates/`` beside the package (Lambda asset), the shipped copy (installed wheel) or the checkout.

    Tools that start from a plan (lint, preview, drill, synth) never use this default: they resolve the
    plan's own folder with :func:`outage_comms.templates_location.templates_dir_for`.
    """
    if os.environ.get("TEMPLATES_DIR"):
        return Path(os.environ["TEMPLATES_DIR"])
    package_parent = Path(__file__).resolve().parent.parent
    shipped = package_parent / "outage_comms_cli" / "shipped" / "templates"
    for candidate in (package_parent / "templates", shipped, package_parent.parent / "templates"):
        if (candidate / "messages").is_dir():
            return candidate
    return package_parent.parent / "templates"


DEFAULT_TEMPLATES_DIR = _find_templates_dir()


class TemplateProblem(Exception):
    """A template is missing, malformed or fails to render. The message says which and why."""

    def __init__(self, where: str, message: str, fix: str) -> None:
        self.where = where
        self.message = message
        self.fix = fix
        super().__init__(f"{where}: {message}. Fix: {fix}")


@dataclass(frozen=True)
class RenderedMessage:
    """The words for one scenario x format x locale, field by field (e.g. subject/body)."""

    scenario: Scenario
    format: MessageFormat
    locale: str
    fields: dict[str, str]
    html: str | None = None

    def text(self) -> str:
        """All fields as one text, for checks that read the whole message."""
        return "\n".join(self.fields.values())


@functools.lru_cache(maxsize=8)
def _text_environment(templates_dir: Path) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=FileSystemLoader(str(templates_dir)),
    )


@functools.lru_cache(maxsize=8)
def _html_environment(templates_dir: Path) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=FileSystemLoader(str(templates_dir)),
    )


@functools.lru_cache(maxsize=2048)
def _compiled(templates_dir: Path, source: str) -> Template:
    """Compile each template text once per execution environment (compiling costs ~1 ms each)."""
    return _text_environment(templates_dir).from_string(source)


def template_path(templates_dir: Path, locale: str, scenario: Scenario) -> Path:
    return templates_dir / "messages" / locale / f"{scenario.value}.yaml"


@functools.lru_cache(maxsize=256)
def _load_template_file(path: Path) -> dict[str, Any]:
    from outage_comms.templates_location import TemplateDataError, read_template_data

    try:
        data = read_template_data(path)  # the asset ships it compiled to JSON: no YAML parser in the Lambda
    except FileNotFoundError:
        raise TemplateProblem(
            str(path),
            "template file is missing",
            "create it (copy the same scenario from another locale and translate it)",
        ) from None
    except TemplateDataError as exc:
        raise TemplateProblem(str(path), str(exc), "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise TemplateProblem(str(path), "expected a mapping of message formats", "see templates/README.md")
    return data


def template_sources(
    templates_dir: Path, locale: str, scenario: Scenario, fmt: MessageFormat
) -> dict[str, str]:
    """The raw template text for each field of one format, validated for presence."""
    path = template_path(templates_dir, locale, scenario)
    data = _load_template_file(path)
    section = data.get(fmt.value)
    if not isinstance(section, dict):
        raise TemplateProblem(
            f"{path}: {fmt.value}",
            f"no '{fmt.value}' message in this file",
            f"add a '{fmt.value}:' section with {', '.join(FORMAT_FIELDS[fmt])}",
        )
    sources: dict[str, str] = {}
    for name in FORMAT_FIELDS[fmt]:
        value = section.get(name)
        if not isinstance(value, str) or not value.strip():
            raise TemplateProblem(
                f"{path}: {fmt.value}.{name}",
                "field is missing or empty",
                f"write the '{name}' text for {fmt.value}",
            )
        sources[name] = value
    return sources


def render_message(
    *,
    scenario: Scenario,
    fmt: MessageFormat,
    locale: str,
    context: Mapping[str, Any],
    templates_dir: Path = DEFAULT_TEMPLATES_DIR,
    drop_repeats: bool = True,
) -> RenderedMessage:
    """Render one message. Raises TemplateProblem naming the template and field on any error.

    ``drop_repeats``: a template sentence that a person's note repeats is left out (see
    :mod:`outage_comms.sentences`); ``False`` renders the template as written (lint shows the repeat).
    """
    from jinja2 import TemplateError

    sources = template_sources(templates_dir, locale, scenario, fmt)
    fields: dict[str, str] = {}
    # No sentence twice: a person's note replaces the template sentence it repeats (outage_comms.sentences).
    # Voice repeats the key facts on purpose ("Once again: ..."), for people who missed them.
    humans = [] if fmt is MessageFormat.VOICE or not drop_repeats else _human_sentences(context)
    for name, source in sources.items():
        where = f"{template_path(templates_dir, locale, scenario)}: {fmt.value}.{name}"
        try:
            fields[name] = _tidy(
                _without_repeats(_tidy(_compiled(templates_dir, source).render(**context)), humans)
            )
        except TemplateError as exc:
            raise TemplateProblem(
                where, f"cannot render: {exc}", "use only the variables listed in templates/README.md"
            ) from None
    html = None
    if fmt is MessageFormat.EMAIL:
        html = (
            _html_environment(templates_dir)
            .get_template("layouts/email.html.j2")
            .render(subject=fields["subject"], paragraphs=_paragraphs(fields["body"]), **context)
        )
    return RenderedMessage(scenario=scenario, format=fmt, locale=locale, fields=fields, html=html)


def _human_sentences(context: Mapping[str, Any]) -> list[str]:
    from outage_comms.sentences import human_sentences

    return human_sentences(context[key] for key in sorted(HUMAN_KEYS) if context.get(key))


def _without_repeats(text: str, humans: list[str]) -> str:
    if not humans:
        return text
    from outage_comms.sentences import without_repeats

    return without_repeats(text, humans)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# ---------------------------------------------------------------------------------------------
# Times and lists in the customer's language
# ---------------------------------------------------------------------------------------------


def format_time(moment: datetime, locale: LocaleSettings) -> str:
    """A time as a customer in this locale reads it (Babel/CLDR), in the plan's zone, with its label."""
    from outage_comms.locale_format import format_moment

    return format_moment(moment, locale.code, locale.timezone, locale.timezone_label)


def join_names(names: list[str], locale: str) -> str:
    """'A', 'A and B', 'A, B and C' — as the locale lists things ('Checkout und Auszahlungen')."""
    from outage_comms.locale_format import format_names

    return format_names(names, locale)


def format_duration(delta: timedelta, locale: str) -> str:
    """'1 hour and 35 minutes', '1 Stunde und 35 Minuten' (at least one minute)."""
    from outage_comms.locale_format import format_span

    return format_span(delta, locale)


# ---------------------------------------------------------------------------------------------
# The template context
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateFacts:
    """What is known at the moment of one update, in locale-neutral form."""

    component_ids: list[str]
    severity_id: str
    impact: dict[str, str]
    started_at: datetime
    now: datetime
    incident_id: str = "INC-0000"
    internal_title: str = ""
    next_update_at: datetime | None = None
    eta: dict[str, str] | None = None
    update: dict[str, str] | None = None
    workaround: dict[str, str] | None = None
    resolved_at: datetime | None = None
    maintenance_starts_at: datetime | None = None
    maintenance_ends_at: datetime | None = None
    maintenance_cancelled: bool = False
    summary: dict[str, dict[str, str]] | None = None
    links: dict[str, str] = field(default_factory=dict)
    #: What the person resolving typed: ``cause`` / ``fix`` / ``impact``, per locale (resolved messages).
    resolution: dict[str, dict[str, str]] | None = None


def build_context(plan: Plan, facts: UpdateFacts, locale: str) -> dict[str, Any]:
    """The variables every template may use (documented in templates/README.md)."""
    loc = plan.locale(locale)

    def pick(text: Mapping[str, str] | None) -> str | None:
        if not text:
            return None
        return text.get(locale) or text.get(plan.default_locale)

    names = [plan.component(cid).name[locale] for cid in facts.component_ids]
    links = {
        "status": plan.organization.status_page_url,
        "incident": f"{plan.organization.status_page_url.rstrip('/')}/incidents/{facts.incident_id.lower()}",
        "support": plan.organization.support_url,
        "unsubscribe": f"{plan.organization.status_page_url.rstrip('/')}/unsubscribe",
    } | facts.links
    summary = None
    if facts.summary:
        summary = {key: pick(value) for key, value in facts.summary.items()}
    roles = plan.roles
    return {
        "locale": locale,
        "org": {"name": plan.organization.name},
        "roles": {
            name: {"name": person.name, "chat_handle": person.chat_handle}
            for name, person in (
                ("incident_manager", roles.incident_manager),
                ("communications_manager", roles.communications_manager),
                ("support_manager", roles.support_manager),
            )
        },
        "incident": {
            "id": facts.incident_id,
            "internal_title": facts.internal_title or facts.incident_id,
            "severity": plan.severity(facts.severity_id).name[locale],
        },
        "components": names,
        "components_text": join_names(names, locale),
        "impact": pick(facts.impact),
        "started_at": format_time(facts.started_at, loc),
        "next_update_at": format_time(facts.next_update_at, loc) if facts.next_update_at else None,
        "eta": pick(facts.eta),
        "update": pick(facts.update),
        "workaround": pick(facts.workaround),
        "resolved_at": format_time(facts.resolved_at, loc) if facts.resolved_at else None,
        "duration": format_duration((facts.resolved_at or facts.now) - facts.started_at, locale),
        "maintenance": {
            "starts_at": format_time(facts.maintenance_starts_at, loc)
            if facts.maintenance_starts_at
            else None,
            "ends_at": format_time(facts.maintenance_ends_at, loc) if facts.maintenance_ends_at else None,
            "cancelled": facts.maintenance_cancelled,
        },
        "summary": summary,
        "resolution": {part: pick((facts.resolution or {}).get(part)) for part in ("cause", "fix", "impact")},
        "links": links,
    }


# ---------------------------------------------------------------------------------------------
# Words people typed, made safe for one channel
# ---------------------------------------------------------------------------------------------

#: Context values a person typed (or an alarm wrote): cleaned of control characters everywhere.
HUMAN_KEYS = frozenset({"impact", "update", "eta", "workaround", "summary", "resolution"})
#: Context values that are markup on purpose (links; the plan's chat handles) or not text.
_NOT_ESCAPED = frozenset({"links", "roles", "locale"})


def _clean(value: Any) -> Any:
    from outage_comms.human_text import clean_text  # defence in depth: the doors already refuse these

    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    return value


def _escaped(value: Any, channel: Channel) -> Any:
    from outage_comms.channel_markup import neutralise

    if isinstance(value, str):
        return neutralise(channel, value)
    if isinstance(value, dict):
        return {key: _escaped(item, channel) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item, channel) for item in value]
    return value


def channel_context(context: Mapping[str, Any], channel: Channel) -> dict[str, Any]:
    """``context`` for rendering ``channel``'s message: typed values cleaned and made inert there.

    Every value a person typed is cleaned (NFC, no control characters: ``outage_comms.human_text``);
    for a channel whose text is markup (Slack, Teams, Chatbot, Mastodon, Bluesky) every text value
    except the links and the plan's chat handles is escaped for it (``outage_comms.channel_markup``),
    as an HTML template autoescapes, so a note can ping nobody and link nowhere in disguise.
    """
    from outage_comms.channel_markup import MARKUP_CHANNELS

    result = dict(context)
    incident = dict(result.get("incident") or {})
    if isinstance(incident.get("internal_title"), str):
        incident["internal_title"] = _clean(incident["internal_title"])
    result["incident"] = incident
    for key in HUMAN_KEYS & result.keys():
        result[key] = _clean(result[key])
    if channel in MARKUP_CHANNELS:
        for key, value in result.items():
            if key not in _NOT_ESCAPED:
                result[key] = _escaped(value, channel)
    return result
