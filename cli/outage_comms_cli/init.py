"""`outage-comms init DIR`: scaffold a team's own repository that deploys Outage Comms from the library.

Writes ``app.py`` (a few lines), ``cdk.json`` (the plan named, Outage Comms' feature flags), ``plan.yaml``
(built from the shipped example plan's structure for the team's organisation, locales and channels),
``templates/`` (the shipped words for the chosen locales: the team owns them from now on; a locale we do
not ship starts as a copy of English), ``drills/default.yaml``, a README and a CI workflow.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from outage_comms.plan import DEPLOYMENT_ID_PATTERN
from outage_comms.shipped import shipped_path
from outage_comms.vocabulary import Channel

DEFAULT_CHANNELS = ("email", "slack", "status_page")
SOURCE_LOCALE = "en"
#: Channels the example plan turns on only as internal plumbing a team may not want; kept when chosen.
APP_PY = '''#!/usr/bin/env python3
"""CDK app: the Outage Comms stacks, built from plan.yaml by the installed library."""

import sys

from outage_comms_cdk.app import main

if __name__ == "__main__":
    sys.exit(main())
'''


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "example"


def deployment_id_for(org: str) -> str:
    """A deployment id from the organisation name: lowercase, digits, hyphens, at most 20 characters."""
    return _slug(org)[:20].strip("-") or "example"


def _relocalize(node: Any, locales: list[str], example_locales: set[str]) -> Any:
    """Every mapping keyed by the example's locales gets the chosen locales (new ones start in English)."""
    if isinstance(node, dict):
        if node and set(node) <= example_locales and all(isinstance(v, str) for v in node.values()):
            return {
                code: node.get(code, node.get(SOURCE_LOCALE, next(iter(node.values())))) for code in locales
            }
        return {key: _relocalize(value, locales, example_locales) for key, value in node.items()}
    if isinstance(node, list):
        return [_relocalize(item, locales, example_locales) for item in node]
    return node


def _rename(node: Any, old: str, new: str) -> Any:
    """The example organisation's domain and name in values become the team's (a starting point)."""
    if isinstance(node, dict):
        return {key: _rename(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename(item, old, new) for item in node]
    return node.replace(old, new) if isinstance(node, str) else node


def plan_data(org: str, locales: list[str], channels: list[str]) -> dict[str, Any]:
    """A plan for ``org`` with these locales and channels, shaped like the shipped example plan."""
    example = yaml.safe_load(shipped_path("plans").joinpath("example.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(example)
    example_locales = {loc["code"] for loc in example["locales"]}
    old_org, old_domain = example["organization"]["name"], example["organization"]["status_page_url"]
    old_domain = old_domain.split("://", 1)[-1].removeprefix("status.")
    domain = f"{_slug(org).replace('-', '')}.example"
    data = _rename(_relocalize(data, locales, example_locales), old_domain, domain)
    data = _rename(data, old_org, org)
    data["locales"] = [
        next((loc for loc in example["locales"] if loc["code"] == code), {"code": code}) | {"code": code}
        for code in locales
    ]
    for loc in data["locales"]:
        loc.setdefault("timezone", "UTC")
        loc.setdefault("timezone_label", "UTC")
    data["default_locale"] = locales[0]
    data["templates"] = "templates"
    data["channels"] = {name: value for name, value in data["channels"].items() if name in channels}
    voice = data["channels"].get("voice")
    if voice and "voice_ids" in voice:
        voice["voice_ids"] = {code: voice["voice_ids"].get(code, "Joanna") for code in locales}
    for settings in data["scenarios"].values():
        if settings.get("channels") is not None:
            settings["channels"] = [c for c in settings["channels"] if c in channels] or None
            if settings["channels"] is None:
                del settings["channels"]
    drill = data.get("drill", {})
    drill["webhook_secrets"] = {c: s for c, s in drill.get("webhook_secrets", {}).items() if c in channels}
    return data


def _copy_templates(target: Path, locales: list[str]) -> list[str]:
    """The shipped templates for ``locales``; returns the locales that started as a copy of English."""
    source = shipped_path("templates")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
    shipped = {p.name for p in (source / "messages").iterdir() if p.is_dir()}
    copied = []
    for code in locales:
        if code in shipped:
            continue
        copied.append(code)
        shutil.copytree(source / "messages" / SOURCE_LOCALE, target / "messages" / code)
        for sub in ("status/strings", "subscriptions"):
            english = source / sub / f"{SOURCE_LOCALE}.yaml"
            if english.exists():
                shutil.copyfile(english, target / sub / f"{code}.yaml")
    for code in shipped - set(locales):
        shutil.rmtree(target / "messages" / code, ignore_errors=True)
        for sub in ("status/strings", "subscriptions"):
            (target / sub / f"{code}.yaml").unlink(missing_ok=True)
    return copied


def _drill(locales: list[str], channels: list[str]) -> str:
    story = yaml.safe_load(shipped_path("drills").joinpath("default.yaml").read_text(encoding="utf-8"))
    example_locales = {code for event in story.get("events", []) for code in (event.get("note") or {})}
    story = _relocalize(story, locales, example_locales or {SOURCE_LOCALE})
    story["inject"] = [i for i in story.get("inject", []) if i.get("channel") in channels]
    if not story["inject"]:
        story.pop("inject")
    header = "# The game day `outage-comms drill --plan plan.yaml` runs (embedded AWS, compressed clock).\n"
    return header + yaml.safe_dump(story, allow_unicode=True, sort_keys=False)


def _cdk_json(python: str) -> str:
    shipped = json.loads(shipped_path("cdk.json").read_text(encoding="utf-8"))
    context = {"plan": "plan.yaml", **{k: v for k, v in shipped.get("context", {}).items() if k != "plan"}}
    body = {"app": f"{python} app.py", "watch": shipped.get("watch", {}), "context": context}
    return json.dumps(body, indent=2) + "\n"


README = """# Outage communications for {org}

Your customer communication plan for outages (`plan.yaml`), your words (`templates/`), deployed with
[Outage Comms](https://pypi.org/project/outage-comms/) (`pip install 'outage-comms[cdk,local]'`).

    outage-comms lint plan.yaml          # schema, references, templates, message quality
    npx aws-cdk synth                    # the same lint, then every stack (cdk-nag gate on)

Also: `outage-comms preview plan.yaml --channel email`, `outage-comms drill --plan plan.yaml`
(a whole incident on an embedded AWS, report in out/drill/).

## Deploy to your account

1. Edit `plan.yaml` (people, components, audiences, channels) and `templates/` (your words); lint clean.
2. Create the prerequisites the stacks do not create: approver IAM roles, the Secrets Manager secrets
   the plan names, the SES identity (out of the sandbox), the chat app set-up for the internal topic,
   a CloudTrail trail if you use Incident Manager.
3. `npx aws-cdk bootstrap`, then `outage-comms preflight --plan plan.yaml` (read-only checks).
4. `npx aws-cdk deploy --all`; confirm the paging subscription e-mail.
{copied}"""

WORKFLOW = """name: outage-comms
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: "3.13"}
      - uses: actions/setup-node@v4
        with: {node-version: "22"}
      - run: pip install 'outage-comms[cdk,local]'
      - run: outage-comms lint plan.yaml
      - run: npx --yes aws-cdk@2 synth --quiet
"""


def scaffold(
    target: Path,
    *,
    org: str,
    locales: list[str],
    channels: list[str],
    force: bool = False,
    deployment: str | None = None,
) -> list[str]:
    """Write the team's repository into ``target``; returns the locales that started as English copies.

    ``deployment`` (default: from ``org``) goes into the plan's ``deployment.id``: the stack and resource
    names carry it, so several products or stages can share an account and region.
    """
    deployment = deployment or deployment_id_for(org)
    if not re.fullmatch(DEPLOYMENT_ID_PATTERN, deployment):
        raise ValueError(
            f"--deployment {deployment!r}: use lowercase letters, digits and inner hyphens, at most 20 "
            "characters (e.g. acme-prod)"
        )
    unknown = [c for c in channels if c not in {ch.value for ch in Channel}]
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; choose from {[c.value for c in Channel]}")
    if target.exists() and any(target.iterdir()) and not force:
        raise FileExistsError(f"{target} is not empty; pick an empty folder or pass --force")
    target.mkdir(parents=True, exist_ok=True)
    plan = plan_data(org, locales, channels) | {"deployment": {"id": deployment}}
    (target / "plan.yaml").write_text(
        f"# The customer communication plan of {org}. `outage-comms lint plan.yaml` checks it.\n"
        + yaml.safe_dump(plan, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    shutil.rmtree(target / "templates", ignore_errors=True)
    copied = _copy_templates(target / "templates", locales)
    (target / "drills").mkdir(exist_ok=True)
    (target / "drills" / "default.yaml").write_text(_drill(locales, channels), encoding="utf-8")
    (target / "app.py").write_text(APP_PY, encoding="utf-8")
    (target / "cdk.json").write_text(_cdk_json(Path(sys.executable).as_posix()), encoding="utf-8")
    note = (
        f"\nTemplates for {', '.join(copied)} start as copies of English: translate them "
        "(`outage-comms lint plan.yaml` lists what is missing).\n"
        if copied
        else ""
    )
    (target / "README.md").write_text(README.format(org=org, copied=note), encoding="utf-8")
    workflow = target / ".github" / "workflows"
    workflow.mkdir(parents=True, exist_ok=True)
    (workflow / "outage-comms.yml").write_text(WORKFLOW, encoding="utf-8")
    return copied


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        directory: Annotated[Path, typer.Argument(help="The folder to create (your repository).")],
        org: Annotated[str | None, typer.Option("--org", help="Organisation name.")] = None,
        locale: Annotated[
            list[str] | None, typer.Option("--locale", help="A BCP-47 locale; repeat. First = default.")
        ] = None,
        channel: Annotated[
            list[str] | None, typer.Option("--channel", help="A channel to enable; repeat.")
        ] = None,
        non_interactive: Annotated[bool, typer.Option("--non-interactive", help="Never ask.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
        deployment: Annotated[
            str | None,
            typer.Option(
                "--deployment",
                help="Deployment id in stack and resource names, e.g. acme-prod (default: from --org).",
            ),
        ] = None,
    ) -> None:
        """Scaffold your own repository: app.py, cdk.json, plan.yaml, templates/, drills/, README, CI."""
        ask = not non_interactive and sys.stdin.isatty()
        org = org or (typer.prompt("Organisation name") if ask else "Example Co")
        locales = locale or (
            typer.prompt("Locales (comma-separated, first is the default)", default="en").split(",")
            if ask
            else ["en"]
        )
        channels = channel or (
            typer.prompt("Channels (comma-separated)", default=",".join(DEFAULT_CHANNELS)).split(",")
            if ask
            else list(DEFAULT_CHANNELS)
        )
        try:
            copied = scaffold(
                directory,
                org=org,
                locales=[code.strip() for code in locales],
                channels=[name.strip() for name in channels],
                force=force,
                deployment=deployment,
            )
        except (ValueError, FileExistsError) as exc:
            typer.echo(f"✘ {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"✔ {directory}: plan.yaml, templates/, drills/, app.py, cdk.json, README.md, CI workflow")
        for code in copied:
            typer.echo(
                f"  templates for '{code}' start as a copy of English: translate them (lint lists them)"
            )
        typer.echo(f"Next: cd {directory} && outage-comms lint plan.yaml && npx aws-cdk synth")
