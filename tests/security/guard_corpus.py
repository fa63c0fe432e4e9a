"""Shared attack corpora for the guard and the per-channel escaping (unit and security tests).

``LEAKS``: (note text, the secret part that must never reach a customer, kind). Every value here is
an example or made-up value in the shape of a real one (AWS's documented example key, RFC 5737 /
RFC 1918 addresses), never a live credential.
``ORDINARY``: everyday customer sentences in English and Brazilian Portuguese that must pass.
``INJECTIONS``: notes that try to ping, link in disguise or smuggle markup into chat and social posts.
"""

from __future__ import annotations

#: (note, what must not be published, "identifier" | "credential")
LEAKS: list[tuple[str, str, str]] = [
    ("Key AKIAIOSFODNN7EXAMPLE was rotated", "AKIAIOSFODNN7EXAMPLE", "credential"),
    ("Session key ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A", "credential"),
    (
        "Secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "credential",
    ),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG", "credential"),
    ("Instance i-0abcd1234ef567890 failed", "i-0abcd1234ef567890", "identifier"),
    ("Instance i-1a2b3c4d rebooted", "i-1a2b3c4d", "identifier"),
    ("Rule sg-0123456789abcdef0 blocks traffic", "sg-0123456789abcdef0", "identifier"),
    ("Subnet subnet-0a1b2c3d4e5f67890 is full", "subnet-0a1b2c3d4e5f67890", "identifier"),
    ("Disk vol-049df61146c4d7901 is degraded", "vol-049df61146c4d7901", "identifier"),
    ("Peering on vpc-1a2b3c4d broke", "vpc-1a2b3c4d", "identifier"),
    ("Interface eni-0e1f2a3b4c5d6e7f8 detached", "eni-0e1f2a3b4c5d6e7f8", "identifier"),
    ("Image ami-0abcdef1234567890 was bad", "ami-0abcdef1234567890", "identifier"),
    ("Restored snap-0123456789abcdef0", "snap-0123456789abcdef0", "identifier"),
    ("Backups in s3://nimbus-prod-backups/notes/2026/ are fine", "s3://nimbus-prod-backups", "identifier"),
    (
        "internal-prod-web-123456789.us-east-1.elb.amazonaws.com is down",
        "elb.amazonaws.com",
        "identifier",
    ),
    ("prod-web-alb-1234567890.us-east-1.elb.amazonaws.com answers 503", "elb.amazonaws.com", "identifier"),
    (
        "notes-db.cluster-c9akciq32.us-east-1.rds.amazonaws.com fails over",
        "rds.amazonaws.com",
        "identifier",
    ),
    ("sessions.abc123.ng.0001.use1.cache.amazonaws.com timed out", "cache.amazonaws.com", "identifier"),
    (
        "Private API vpce-0a1b2c3d4e5f67890-abcd1234.execute-api.us-east-1.vpce.amazonaws.com",
        "vpce.amazonaws.com",
        "identifier",
    ),
    ("Queue at sqs.us-east-1.amazonaws.com is backed up", "sqs.us-east-1.amazonaws.com", "identifier"),
    ("Host ip-10-0-3-17 crashed", "ip-10-0-3-17", "identifier"),
    ("ip-172-31-5-9.ec2.internal is unhealthy", "ip-172-31-5-9", "identifier"),
    ("Account 1234-5678-9012 is affected", "1234-5678-9012", "identifier"),
    ("Account 123456789012 is affected", "123456789012", "identifier"),
    ("See arn:aws:rds:us-east-1:123456789012:db:prod-notes", "arn:aws:rds", "identifier"),
    ("Server 10.0.3.17 is down", "10.0.3.17", "identifier"),
    ("Database at 192.168.1.20:5432 is slow", "192.168.1.20", "identifier"),
    ("Route fd00::1 was withdrawn", "fd00::1", "identifier"),
    ("Node fe80::1ff:fe23:4567:890a lost its link", "fe80::1ff:fe23:4567:890a", "identifier"),
    ("Public address 203.0.113.9 is blocked", "203.0.113.9", "identifier"),
    ("db1.corp.nimbusnotes.example is slow", "corp.nimbusnotes.example", "identifier"),
    ("Connect with postgres://admin:hunter2pass@db.example.com/notes", "hunter2pass", "credential"),
    ("Mirror https://deploy:s3cr3tT0ken@git.example.com/repo", "s3cr3tT0ken", "credential"),
    (
        "Token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N",
        "credential",
    ),
    ("Reset with password=Xk9#mP2vQz", "Xk9#mP2vQz", "credential"),
    ("api_key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "credential"),
    ("ghp_1234567890abcdefghijABCDEFGHIJ123456 was revoked", "ghp_1234567890abcdefghij", "credential"),
    (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF leaked",
        "github_pat_11ABCDEFG",
        "credential",
    ),
    ("Bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx posts", "xoxb-1234567890", "credential"),
    (
        "Hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "hooks.slack.com/services/T00000000",
        "credential",
    ),
    ("-----BEGIN RSA PRIVATE KEY----- was in the log", "PRIVATE KEY", "credential"),
    ("senha=Tr0ub4dor&3x", "Tr0ub4dor", "credential"),
    ("client_secret: 'aB3dE5gH7jK9mN1pQ3sT'", "aB3dE5gH7jK9mN1pQ3sT", "credential"),
    (
        "Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
        "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
        "credential",
    ),
    (
        "The key is Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5MGFiY2RlZg",
        "Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5MGFiY2RlZg",
        "credential",
    ),
    ("Full-width １０.０.３.１７ is down", "１０.０.３.１７", "identifier"),
    ("Hidden AKIA\u2060IOSFODNN7EXAMPLE key", "IOSFODNN7EXAMPLE", "credential"),
    ("Slack-escaped 10.0.0.1&lt;br&gt; host", "10.0.0.1", "identifier"),
]

#: Everyday customer sentences (en and pt-BR): the guard must not flag any of them.
ORDINARY: list[str] = [
    "Next update at 14:35 UTC on 27 Nov.",
    "Some customers cannot open their notes. We're looking into it now.",
    "We have moved traffic to healthy servers and pages are loading again for most people.",
    "The mobile apps still work if you need your notes now.",
    "If you were asked for a password, please reset it from Settings.",
    "Your password: unchanged. No action is needed.",
    "Tokens you created before 2 PM still work.",
    "Please sign in again; your session expired.",
    "Call +1 415 555 0100 or read version 2.4.1 notes.",
    "Visit https://status.nimbusnotes.example/incidents/inc-1 for details.",
    "Order number A-2026-1127 is not affected.",
    "Meeting ID 123 456 7890.",
    "We expect a fix by 16:00 UTC.",
    "A settings change made our storage system refuse new connections.",
    "Settings changes now roll out to a small group of servers first.",
    "Write to support@nimbusnotes.example if you need help.",
    "Use the API key you already have; nothing changes.",
    "Sign-in with single sign-on (SSO) is working again.",
    "Files uploaded between 10:05 and 10:40 may show as pending.",
    "Uploads larger than 2 GB may fail.",
    "Thanks for your patience - we're sorry for the trouble.",
    "Error code E-4021 means the upload did not finish.",
    "Internationalization-related display issues are fixed.",
    "Version 10.2.3 of the app fixes this.",
    "Alguns clientes não conseguem abrir as notas.",
    "Já direcionamos o acesso para servidores saudáveis e as páginas voltaram a abrir para a maioria.",
    "Se precisar das suas notas agora, os aplicativos para celular continuam funcionando.",
    "Próxima atualização até 27/11 às 11h35 (horário de Brasília).",
    "Esperamos resolver até as 13h (horário de Brasília).",
    "Sua senha não foi alterada. Nenhuma ação é necessária.",
    "Senha: a mesma de sempre. Chave de acesso: não mudou.",
    "Pedimos desculpas pelo transtorno.",
    "Desfizemos a mudança e o armazenamento voltou a funcionar em 40 minutos.",
    "Ligue para 0800 123 4567 ou (11) 91234-5678.",
    "O CNPJ 12.345.678/0001-90 não é afetado.",
    "Pagamentos via Pix estão lentos; cartões funcionam normalmente.",
    "Acesse https://help.nimbusnotes.example para mais detalhes.",
    "Agora, mudanças de configuração chegam primeiro a um pequeno grupo de servidores.",
    "40 respostas: 31 sim, 9 não.",
    "Os arquivos enviados entre 10h05 e 10h40 podem aparecer como pendentes.",
]

#: Notes that try to turn a chat or social post into something the team did not write.
INJECTIONS: list[str] = [
    "<!channel> everything is down",
    "<!here|here> look",
    "<!everyone> panic",
    "<!subteam^S012ABC|@oncall> wake up",
    "<@U024BE7LH> did this",
    "<#C024BE7LH|general> see",
    "Click <https://evil.example/login|our status page> to sign in again",
    "@here the site is back",
    "@channel please read",
    "Read [our status page](https://evil.example/phish) now",
    "![logo](https://evil.example/pixel.png)",
    "[status page][1]\n\n[1]: https://evil.example/",
    "Contact @admin@evil.example for a refund",
    "Follow @nimbus and #outage for news",
    "{{DATE(2017-02-14T06:08:39Z, SHORT)}} restored",
    "[Yes](https://evil.example/y) · [No](https://evil.example/n)",
    "Split [Click here",
    "A & B < C > D",
    "</script><script>alert(1)</script>",
    '{"text": "x", "blocks": []}',
    "*bold* _it_ ~strike~ `code` > quote",
    "<at>Dana</at> please approve",
]


# ---------------------------------------------------------------------------------------------
# Oracles: what in a payload a platform would make live (a mention, a disguised link, markup)
# ---------------------------------------------------------------------------------------------

import json  # noqa: E402
import re  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

_SLACK_LIVE = re.compile(r"<|>|(?<![\w/=.+-])@(?:here|channel|everyone)\b", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\]\s*[(\[:]|\{\{")
_WEB_URL = re.compile(r"https?://\S+")
_MASTODON_MENTION = re.compile(r"(?<![=/\w])@[a-z0-9_]", re.IGNORECASE)
_MASTODON_HASHTAG = re.compile(r"(?<![=/\w)])#[^\W\d_]")


def slack_violations(payload: dict[str, Any]) -> list[str]:
    """Live ``<…>`` sequences, stray ``<``/``>`` or broadcast mentions in Slack's mrkdwn texts."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        if block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return [m.group() for text in texts for m in _SLACK_LIVE.finditer(text)]


def teams_violations(message: dict[str, Any]) -> list[str]:
    """Markdown links or card functions in the Adaptive Card's text."""
    card = message["attachments"][0]["content"]
    texts = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    texts += [f["value"] for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]]
    return [m.group() for text in texts for m in _MARKDOWN_LINK.finditer(text)]


def chatbot_violations(document: dict[str, Any]) -> list[str]:
    """Chatbot's client-markdown shows in Slack: both Slack's and Markdown's live sequences."""
    text = document["content"]["title"] + "\n" + document["content"]["description"]
    live = re.compile(r"<[!@#a-z]|(?<![\w/=.+-])@(?:here|channel|everyone)\b", re.IGNORECASE)
    return [m.group() for m in live.finditer(text)] + [m.group() for m in _MARKDOWN_LINK.finditer(text)]


def mastodon_violations(status: str) -> list[str]:
    """What Mastodon would turn into a mention (a notification) or a hashtag."""
    text = _WEB_URL.sub(" ", status)
    return [m.group() for m in _MASTODON_MENTION.finditer(text)] + [
        m.group() for m in _MASTODON_HASHTAG.finditer(text)
    ]


def bluesky_violations(record: dict[str, Any], own_hosts: set[str]) -> list[str]:
    """Link facets whose words differ from their target, unless Outage Comms put them there
    (its own hosts: the feedback words) or they are the app's short form of the address."""
    from outage_comms.social_text import short_url

    text = record["text"].encode("utf-8")
    wrong = []
    for facet in record.get("facets", []):
        shown = text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        for feature in facet["features"]:
            uri = feature.get("uri", "")
            host = (urlsplit(uri).hostname or "").lower()
            if feature["$type"] != "app.bsky.richtext.facet#link":
                wrong.append(f"{feature['$type']} over {shown!r}")
            elif shown not in (uri, short_url(uri)) and host not in own_hosts:
                wrong.append(f"{shown!r} -> {uri}")
    return wrong


def webhook_violations(raw: bytes, sent_fields: dict[str, dict[str, str]]) -> list[str]:
    """The signed webhook body must be valid JSON that gives back exactly the words sent."""
    try:
        body = json.loads(raw)
    except ValueError as error:
        return [f"not JSON: {error}"]
    got = {loc: {"name": v["name"], "body": v["body"]} for loc, v in body["incident"]["localized"].items()}
    want = {loc: {"name": f.get("title", ""), "body": f.get("body", "")} for loc, f in sent_fields.items()}
    return [] if got == want else ["the words changed on the way"]
