"""Templates render safely: sandboxed, strict about variables, escaped in HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from outage_comms.plan import LocaleSettings
from outage_comms.rendering import TemplateProblem, format_time, join_names, render_message
from outage_comms.vocabulary import MessageFormat, Scenario

pytestmark = pytest.mark.unit

LAYOUT = "<html><body>{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}</body></html>"


def make_templates(tmp_path: Path, body: str, subject: str = "Problem with {{ components_text }}") -> Path:
    root = tmp_path / "templates"
    (root / "messages" / "en").mkdir(parents=True)
    (root / "layouts").mkdir()
    (root / "layouts" / "email.html.j2").write_text(LAYOUT)
    (root / "messages" / "en" / "investigating.yaml").write_text(
        f"email:\n  subject: '{subject}'\n  body: |\n    {body}\n"
    )
    return root


def render(root: Path, **context: object):
    return render_message(
        scenario=Scenario.INVESTIGATING,
        fmt=MessageFormat.EMAIL,
        locale="en",
        context={"components_text": "Sync", **context},
        templates_dir=root,
    )


def test_missing_variable_is_an_error_naming_template_and_field(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact }} until {{ next_update_at }}")
    with pytest.raises(TemplateProblem) as caught:
        render(root, impact="Notes do not open")
    assert "investigating.yaml: email.body" in str(caught.value)
    assert "next_update_at" in str(caught.value)


def test_sandbox_refuses_reaching_into_python(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateProblem, match="cannot render"):
        render(root, impact="x")


def test_html_email_escapes_user_text_but_text_part_keeps_it(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact }}")
    message = render(root, impact='<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert message.fields["body"].startswith("<script>")
    assert message.html is not None
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<img" not in message.html


def test_missing_format_section_names_what_to_add(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "x")
    with pytest.raises(TemplateProblem, match="add a 'sms:' section"):
        render_message(
            scenario=Scenario.INVESTIGATING,
            fmt=MessageFormat.SMS,
            locale="en",
            context={},
            templates_dir=root,
        )


def test_times_read_naturally_in_each_locale() -> None:
    moment = datetime(2026, 11, 27, 14, 35, tzinfo=UTC)
    en = LocaleSettings(code="en", timezone="UTC", timezone_label="UTC")
    pt = LocaleSettings(code="pt-BR", timezone="America/Sao_Paulo", timezone_label="horário de Brasília")
    assert format_time(moment, en) == "27 Nov, 14:35 UTC"
    assert format_time(moment, pt) == "27/11 às 11h35 (horário de Brasília)"


def test_component_lists_join_in_each_language() -> None:
    assert join_names(["Sync", "Search", "Web app"], "en") == "Sync, Search and Web app"
    assert join_names(["Busca", "Login"], "pt-BR") == "Busca e Login"
    assert join_names(["Busca"], "pt-BR") == "Busca"
