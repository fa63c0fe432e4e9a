"""Secrets pasted into a plan: every secret-name field refuses them, and no error quotes them whole.

Generated credentials of every kind people paste (Slack/Teams/Discord webhook URLs, Slack, GitHub and
GitLab tokens, AWS access key ids, JWTs, URLs with credentials, Mastodon-style random tokens, Bluesky
app passwords) go into a random secret-name field of the example plan. Accepted wrongly: the plan
loads, or an error quotes more than the value's first characters. Realistic secret names and ARNs
must still load (a refusal there is counted as a false alarm and must be zero too).
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from outage_comms.plan import PlanError, parse_plan
from outage_comms.secret_names import SHOWN_CHARACTERS
from tests.security.figures import scaled

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "plans" / "example.yaml").read_text())
FIELDS: list[Callable[[dict[str, Any], str], None]] = [
    lambda d, v: d["channels"]["slack"].update(webhook_url_secret=v),
    lambda d, v: d["channels"]["teams"].update(webhook_url_secret=v),
    lambda d, v: d["channels"]["mastodon"].update(access_token_secret=v),
    lambda d, v: d["channels"]["bluesky"].update(app_password_secret=v),
    lambda d, v: d["channels"]["webhook"].update(signing_secret=v),
    lambda d, v: d["channels"]["support"].update(ticketing_webhook_secret=v),
    lambda d, v: d["drill"]["webhook_secrets"].update(slack=v),
    lambda d, v: d["drill"]["webhook_secrets"].update(mastodon=v),
]


def _chars(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def pasted_secret(rng: random.Random) -> str:
    lower = string.ascii_lowercase + string.digits
    upper = string.ascii_uppercase + string.digits
    b64 = string.ascii_letters + string.digits + "-_"
    kinds = [
        lambda: (
            "https://hooks.slack.com/services/"
            f"T{_chars(rng, 8, upper)}/B{_chars(rng, 8, upper)}/{_chars(rng, 24)}"
        ),
        lambda: (
            f"hooks.slack.com/services/T{_chars(rng, 8, upper)}/B{_chars(rng, 8, upper)}/{_chars(rng, 24)}"
        ),
        lambda: f"https://{_chars(rng, 6, lower)}.webhook.office.com/webhookb2/{_chars(rng, 36, lower)}",
        lambda: f"https://discord.com/api/webhooks/{_chars(rng, 18, string.digits)}/{_chars(rng, 68, b64)}",
        lambda: (
            f"xox{rng.choice('bpaors')}-{_chars(rng, 10, string.digits)}-{_chars(rng, 13, string.digits)}-"
            f"{_chars(rng, 24)}"
        ),
        lambda: f"xapp-1-A{_chars(rng, 10, upper)}-{_chars(rng, 13, string.digits)}-{_chars(rng, 64, lower)}",
        lambda: f"{rng.choice(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{_chars(rng, 36)}",
        lambda: f"github_pat_{_chars(rng, 22)}_{_chars(rng, 59)}",
        lambda: f"glpat-{_chars(rng, 20, b64)}",
        lambda: f"{rng.choice(['AKIA', 'ASIA'])}{_chars(rng, 16, string.ascii_uppercase + '234567')}",
        lambda: f"eyJ{_chars(rng, 30, b64)}.eyJ{_chars(rng, 40, b64)}.{_chars(rng, 43, b64)}",
        lambda: f"https://{_chars(rng, 5, lower)}:{_chars(rng, 12)}@hooks.{_chars(rng, 6, lower)}.example/x",
        lambda: f"https://api.{_chars(rng, 6, lower)}.example/hook?token={_chars(rng, 32)}",
        lambda: _chars(rng, 43, string.ascii_letters + string.digits) + rng.choice(string.digits),
        lambda: "-".join(_chars(rng, 4, lower) for _ in range(4)),
    ]
    return rng.choice(kinds)()


def realistic_name(rng: random.Random) -> str:
    team = rng.choice(["outage-comms", "platform", "status", "comms", "acme", "prod/comms", "Acme.Status"])
    kind = rng.choice(
        [
            "slack-webhook",
            "teams_webhook",
            "mastodon-token",
            "bluesky-app-password",
            "signing+key",
            "helpdesk",
        ]
    )
    stage = rng.choice(["", "/prod", "/staging", "-eu", "@ops"])
    name = f"{team}/{kind}{stage}"
    if rng.random() < 0.2:  # one CamelCase word, long, with a year: a name, not a token
        words = rng.sample(
            ["Outage", "Comms", "Slack", "Teams", "Webhook", "Production", "Status", "Signing"], 5
        )
        return "".join(words) + str(rng.randrange(2020, 2030))
    if rng.random() < 0.3:
        region = rng.choice(["eu-west-1", "us-east-1", "sa-east-1"])
        return (
            f"arn:aws:secretsmanager:{region}:{rng.randrange(10**11, 10**12)}:secret:{name}-{_chars(rng, 6)}"
        )
    return name


def test_pasted_secrets_are_refused_and_never_echoed(figures) -> None:
    f = figures("input validation")
    rng = random.Random(12)
    false_alarms = 0
    for _ in range(scaled(ci=150, full=3000)):
        value = pasted_secret(rng)
        data = copy.deepcopy(EXAMPLE)
        rng.choice(FIELDS)(data, value)
        f.tried += 1
        try:
            parse_plan(data, "plan.yaml")
        except PlanError as exc:
            text = "\n".join(str(p) for p in exc.problems)
            if value[: SHOWN_CHARACTERS + 1] in text or "create-secret" not in text:
                f.wrong(f"echoed or no fix: {text[:200]}")
            continue
        except Exception as exc:  # any other exception is a crash to count
            f.crash(f"{value[:8]}…: {exc!r}")
            continue
        f.wrong(f"loaded with a secret: {value[:8]}…")
    for _ in range(scaled(ci=60, full=1000)):
        data = copy.deepcopy(EXAMPLE)
        rng.choice(FIELDS)(data, realistic_name(rng))
        try:
            parse_plan(data, "plan.yaml")
        except PlanError:
            false_alarms += 1
    f.extra["false_alarms_on_real_names"] = false_alarms
    assert f.clean, f.failure_message()
    assert false_alarms == 0
