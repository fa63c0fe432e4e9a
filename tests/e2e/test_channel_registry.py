"""A channel the product has never heard of, added in this test alone, goes all the way through.

The test writes a small channel package ("discord": its settings model and a webhook adapter that posts
``{"content": ...}`` to the URL in its secret) into a temporary folder, and registers one
:class:`ChannelSpec` for it. No product file names it. Then, with a plan that enables it:

- ``outage-comms lint`` accepts the plan, and rejects it when ``channels.discord`` holds the webhook URL
  itself (a secret pasted into the plan) or misspells a field of the channel's own settings model;
- the channel's messages are rendered from the chat format's templates;
- the embedded drill synthesizes the app (its team notice, grants and secrets come from the spec),
  deploys it on moto, and the synthesized state machine delivers the channel's drill notice to a real
  HTTP server on 127.0.0.1 (the embedded channel sink), marked as a drill;
- the drill report lists the channel as a team channel that was delivered.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from outage_comms.channel_specs import registry
from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import Channel, MessageFormat

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "registry_test_channel"

#: The channel's own code, as a team would ship it in its own package (no third-party imports but
#: pydantic, which the Lambda already carries).
CHANNEL_MODULE = '''
"""A Discord channel webhook (test-only): ``{"content": title + body}`` to the URL in the secret."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from outage_comms.channels import http
from outage_comms.channels.base import Delivery, DeliveryResult
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.chat_webhook import internal_locale
from outage_comms.channels.secrets import secret_field
from outage_comms.plan import ChannelSettings, SecretName


class DiscordSettings(ChannelSettings):
    webhook_url_secret: SecretName
    username: str = Field(default="Outage Comms", min_length=1, max_length=80)


class DiscordChannel:
    def __init__(self, settings: DiscordSettings, secrets: Any, default_locale: str) -> None:
        self.channel = "discord"
        self._settings, self._secrets, self._locale = settings, secrets, default_locale

    def deliver(self, delivery: Delivery) -> DeliveryResult:
        locale = internal_locale(delivery, self._locale)
        fields = delivery.messages[locale]
        url = secret_field(self._secrets, self._settings.webhook_url_secret, "url")
        content = f"**{fields.get('title', '')}**\\n{fields.get('body', '')}"[:2000]
        http.post_json(url, {"username": self._settings.username, "content": content}, service="Discord")
        return DeliveryResult(channel="discord", status="delivered", locales=[locale])


def build(ctx: Any) -> DiscordChannel:
    return DiscordChannel(settings_of(ctx.plan, "discord"), ctx.secrets, ctx.plan.default_locale)
'''

SPEC = ChannelSpec(
    name="discord",
    format=MessageFormat.CHAT,
    reach="team",
    label="team Discord",
    markup="chatbot",  # Markdown links and @everyone: typed words are neutralised for both
    settings=f"{PACKAGE}:DiscordSettings",
    drill=DrillSpec("secret", secret_field="webhook_url_secret"),
    adapter=f"{PACKAGE}:build",
    secret_fields=("webhook_url_secret",),
    local=LocalTarget(
        secret={"url": "{sink}/discord/api/webhooks/1/embedded"},
        drill_secret={"url": "{sink}/discord/api/webhooks/2/drill"},
    ),
)


@pytest.fixture(scope="module")
def discord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The channel's package on sys.path and its spec registered, for this module's tests only."""
    folder = tmp_path_factory.mktemp("channel-package")
    (folder / PACKAGE).mkdir()
    (folder / PACKAGE / "__init__.py").write_text(CHANNEL_MODULE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    registry.register(SPEC)
    try:
        yield folder / PACKAGE
    finally:
        registry.unregister(SPEC.name)
        sys.path.remove(str(folder))
        sys.modules.pop(PACKAGE, None)


def plan_with_discord(folder: Path, discord_settings: dict[str, Any]) -> Path:
    """The example plan plus ``channels.discord`` and its drill target, in ``folder`` (templates: ours)."""
    data = yaml.safe_load((ROOT / "plans" / "example.yaml").read_text(encoding="utf-8"))
    data["channels"]["discord"] = discord_settings
    data["drill"].setdefault("webhook_secrets", {})["discord"] = "outage-comms/drill/discord-webhook"
    data["templates"] = str(ROOT / "templates")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def lint(path: Path) -> tuple[int, dict[str, Any]]:
    """``outage-comms lint --format json <plan>``, run by the CLI's own app in this process."""
    from typer.testing import CliRunner

    from outage_comms_cli.main import app

    result = CliRunner().invoke(app, ["lint", str(path), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_lint_accepts_a_plan_enabling_the_registered_channel_and_rejects_a_broken_one(
    discord: Path, tmp_path: Path
) -> None:
    example_code, example = lint(ROOT / "plans" / "example.yaml")
    good = plan_with_discord(tmp_path / "good", {"webhook_url_secret": "outage-comms/discord-webhook"})
    code, report = lint(good)
    # The same verdict as the example plan, and not one finding about the new channel
    assert code == example_code and code != 2, report
    assert not [f for f in report["findings"] if "discord" in json.dumps(f)]
    assert len(report["findings"]) == len(example["findings"])

    pasted = plan_with_discord(
        tmp_path / "pasted", {"webhook_url_secret": "https://discord.com/api/webhooks/1234/abcdefSECRET"}
    )
    code, report = lint(pasted)
    where = [f["where"] for f in report["findings"]]
    assert code == 2 and any(w.endswith("channels.discord.webhook_url_secret") for w in where), report
    assert "abcdefSECRET" not in json.dumps(report)  # the pasted secret is never echoed

    misspelt = plan_with_discord(
        tmp_path / "misspelt", {"webhook_url_secret": "outage-comms/discord-webhook", "usename": "Ops"}
    )
    code, report = lint(misspelt)
    (finding,) = [f for f in report["findings"] if "channels.discord.usename" in f["where"]]
    assert code == 2 and "did you mean 'username'" in finding["fix"], finding

    unknown = plan_with_discord(tmp_path / "unknown", {"webhook_url_secret": "outage-comms/discord-webhook"})
    registry.unregister("discord")  # the same plan, once nobody registers the channel
    try:
        code, report = lint(unknown)
    finally:
        registry.register(SPEC)
    (finding,) = [f for f in report["findings"] if f["where"].endswith(": channels.discord")]
    assert code == 2 and "unknown field 'discord'" in finding["message"], finding


def test_the_registered_channel_is_rendered_delivered_by_the_state_machine_and_reported(
    discord: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outage_comms.plan import load_plan
    from outage_comms.workflow.channels_plan import fanout_channels, team_channels
    from outage_comms_cli.drills.embedded import run_embedded_drill
    from outage_comms_cli.drills.scenario import DEFAULT_SCENARIO, load_scenario

    plan_path = plan_with_discord(tmp_path / "comms", {"webhook_url_secret": "outage-comms/discord-webhook"})
    plan = load_plan(plan_path)
    assert Channel("discord") in team_channels(plan) and Channel("discord") not in fanout_channels(plan)
    assert plan.channels.discord.username == "Outage Comms"  # its own settings model, defaults applied

    # The channel's package ships in the delivering functions' assets like a team's own code would.
    monkeypatch.delenv("OUTAGE_COMMS_EMBEDDED_CDK_OUT", raising=False)  # synthesize this plan's app
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

    out = tmp_path / "drill"
    summary = run_embedded_drill(
        plan,
        out,
        ROOT / "templates",
        plan_path=plan_path,
        scenario=load_scenario(DEFAULT_SCENARIO, plan),
        seconds_per_minute=0.3,
    )
    assert summary["status"] == "SUCCEEDED", summary

    # Delivered by the synthesized workflow to the 127.0.0.1 sink, at the drill target, marked
    assert summary["channels"]["discord"]["outcome"] == "delivered", summary["channels"]["discord"]
    posted = sorted((out / "deliveries" / "discord").glob("*"))
    assert posted, f"nothing recorded for discord under {out / 'deliveries'}"
    requests = [p.read_text(encoding="utf-8") for p in posted]
    # only ever the drill target (the secret plan.drill.webhook_secrets names), never the real webhook
    assert all(r.startswith("POST /discord/api/webhooks/2/drill") for r in requests), requests[:2]
    contents = [json.loads(r.split("\n\n", 1)[1])["content"] for r in requests]
    assert all(c.startswith("**[DRILL]") for c in contents), contents[:2]  # a rendered chat title, marked

    # Reported by the drill: a team channel, delivered, and the team heard first through it too
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    outcomes = {c["channel"]: c for c in record["channels"]}
    assert outcomes["discord"]["outcome"] == "delivered" and outcomes["discord"]["team"] is True
    assert "| discord (team) | delivered | no |" in (out / "report.md").read_text(encoding="utf-8")
