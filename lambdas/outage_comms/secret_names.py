"""Secret names, never secrets: what a plan field naming a Secrets Manager secret may hold.

A plan is reviewed and committed, so a field such as ``channels.slack.webhook_url_secret`` must hold
the *name* (or ARN) of a Secrets Manager secret. People paste the secret itself there: a Slack
webhook URL, an ``xoxb-`` token, a GitHub token, an access key. Those are refused, with the fix, and
never echoed back whole: an error shows only the first characters (:func:`redact`).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

#: Secrets Manager: "ASCII letters, numbers, and /_+=.@-", at most 512 characters.
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$")
#: At most this many characters of a refused value appear in an error (fewer for short values).
SHOWN_CHARACTERS = 11

_TOKENS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^xox[abposre]-", re.I), "a Slack token"),
    (re.compile(r"^xapp-", re.I), "a Slack app-level token"),
    (re.compile(r"^(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"), "a GitHub token"),
    (re.compile(r"^github_pat_"), "a GitHub token"),
    (re.compile(r"^glpat-"), "a GitLab token"),
    (re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$"), "an AWS access key id"),
    (re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"), "a JSON Web Token"),
    (re.compile(r"^-----BEGIN "), "a private key"),
    (re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$"), "a Bluesky app password"),
    (re.compile(r"^[a-z][a-z0-9+.-]*://", re.I), "a URL"),
    (
        re.compile(
            r"^(hooks\.slack\.com|[a-z0-9-]+\.webhook\.office\.com|outlook\.office(365)?\.com|"
            r"discord(app)?\.com|api\.github\.com)(/|$)",
            re.I,
        ),
        "a URL",
    ),
)


def secret_name_problem(value: str) -> str | None:
    """Why ``value`` is not the name or ARN of a Secrets Manager secret (None: it is one)."""
    for pattern, what in _TOKENS:
        if pattern.search(value):
            return f"looks like {what}, a secret itself"
    if value.startswith("arn:"):
        if SECRET_ARN.match(value):
            return None
        return "is an ARN, but not a secret's (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
    if not SECRET_NAME.match(value):
        return "is not a Secrets Manager secret name (letters, digits and /_+=.@- only, at most 512)"
    if _looks_random(value):
        return "looks like a token or password, a secret itself"
    return None


def _looks_random(value: str) -> bool:
    """One long word mixing upper case, lower case and digits at random: a token, not a name people chose.

    CamelCase names change character class at word boundaries (about one in six characters); random
    tokens change class at about six characters in ten.
    """
    if "/" in value or len(value) < 32:
        return False
    if not all(re.search(kind, value) for kind in (r"[a-z]", r"[A-Z]", r"\d")):
        return False
    classes = [("a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else "-") for c in value]
    changes = sum(1 for a, b in pairwise(classes) if a != b)
    return changes / (len(value) - 1) > 0.35


def looks_secret(value: Any) -> bool:
    """A value that must not be echoed whole in an error (a token, a key, a URL with credentials)."""
    if not isinstance(value, str) or not value:
        return False
    if re.match(r"^[a-z][a-z0-9+.-]*://[^/@\s]*@", value, re.I):  # user:password@host
        return True
    problem = secret_name_problem(value.strip())
    return problem is not None and "a secret itself" in problem


def redact(value: Any) -> str:
    """``'https://hoo…'``: the first characters only, quoted, so people recognise what they pasted."""
    text = value if isinstance(value, str) else repr(value)
    return f"'{text[: min(SHOWN_CHARACTERS, len(text) // 3)]}…'"


def suggested_name(loc: tuple[Any, ...]) -> str:
    """A name for the field at ``loc``.

    ``channels.slack.webhook_url_secret`` -> ``outage-comms/slack-webhook-url``.
    """
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if parts[:1] == ["channels"]:
        parts = parts[1:]
    words = [p.removesuffix("_secret").removesuffix("_secrets").replace("_", "-") for p in parts]
    if words[:1] == ["drill"]:
        return "outage-comms/drill/" + "-".join(w for w in words[1:] if w != "webhook")
    return "outage-comms/" + "-".join(w for w in words if w)


def secret_name_fix(loc: tuple[Any, ...]) -> str:
    """The fix for a secret (not its name) in a secret-name field."""
    name = suggested_name(loc)
    return (
        "put the value in Secrets Manager and give its name here: aws secretsmanager create-secret "
        f"--name {name} --secret-string '<the value>', then write {name} here (and revoke the value "
        "if this file was shared)"
    )
