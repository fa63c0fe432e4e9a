"""Customer answers, in words, for the post-incident summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_WORDS = {
    "en": {
        "none": 'No customer answered "Was this update helpful?" for this incident.',
        "total": "Was this update helpful? {answers} answers: {yes} yes ({yes_pct}%), {no} no ({no_pct}%).",
        "comments": "{n} customers left a comment.",
        "one_comment": "1 customer left a comment.",
        "by_channel": "By channel: {items}.",
        "by_locale": "By language: {items}.",
        "by_scenario": "By kind of update: {items}.",
        "item": "{name} {yes} yes / {no} no",
    },
    "pt": {
        "none": 'Nenhum cliente respondeu "Esta atualização foi útil?" neste incidente.',
        "total": "Esta atualização foi útil? {answers} respostas: "
        "{yes} sim ({yes_pct}%), {no} não ({no_pct}%).",
        "comments": "{n} clientes deixaram um comentário.",
        "one_comment": "1 cliente deixou um comentário.",
        "by_channel": "Por canal: {items}.",
        "by_locale": "Por idioma: {items}.",
        "by_scenario": "Por tipo de aviso: {items}.",
        "item": "{name} {yes} sim / {no} não",
    },
}
_CHANNELS = {
    "en": {
        "email": "email",
        "sms": "SMS",
        "sns": "subscriptions",
        "mastodon": "Mastodon",
        "bluesky": "Bluesky",
        "webhook": "webhook",
        "status_page": "status page",
        "push": "app notification",
        "in_app": "in-app banner",
    },
    "pt": {
        "email": "e-mail",
        "sms": "SMS",
        "sns": "assinaturas",
        "mastodon": "Mastodon",
        "bluesky": "Bluesky",
        "webhook": "webhook",
        "status_page": "página de status",
        "push": "notificação no app",
        "in_app": "aviso no app",
    },
}
_LOCALES = {
    "en": {"en": "English", "pt-BR": "Portuguese"},
    "pt": {"en": "inglês", "pt-BR": "português"},
}
_SCENARIOS = {
    "en": {
        "investigating": "investigating",
        "identified": "cause found",
        "monitoring": "monitoring",
        "resolved": "resolved",
        "degraded_performance": "slow service",
        "partial_outage": "partial outage",
        "major_outage": "major outage",
        "holding_update": "no news yet",
        "maintenance_scheduled": "maintenance planned",
        "maintenance_in_progress": "maintenance under way",
        "maintenance_completed": "maintenance done",
        "post_incident_summary": "summary",
    },
    "pt": {
        "investigating": "investigando",
        "identified": "causa encontrada",
        "monitoring": "monitorando",
        "resolved": "resolvido",
        "degraded_performance": "serviço lento",
        "partial_outage": "falha parcial",
        "major_outage": "falha geral",
        "holding_update": "sem novidades",
        "maintenance_scheduled": "manutenção marcada",
        "maintenance_in_progress": "manutenção em andamento",
        "maintenance_completed": "manutenção concluída",
        "post_incident_summary": "resumo",
    },
}


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def feedback_summary_lines(counts: Mapping[str, Any], locale: str) -> list[str]:
    """Plain-language lines about the answers of one incident, for its post-incident summary.

    ``counts`` is what :meth:`outage_comms.ports.FeedbackTally.counts` returns (see
    :class:`outage_comms.feedback.store.DynamoFeedbackStore`); ``locale`` picks English or
    Brazilian Portuguese. Lists the total with percentages, the number of comments, then the
    answers by channel, language and kind of update (largest first). No answers gives one line
    saying so. The lines hold counts only: no comment text, no link, no customer data.
    """
    language = "pt" if locale.lower().startswith("pt") else "en"
    words = _WORDS[language]
    yes, no = int(counts.get("yes", 0)), int(counts.get("no", 0))
    answers = yes + no
    if not answers:
        return [words["none"]]
    lines = [
        words["total"].format(
            answers=answers, yes=yes, no=no, yes_pct=_percent(yes, answers), no_pct=_percent(no, answers)
        )
    ]
    comments = int(counts.get("comments", 0))
    if comments:
        lines.append(words["one_comment"] if comments == 1 else words["comments"].format(n=comments))
    for key, names in (
        ("by_channel", _CHANNELS[language]),
        ("by_locale", _LOCALES[language]),
        ("by_scenario", _SCENARIOS[language]),
    ):
        breakdown: Mapping[str, Mapping[str, int]] = counts.get(key) or {}
        ranked = sorted(
            ((name, c) for name, c in breakdown.items() if c.get("yes", 0) + c.get("no", 0)),
            key=lambda pair: (-(pair[1].get("yes", 0) + pair[1].get("no", 0)), pair[0]),
        )
        if ranked:
            items = "; ".join(
                words["item"].format(name=names.get(name, name), yes=c.get("yes", 0), no=c.get("no", 0))
                for name, c in ranked
            )
            lines.append(words[key].format(items=items))
    return lines
