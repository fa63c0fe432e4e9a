"""What internals and credentials look like in text: the identifier and credential rules of the guard.

Two families, both pure regular expressions plus small checks (standard library only, so the
Lambda asset stays small and cold starts stay fast):

* **Internal identifiers** (never in customer text; fine in the team's own chat): ARNs, account
  ids (``123456789012`` and ``1234-5678-9012``), IP addresses (v4 and v6), EC2/VPC resource ids
  (``i-…``, ``sg-…``, ``subnet-…``, ``vol-…``, ``vpc-…``, ``eni-…``, ``ami-…`` and kin), ``s3://``
  URIs, AWS service endpoints (``*.elb.amazonaws.com``, ``*.rds.amazonaws.com``,
  ``*.cache.amazonaws.com``, VPC endpoints…; public API Gateway invoke URLs are allowed),
  EC2 host names (``ip-10-0-3-17``) and the plan's internal domains.
* **Credentials** (never anywhere, not even the team's chat): AWS access key ids and secret access
  keys, Slack tokens and webhook URLs, GitHub tokens, JSON Web Tokens, PEM private keys, user and
  password in a URL, and ``password=…`` / ``api_key: …`` with a random-looking value.

The credential patterns are ported from Yelp's ``detect-secrets`` (Apache-2.0) plugins ``aws``,
``slack``, ``github_token``, ``jwt``, ``basic_auth``, ``private_key`` and ``keyword`` /
``high_entropy_strings``. We port rather than depend: the library pulls in ``requests`` and its
plugin registry, scans files line by line, and its import alone costs more than our whole guard;
the regular expressions are the part we need. A finding never repeats a credential: it names the
kind and shows at most its first four characters.

Text is scanned after NFKC normalisation with invisible characters removed and the three HTML
entities Slack uses decoded, so a full-width digit, a zero-width joiner or ``&lt;`` cannot hide an
identifier from the guard.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    """One problem with one message (or one plan-wide check)."""

    code: str
    message: str
    fix: str
    where: str = ""
    severity: str = "error"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class _Pattern:
    """A regular expression compiled on first use: every Lambda loads the plan (whose fallback text
    is checked here), but only the render step runs the guard, so the others never pay the compile."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self.flags)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(text)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(replacement, text)


# ---------------------------------------------------------------------------------------------
# Scan text: what a reader would see, with tricks that hide identifiers undone
# ---------------------------------------------------------------------------------------------

#: Invisible characters a person (or our own escaping) may put inside a word.
INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u034f\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
)


def scan_text(text: str) -> str:
    """``text`` as the guard reads it: NFKC, invisibles removed, ``&lt; &gt; &amp;`` decoded."""
    text = text.translate(INVISIBLE)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return unicodedata.normalize("NFKC", text)


# ---------------------------------------------------------------------------------------------
# Internal identifiers
# ---------------------------------------------------------------------------------------------

_ARN = _Pattern(r"\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:\S+", re.IGNORECASE)
_ACCOUNT_ID = _Pattern(r"(?<![\d-])(?:\d{12}|\d{4}-\d{4}-\d{4})(?![\d-])")
_IPV4_CANDIDATE = _Pattern(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6_CANDIDATE = _Pattern(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_HOSTNAME = _Pattern(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\b", re.IGNORECASE)
#: EC2, VPC and related resource ids: a prefix, a dash, 8 or 17 hex digits.
_RESOURCE_ID = _Pattern(
    r"(?<![\w-])(?:i|sg|sgr|subnet|vol|vpc|eni|ami|snap|igw|eigw|nat|rtb|acl|vpce|tgw|tgw-attach|pcx|lt|"
    r"eipalloc|eipassoc|dopt|cgw|vgw|vpn|fs|fsap|r|h|elbv2|db|cluster)-(?:[0-9a-f]{17}|[0-9a-f]{8})(?![\w-])"
)
_S3_URI = _Pattern(r"\bs3[an]?://[^\s]+", re.IGNORECASE)
#: EC2 private host names: ``ip-10-0-3-17`` (optionally ``.ec2.internal`` and so on).
_EC2_HOST = _Pattern(r"(?<![\w-])ip-(?:\d{1,3}-){3}\d{1,3}(?![\w-])", re.IGNORECASE)
_AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "api.aws")
#: Public AWS hosts customers may be sent to (API Gateway invoke URLs, Lambda function URLs).
_PUBLIC_AWS_HOST = _Pattern(r"^[a-z0-9]{10}\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
ALWAYS_INTERNAL_SUFFIXES = ("internal", "local", "localdomain", "corp", "lan", "intranet", "compute.internal")


def _finding(code: str, message: str, fix: str) -> Finding:
    return Finding(code, message, fix)


def _ip_findings(text: str) -> list[Finding]:
    findings = []
    for pattern in (_IPV4_CANDIDATE, _IPV6_CANDIDATE):
        for match in pattern.finditer(text):
            try:
                ipaddress.ip_address(match.group())
            except ValueError:
                continue
            findings.append(
                _finding(
                    "identifier.ip_address",
                    f"contains an IP address '{match.group()}'",
                    "remove it; name the affected feature instead",
                )
            )
    return findings


def _host_findings(text: str, internal_domains: Iterable[str], public_hosts: Iterable[str]) -> list[Finding]:
    suffixes = tuple(s.lower().lstrip(".") for s in (*internal_domains, *ALWAYS_INTERNAL_SUFFIXES))
    allowed = {h.lower() for h in public_hosts}
    findings = []
    for match in _HOSTNAME.finditer(text):
        host = match.group().lower()
        if host in allowed:
            continue
        if any(host == s or host.endswith("." + s) for s in suffixes):
            findings.append(
                _finding(
                    "identifier.internal_host",
                    f"contains an internal host name '{host}'",
                    "remove it; customers cannot reach internal hosts",
                )
            )
        elif any(host.endswith("." + d) for d in _AWS_DOMAINS) and not _PUBLIC_AWS_HOST.match(host):
            findings.append(
                _finding(
                    "identifier.aws_endpoint",
                    f"contains an AWS service endpoint '{host}'",
                    "remove it; link to the status page or name the affected feature instead",
                )
            )
    return findings


def find_identifiers(
    text: str, internal_domains: Iterable[str] = (), public_hosts: Iterable[str] = ()
) -> list[Finding]:
    """Internal identifiers in ``text`` (see the module docstring).

    ``public_hosts``: host names the plan itself publishes (status page, support site), never
    flagged even on an AWS domain.
    """
    text = scan_text(text)
    findings = [
        _finding(
            "identifier.arn",
            f"contains an AWS ARN '{match.group()[:40]}…'",
            "describe the affected feature in customer words instead",
        )
        for match in _ARN.finditer(text)
    ]
    scrubbed = _ARN.sub(" ", text)
    findings += [
        _finding(
            "identifier.account_id",
            f"contains what looks like an AWS account id '{match.group()}'",
            "remove the number; customers never need it",
        )
        for match in _ACCOUNT_ID.finditer(scrubbed)
    ]
    findings += [
        _finding(
            "identifier.resource_id",
            f"contains an AWS resource id '{match.group()}'",
            "remove it; name the affected feature instead",
        )
        for match in _RESOURCE_ID.finditer(scrubbed)
    ]
    findings += [
        _finding(
            "identifier.s3_uri",
            f"contains an S3 location '{match.group()[:40]}'",
            "remove it; customers cannot open S3 locations",
        )
        for match in _S3_URI.finditer(scrubbed)
    ]
    findings += [
        _finding(
            "identifier.internal_host",
            f"contains an EC2 host name '{match.group()}'",
            "remove it; customers cannot reach internal hosts",
        )
        for match in _EC2_HOST.finditer(scrubbed)
    ]
    findings += _ip_findings(scrubbed)
    findings += _host_findings(scrubbed, internal_domains, public_hosts)
    return findings


# ---------------------------------------------------------------------------------------------
# Credentials (patterns ported from detect-secrets, see the module docstring)
# ---------------------------------------------------------------------------------------------

_WEB_URL = _Pattern(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
#: (code, what it is, pattern). Order matters only for readability.
_CREDENTIALS: tuple[tuple[str, str, _Pattern], ...] = (
    (
        "credential.aws_access_key_id",
        "an AWS access key id",
        _Pattern(
            r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])"
        ),
    ),
    (
        "credential.slack_token",
        "a Slack token",
        _Pattern(
            r"\bxox(?:a|b|p|o|s|r|e)-(?:\d+-)+[a-z0-9]+|\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", re.IGNORECASE
        ),
    ),
    (
        "credential.slack_webhook",
        "a Slack webhook URL",
        _Pattern(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]+", re.IGNORECASE),
    ),
    (
        "credential.github_token",
        "a GitHub token",
        _Pattern(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"),
    ),
    (
        "credential.private_key",
        "a private key",
        _Pattern(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    (
        "credential.url_password",
        "a user name and password in a web address",
        _Pattern(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s/:@<>\"']+:[^\s/@<>\"']+@", re.IGNORECASE),
    ),
)
_JWT = _Pattern(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
#: ``password=…``, ``api_key: "…"``, ``senha=…``: a secret's name, then ``=`` or ``:``, then a value.
_KEY_VALUE = _Pattern(
    r"(?i)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"client[_-]?secret|credentials?|auth|authorization|private[_-]?key|session|bearer|senha|segredo|chave)"
    r"(?:[_-][a-z0-9]+)*\s*(?:=|:|=>)\s*[\"']?(?:bearer\s+|basic\s+)?([^\s\"',;]{8,})"
)
#: Cheap substring test before the (case-insensitive, slower) key=value pattern runs.
_KEY_WORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
    "session",
    "bearer",
    "senha",
    "segredo",
    "chave",
)
_STANDALONE = _Pattern(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = _Pattern(r"^[0-9a-fA-F]+$")
_AWS_KEY_WORDS = "an AWS secret access key"
_RANDOM_STRING = "a key or token (a long random string)"


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (detect-secrets' measure for random-looking strings)."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def looks_random(value: str) -> bool:
    """Random enough to be a key: hex with entropy >= 3, else >= 3 kinds of character and entropy >= 3.5.

    detect-secrets flags base64 above 4.5 and hex above 3.0 bits per character on long strings;
    our values are short (8+), whose entropy is capped by their length, so the bar is lower but
    requires a mix of character kinds that ordinary words never have.
    """
    if len(value) >= 16 and _HEX.match(value) and any(c.isdigit() for c in value):
        return shannon_entropy(value) >= 3.0
    return (_classes(value) >= 3 and shannon_entropy(value) >= 3.0) or shannon_entropy(value) >= 4.2


def _is_jwt(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        return isinstance(json.loads(decoded.decode("utf-8")), dict)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False


def _is_aws_secret_key(token: str) -> bool:
    """40 base64 characters, mixed case and digits, random: what an AWS secret access key is."""
    return (
        len(token) == 40
        and "_" not in token
        and "-" not in token
        and _classes(token) >= 3
        and shannon_entropy(token) >= 4.0
    )


def _credential(code: str, what: str, value: str) -> Finding:
    shown = f"'{value[:4]}…'" if len(value) > 8 else "(hidden)"
    return Finding(
        code,
        f"contains what looks like {what} {shown}",
        "remove it now and rotate that credential: it may already have been seen",
    )


def find_credentials(text: str) -> list[Finding]:
    """Credentials in ``text`` (see the module docstring). Never echoes the credential.

    Long random strings inside web addresses are not flagged on their own (signed feedback and
    unsubscribe links carry them on purpose); keys, tokens and passwords in them still are.
    """
    text = scan_text(text)
    findings = []
    for code, what, pattern in _CREDENTIALS:
        findings += [_credential(code, what, m.group()) for m in pattern.finditer(text)]
    findings += [
        _credential("credential.jwt", "a JSON Web Token", m.group())
        for m in _JWT.finditer(text)
        if _is_jwt(m.group())
    ]
    lowered = text.lower()
    if any(word in lowered for word in _KEY_WORDS):
        findings += [
            _credential("credential.key_value", "a password or key", m.group(1))
            for m in _KEY_VALUE.finditer(text)
            if looks_random(m.group(1).rstrip(".)"))
        ]
    unlinked = _WEB_URL.sub(" ", text)  # signed links (feedback, unsubscribe) carry random tokens on purpose
    for match in _STANDALONE.finditer(unlinked):
        token = match.group()
        if _is_aws_secret_key(token):
            findings.append(
                _credential("credential.aws_secret_access_key", "an AWS secret access key", token)
            )
        elif not _JWT.fullmatch(token) and looks_random(token) and shannon_entropy(token) >= 4.0:
            findings.append(
                _credential("credential.high_entropy", "a key or token (a long random string)", token)
            )
    return _unique(findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    result = []
    for finding in findings:
        if (finding.code, finding.message) not in seen:
            seen.add((finding.code, finding.message))
            result.append(finding)
    return result


def redact_credentials(text: str) -> str:
    """``text`` with every credential the guard finds replaced by ``[removed: <kind>]`` (for team text)."""
    if not find_credentials(text):
        return text
    result = _redact(text)
    return result if not find_credentials(result) else _redact(text.translate(INVISIBLE))


def _redact(text: str) -> str:
    result = text
    for _code, what, pattern in _CREDENTIALS:
        result = pattern.sub(f"[removed: {what}]", result)
    result = _JWT.sub(lambda m: "[removed: a JSON Web Token]" if _is_jwt(m.group()) else m.group(), result)

    def key_value(match: re.Match[str]) -> str:
        value = match.group(1)
        return (
            match.group().replace(value, "[removed]") if looks_random(value.rstrip(".)")) else match.group()
        )

    def standalone(match: re.Match[str]) -> str:
        token = match.group()
        if _is_aws_secret_key(token) or (looks_random(token) and shannon_entropy(token) >= 4.0):
            return "[removed: a key or token]"
        return token

    result = _KEY_VALUE.sub(key_value, result)
    parts, last = [], 0
    for match in _WEB_URL.finditer(result):
        parts += [_STANDALONE.sub(standalone, result[last : match.start()]), match.group()]
        last = match.end()
    parts.append(_STANDALONE.sub(standalone, result[last:]))
    return "".join(parts)
