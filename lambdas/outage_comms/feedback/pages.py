"""The small pages a customer sees after clicking "Yes" or "No": autoescaped, no script, accessible.

Every page is one template (Jinja2, autoescape on) with words in English or Brazilian Portuguese,
chosen by the link's locale. When the link cannot be read (forged, cut short), we do not know the
customer's language, so the page says it in both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

#: Security headers on every page. No script may run; forms post only to us; the link's token is
#: never sent as a Referer to the status page; search engines do not index answers.
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "question": "Was this update helpful?",
        "yes": "Yes",
        "no": "No",
        "question_title": "Was this update helpful?",
        "question_text": "Choose one answer. It helps us write clearer updates.",
        "thanks_title": "Thank you for your answer",
        "thanks_text": "You answered: {vote}. It helps us write clearer updates.",
        "comment_label": "Anything we could have said better? (optional, up to 1000 characters)",
        "comment_button": "Send comment",
        "already_title": "We already have your answer",
        "already_text": "Thank you. Each answer counts once.",
        "confirm_title": "Send your answer",
        "confirm_text": "You chose: {vote}. Press the button to send it.",
        "confirm_button": "Send my answer",
        "commented_title": "Thank you for your comment",
        "commented_text": "The team will read it when they review this incident.",
        "status_link": "Go to the {org} status page",
        "malformed_title": "This link does not work",
        "malformed_text": "Part of the link may be missing. Open it again from the message or copy it all.",
        "expired_title": "This link has expired",
        "expired_text": "Answers are collected for a few weeks after each update. Thank you for trying.",
        "unknown_update_title": "We cannot find this update",
        "unknown_update_text": "The link does not match an update we sent. Open it again from the message.",
        "csrf_title": "This form has expired",
        "csrf_text": "Open the link in the message again, then send your comment.",
        "no_answer_title": "Answer the question first",
        "no_answer_text": "Open the Yes or No link in the message, then add your comment.",
        "comment_invalid_title": "Your comment was not saved",
        "comment_invalid_text": "Write between 1 and 1000 characters, then send it again.",
        "not_found_title": "Page not found",
        "not_found_text": "This address does not exist. Open the link in the message again.",
        "method_title": "This action is not allowed",
        "method_text": "Open the link in the message again.",
    },
    "pt-BR": {
        "question": "Esta atualização foi útil?",
        "yes": "Sim",
        "no": "Não",
        "question_title": "Esta atualização foi útil?",
        "question_text": "Escolha uma resposta. Ela nos ajuda a escrever avisos mais claros.",
        "thanks_title": "Obrigado pela resposta",
        "thanks_text": "Sua resposta: {vote}. Ela nos ajuda a escrever avisos mais claros.",
        "comment_label": "Algo que poderíamos ter dito melhor? (opcional, até 1000 caracteres)",
        "comment_button": "Enviar comentário",
        "already_title": "Já recebemos sua resposta",
        "already_text": "Obrigado. Cada resposta conta uma vez.",
        "confirm_title": "Envie sua resposta",
        "confirm_text": "Você escolheu: {vote}. Aperte o botão para enviar.",
        "confirm_button": "Enviar minha resposta",
        "commented_title": "Obrigado pelo comentário",
        "commented_text": "A equipe vai ler quando revisar este incidente.",
        "status_link": "Ir para a página de status da {org}",
        "malformed_title": "Este link não funciona",
        "malformed_text": "Pode faltar parte do link. Abra de novo pela mensagem ou copie o link inteiro.",
        "expired_title": "Este link expirou",
        "expired_text": "Recebemos respostas por algumas semanas depois de cada aviso. Obrigado por tentar.",
        "unknown_update_title": "Não encontramos este aviso",
        "unknown_update_text": "O link não corresponde a um aviso que enviamos. Abra de novo pela mensagem.",
        "csrf_title": "Este formulário expirou",
        "csrf_text": "Abra de novo o link da mensagem e envie seu comentário.",
        "no_answer_title": "Responda à pergunta primeiro",
        "no_answer_text": "Abra o link Sim ou Não da mensagem e depois deixe seu comentário.",
        "comment_invalid_title": "Seu comentário não foi salvo",
        "comment_invalid_text": "Escreva de 1 a 1000 caracteres e envie de novo.",
        "not_found_title": "Página não encontrada",
        "not_found_text": "Este endereço não existe. Abra de novo o link da mensagem.",
        "method_title": "Esta ação não é permitida",
        "method_text": "Abra de novo o link da mensagem.",
    },
}

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{ sections[0].title }} · {{ org }}</title>
</head>
<body style="margin:0; padding:24px 16px; background:#f4f5f7; color:#1f2328;
 font-family:Arial, Helvetica, sans-serif; font-size:18px; line-height:1.5;">
<main style="max-width:560px; margin:0 auto; background:#fff; border:1px solid #d9dce1;
 border-radius:6px; padding:24px;">
{% for section in sections %}
<section lang="{{ section.lang }}"{% if not loop.first %} style="margin-top:24px;
 border-top:1px solid #d9dce1; padding-top:16px;"{% endif %}>
<h1 style="font-size:24px; margin:0 0 12px 0;">{{ section.title }}</h1>
<p style="margin:0 0 16px 0;">{{ section.text }}</p>
{% if section.confirm %}
<form method="post" action="">
<button type="submit" style="font-size:18px; padding:10px 20px;">{{ section.confirm }}</button>
</form>
{% endif %}
{% if section.choices %}
<form method="post" action="">
<input type="hidden" name="csrf" value="{{ csrf }}">
{% for choice in section.choices %}
<button type="submit" name="vote" value="{{ choice.value }}" style="display:block; width:100%;
 box-sizing:border-box; margin:0 0 12px 0; font-size:24px; padding:16px;">{{ choice.label }}</button>
{% endfor %}
</form>
{% endif %}
{% if section.comment %}
<form method="post" action="{{ comment_action }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label for="comment" style="display:block; margin-bottom:8px;">{{ section.comment.label }}</label>
<textarea id="comment" name="comment" rows="5" maxlength="1000" required
 style="box-sizing:border-box; width:100%; font-size:18px; padding:8px;"></textarea>
<button type="submit" style="margin-top:12px; font-size:18px; padding:10px 20px;">
{{- section.comment.button -}}
</button>
</form>
{% endif %}
{% if status_url %}
<p style="margin:16px 0 0 0;">
<a href="{{ status_url }}" style="color:#0b57d0;">{{ section.status_link }}</a></p>
{% endif %}
</section>
{% endfor %}
</main>
</body>
</html>
"""


def words_for(locale: str | None) -> dict[str, str]:
    """English unless the locale is Portuguese."""
    return WORDS["pt-BR"] if (locale or "").lower().startswith("pt") else WORDS["en"]


@functools.cache
def _template() -> Any:
    from jinja2 import Environment

    return Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(_TEMPLATE)


@dataclass(frozen=True)
class Page:
    status: int
    html: str


@dataclass(frozen=True)
class Site:
    """Who is speaking: the organization's public name and status page (from the plan)."""

    org: str
    status_url: str


def page(
    status: int,
    site: Site,
    key: str,
    locale: str | None,
    *,
    vote: str = "",
    csrf: str = "",
    comment: bool = False,
    confirm: bool = False,
    choices: bool = False,
    comment_action: str = "comment",
) -> Page:
    """A page of ``key``'s title and text; ``locale`` None means "both languages" (link unreadable).

    ``choices``: the answer page's two big Yes / No buttons (one form, POST, with ``csrf``).
    ``comment_action``: where the comment form posts, relative to the page's own address.
    """
    languages = [WORDS["en"], WORDS["pt-BR"]] if locale is None else [words_for(locale)]
    sections = []
    for words in languages:
        said = words["yes"] if vote == "yes" else words["no"] if vote == "no" else ""
        sections.append(
            {
                "lang": "pt-BR" if words is WORDS["pt-BR"] else "en",
                "title": words[f"{key}_title"],
                "text": words[f"{key}_text"].format(vote=said),
                "confirm": words["confirm_button"] if confirm else "",
                "choices": [
                    {"value": "yes", "label": words["yes"]},
                    {"value": "no", "label": words["no"]},
                ]
                if choices
                else [],
                "comment": {"label": words["comment_label"], "button": words["comment_button"]}
                if comment
                else None,
                "status_link": words["status_link"].format(org=site.org),
            }
        )
    html = _template().render(
        lang=sections[0]["lang"],
        sections=sections,
        org=site.org,
        status_url=site.status_url,
        csrf=csrf,
        comment_action=comment_action,
    )
    return Page(status=status, html=html)
