"""`outage-comms lint`: is this plan ready for a real outage?

Runs in three passes and collects every finding instead of stopping at the first:
1. the plan itself (schema + cross references) — see ``outage_comms.plan``;
2. every scenario x enabled format x locale has a template that renders with sample data;
3. message quality on each rendered customer-facing message: impact, next update time, ETA
   slot, channel limits, identifiers, jargon, and English readability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outage_comms.drill_scenario import lint_scenarios
from outage_comms.guard import Finding, find_leaks, guard_message, sms_size
from outage_comms.plan import Plan, PlanError, load_plan
from outage_comms.plan_lint.locales import locale_findings, unknown_locales
from outage_comms.plan_lint.quality import assess, reader_text
from outage_comms.plan_lint.sentences import repeat_findings
from outage_comms.rendering import (
    RenderedMessage,
    TemplateProblem,
    build_context,
    render_message,
    template_sources,
)
from outage_comms.sample import SAMPLE_NOW, sample_facts
from outage_comms.templates_location import missing_templates_message, templates_dir_for
from outage_comms.vocabulary import (
    CHANNEL_FORMAT,
    INTERNAL_FORMATS,
    SCENARIOS_WITH_ETA_SLOT,
    SCENARIOS_WITHOUT_NEXT_UPDATE,
    Channel,
    MessageFormat,
    Scenario,
)

# Short formats cannot carry whole sentences about every fact; they must still carry impact.
FORMATS_EXEMPT_FROM_NEXT_UPDATE = frozenset({MessageFormat.PUSH, MessageFormat.SOCIAL, MessageFormat.IN_APP})
# Readability is measured on prose long enough for a grade to mean something.
MIN_WORDS_FOR_READABILITY = 12

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


@dataclass
class LintReport:
    plan_path: str
    findings: list[Finding] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    #: SMS and social rows: which form of the feedback question each message carries.
    feedback: list[dict[str, Any]] = field(default_factory=list)
    messages_checked: int = 0
    unusable: bool = False
    #: The templates folder checked (the plan's ``templates:``, default ``templates/`` beside the plan).
    templates_dir: str = ""
    #: Per message (sample data): reading grade (en), length, SMS parts and encoding, findings.
    quality: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return EXIT_UNUSABLE
        return EXIT_FINDINGS if any(f.severity == "error" for f in self.findings) else EXIT_CLEAN

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_path,
            "templates": self.templates_dir,
            "exit_code": self.exit_code,
            "messages_checked": self.messages_checked,
            "findings": [f.as_dict() for f in self.findings],
            "sms": self.sms,
            "feedback": self.feedback,
            "quality": self.quality,
        }


def lint_plan(path: str | Path, templates_dir: Path | None = None) -> LintReport:
    """Every finding for the plan at ``path``; templates from ``templates_dir`` or the plan's own folder."""
    report = LintReport(plan_path=str(path))
    try:
        plan = load_plan(path)
    except PlanError as exc:
        report.unusable = True  # unreadable, or schema/reference errors: nothing else can be checked (exit 2)
        report.findings = [
            Finding("plan", p.message, p.fix, where=f"{p.file}: {p.path}") for p in exc.problems
        ]
        return report
    templates_dir = templates_dir or templates_dir_for(path, plan.templates)
    report.templates_dir = str(templates_dir)
    if not templates_dir.is_dir():
        message, fix = missing_templates_message(templates_dir)
        report.findings = [Finding("templates.folder", message, fix, where=f"{path}: templates")]
        return report
    if unknown := unknown_locales(plan):  # nothing can be formatted in a locale CLDR does not know (exit 2)
        report.unusable, report.findings = True, unknown
        return report
    for scenario in Scenario:
        for fmt in plan.formats_for(scenario):
            for locale in plan.locale_codes:
                _lint_one(plan, scenario, fmt, locale, templates_dir, report)
    report.findings += _scenario_findings(plan, path)
    report.findings += repeat_findings(plan, path, templates_dir)  # a sample note repeats a template sentence
    report.findings += locale_findings(plan, templates_dir)  # every locale's word files and keys
    from outage_comms.plan import brand_problems  # the status page brand: WCAG AA contrast, files present

    report.findings += [
        Finding("status.brand", p.message, p.fix, where=f"{p.file}: {p.path}")
        for p in brand_problems(plan, str(path), templates_dir)
    ]
    report.findings = _unique(report.findings, templates_dir)
    return report


def _scenario_findings(plan: Plan, path: str | Path) -> list[Finding]:
    """Plan scenarios and game-day scenarios (drills/*.yaml) that name a channel that is off, and more."""
    from outage_comms.plan import region_problems, scenario_channel_problems

    return [
        Finding(code, p.message, p.fix, where=f"{p.file}: {p.path}")
        for code, problems in (
            ("scenario.channels", scenario_channel_problems(plan, str(path))),
            ("drill.scenario", lint_scenarios(plan, path)),
            ("plan.regions", region_problems(plan, str(path))),  # each region can send on each channel
        )
        for p in problems
    ]


def _unique(findings: list[Finding], templates_dir: Path) -> list[Finding]:
    """One finding per place and problem (a missing file is reported once, not once per format)."""
    seen: set[tuple[str, str, str]] = set()
    result = []
    for finding in findings:
        where = finding.where.replace(str(templates_dir), "templates")
        key = (
            finding.code,
            where.split(": ")[0] if finding.message == "template file is missing" else where,
            finding.message,
        )
        if key not in seen:
            seen.add(key)
            result.append(Finding(finding.code, finding.message, finding.fix, where, finding.severity))
    return result


def _lint_one(
    plan: Plan, scenario: Scenario, fmt: MessageFormat, locale: str, templates_dir: Path, report: LintReport
) -> None:
    where = f"templates/messages/{locale}/{scenario.value}.yaml: {fmt.value}"
    rendered: dict[bool, RenderedMessage] = {}
    for with_eta in (True, False):
        context = build_context(plan, sample_facts(plan, scenario, with_eta=with_eta), locale)
        try:
            rendered[with_eta] = render_message(
                scenario=scenario, fmt=fmt, locale=locale, context=context, templates_dir=templates_dir
            )
        except TemplateProblem as exc:
            report.findings.append(Finding("template", exc.message, exc.fix, where=exc.where))
            return
    report.messages_checked += 1
    report.findings += _source_leaks(plan, scenario, fmt, locale, templates_dir, where)
    report.findings += _fallback_findings(plan, scenario, fmt, locale, templates_dir, where)
    # The shared template, before any links: the format's rule (the strictest of its channels).
    for finding in guard_message(plan, rendered[True]):
        report.findings.append(_at(finding, where))
    # Per channel, with the links: that channel's own rule (Mastodon counts a URL as 23, Bluesky
    # counts only the linked words).
    linked = _with_sample_feedback(plan, scenario, fmt, rendered[True])
    for channel, (with_links, _) in linked.items():
        for finding in guard_message(plan, with_links, channel):
            report.findings.append(_at(finding, f"{where} ({channel.value})"))
    message, feedback_links = next(iter(linked.values()), (rendered[True], "off"))
    _record_sizes(scenario, fmt, locale, where, message, feedback_links, linked, report)
    if fmt in INTERNAL_FORMATS:
        return
    report.findings += _customer_quality(plan, scenario, fmt, locale, where, message, rendered[False])
    if locale == "en":
        report.findings += _readability(plan, message, where)


def _record_sizes(
    scenario: Scenario,
    fmt: MessageFormat,
    locale: str,
    where: str,
    message: RenderedMessage,
    feedback_links: str,
    linked: dict[Channel, tuple[RenderedMessage, str]],
    report: LintReport,
) -> None:
    """The report's quality row, the SMS size and, per SMS or social channel, the feedback form."""
    text, body = reader_text(message.fields), message.fields.get("body", "")
    row = assess(where, fmt.value, locale, text, sms=fmt is MessageFormat.SMS, body=body)
    report.quality.append({"scenario": scenario.value, "format": fmt.value, **row.as_dict()})
    if fmt is MessageFormat.SMS:
        report.sms.append(
            {
                "scenario": scenario.value,
                "locale": locale,
                **sms_size(message.fields["body"]).as_dict(),
                "feedback_links": feedback_links,
            }
        )
    for channel, (with_links, form) in linked.items():
        if fmt in (MessageFormat.SMS, MessageFormat.SOCIAL) and form != "off":
            report.feedback.append(
                {
                    "format": fmt.value,
                    "channel": channel.value,
                    "scenario": scenario.value,
                    "locale": locale,
                    "characters": _post_length(channel, with_links.fields["body"]),
                    "feedback_links": form,
                }
            )


def _customer_quality(
    plan: Plan,
    scenario: Scenario,
    fmt: MessageFormat,
    locale: str,
    where: str,
    message: RenderedMessage,
    without_eta: RenderedMessage,
) -> list[Finding]:
    """A customer message states the impact, the next update and has a slot for an estimate."""
    found: list[Finding] = []
    context = build_context(plan, sample_facts(plan, scenario), locale)
    text = message.text()
    exempt = fmt in FORMATS_EXEMPT_FROM_NEXT_UPDATE
    if scenario is not Scenario.MAINTENANCE_COMPLETED and context["impact"] not in text:
        found.append(
            Finding(
                "quality.impact",
                "does not state the impact",
                "include {{ impact }} so customers read what they cannot do",
                where=where,
            )
        )
    if scenario not in SCENARIOS_WITHOUT_NEXT_UPDATE and not exempt and context["next_update_at"] not in text:
        found.append(
            Finding(
                "quality.next_update",
                "does not say when the next update comes",
                "include {{ next_update_at }}",
                where=where,
            )
        )
    if scenario in SCENARIOS_WITH_ETA_SLOT and not exempt:
        if context["eta"] not in text:
            found.append(
                Finding(
                    "quality.eta_slot",
                    "has no slot for an estimate (ETA)",
                    "add {% if eta %}{{ eta }}{% endif %}",
                    where=where,
                )
            )
        if "None" in without_eta.text():
            found.append(
                Finding(
                    "quality.eta_missing",
                    "prints 'None' when there is no ETA",
                    "wrap the ETA in {% if eta %}…{% endif %}",
                    where=where,
                )
            )
    return found


def _source_leaks(
    plan: Plan, scenario: Scenario, fmt: MessageFormat, locale: str, templates_dir: Path, where: str
) -> list[Finding]:
    """The guard on the template's own text, every branch included (the samples take only some)."""
    internal = fmt in INTERNAL_FORMATS
    findings = []
    for name, source in template_sources(templates_dir, locale, scenario, fmt).items():
        findings += [_at(f, f"{where}.{name}") for f in find_leaks(plan, source, internal=internal)]
    return findings


def _fallback_findings(
    plan: Plan, scenario: Scenario, fmt: MessageFormat, locale: str, templates_dir: Path, where: str
) -> list[Finding]:
    """The plan's ``guard.fallback`` in this template must pass the guard too: it is what a blocked
    message becomes at run time."""
    fallback = plan.guard.fallback or {}
    text = fallback.get(locale) or fallback.get(plan.default_locale)
    if not text or fmt in INTERNAL_FORMATS:
        return []
    context = build_context(plan, sample_facts(plan, scenario, with_eta=False), locale)
    context |= {"impact": text, "update": None, "eta": None, "workaround": None}
    try:
        message = render_message(
            scenario=scenario, fmt=fmt, locale=locale, context=context, templates_dir=templates_dir
        )
    except TemplateProblem as exc:
        return [
            Finding(
                "guard.fallback",
                f"cannot render with the guard's fallback text: {exc.message}",
                exc.fix,
                where,
            )
        ]
    return [
        Finding(
            "guard.fallback",
            f"with the guard's fallback text instead of the note, {finding.message}",
            f"shorten guard.fallback.{locale} in the plan, or {finding.fix}",
            where=where,
        )
        for finding in guard_message(plan, message)
    ]


def _with_sample_feedback(
    plan: Plan, scenario: Scenario, fmt: MessageFormat, message: RenderedMessage
) -> dict[Channel, tuple[RenderedMessage, str]]:
    """Per channel of this format that carries the question: the message as it would go out, with
    the "Was this update helpful?" question, links of realistic length, when it fits that channel
    (see outage_comms.feedback.messages). The second value says which form: ``links`` (two
    one-click links), ``reply`` (SMS: "Reply YES or NO", two-way SMS), ``compact`` (one link to the
    answer page: one tap to open + one to answer),
    ``no room`` (either would break a limit) or ``off``."""
    from outage_comms.feedback.messages import carries_feedback, feedback_form, sample_feedback

    linked_channels = [
        c for c in plan.channels_for(scenario) if carries_feedback(plan, c) and CHANNEL_FORMAT[c] is fmt
    ]
    feedback = sample_feedback(plan, scenario, SAMPLE_NOW)
    return {channel: feedback_form(plan, message, channel, feedback) for channel in linked_channels}


def _post_length(channel: Channel, body: str) -> int:
    """The body's length as the channel counts it (Mastodon: URL = 23; Bluesky: the posted text)."""
    from outage_comms import social_text

    if channel is Channel.MASTODON:
        return int(social_text.mastodon_length(body))
    if channel is Channel.BLUESKY:
        return int(social_text.grapheme_count(social_text.parse_link_markup(body).text))
    return len(body)


def _readability(plan: Plan, message: RenderedMessage, where: str) -> list[Finding]:
    import textstat  # lazy: heavy, CLI only

    body = message.fields.get("body", "")
    if len(body.split()) < MIN_WORDS_FOR_READABILITY:
        return []
    grade = float(textstat.flesch_kincaid_grade(_prose(body)))
    if grade > plan.guard.max_grade_level:
        return [
            Finding(
                "quality.readability",
                f"English reads at grade {grade:.1f}, above {plan.guard.max_grade_level:g}",
                "use shorter sentences and everyday words",
                where=f"{where}.body",
            )
        ]
    return []


def _prose(text: str) -> str:
    """Drop URLs and markup that readability formulas would count as long words."""
    import re

    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"[*_`#>\[\]()]", "", text)
    return text


def _at(finding: Finding, where: str) -> Finding:
    suffix = f".{finding.where}" if finding.where else ""
    return Finding(
        finding.code, finding.message, finding.fix, where=where + suffix, severity=finding.severity
    )
