"""A seeded generator of intake-queue bodies: documented events bent out of shape, and junk.

Shared by ``test_intake_fuzz.py`` (regressions for the shapes that once dead-lettered without a
reason) and ``tests/security/test_intake.py`` (10,000 at full scale). Deterministic per seed, so
a failing case can be regenerated from its index.
"""

from __future__ import annotations

import copy
import json
import random
import re
import string
from collections.abc import Iterator
from typing import Any

from intake_harness import EVENTS, load_event

NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))

#: Strings that have broken text handling somewhere: controls, escapes, bidi, noncharacters,
#: surrogates (JSON ``\\ud800`` decodes to a lone one), huge and odd dates.
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "a\ufffeb",
    "\uffff",
    "\ud800",
    "x\udfff",
    "\u202egnp.exe",
    "\u2028",
    "\x85",
    "e\u0301",
    "💥" * 40,
    "component:sync",
    "component:nope",
    "severity:sev1",
    "severity:sev9",
    "ALARM",
    "OK",
    "RESOLVED",
    "Resolved",
    "closed",
    "open",
    "upcoming",
    "inc-20261127-1405-abcdef",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-27T14:05:00+14:00",
    "1970-01-01T00:00:00Z",
    "not a date",
    "arn:aws:ssm-incidents::123456789012:incident-record/plan/abc",
    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:sync-latency-high",
]
NUMBERS: list[Any] = [0, -1, 1, 5, 6, 2**63, -(2**63), 10**400, 1e308, -0.0, 3.5, True, False]


def _random_string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(NASTY_STRINGS)
    if roll < 0.45:
        return rng.choice(NASTY_STRINGS) * rng.choice([10, 1_000, 8_000])
    if roll < 0.75:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
    return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 12)))


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice([None, _random_string(rng), rng.choice(NUMBERS), rng.choice(NASTY_STRINGS)])
    if roll < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.72:
        return f"{_DEEP}{rng.choice([50, 500, 5_000])}"  # nested arrays, spliced in as text by _dumps
    return {_random_string(rng)[:20]: _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _mutate(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        where = rng.choice(_paths(event)[1:] or [("id",)])
        parent: Any = event
        try:
            for step in where[:-1]:
                parent = parent[step]
            if rng.random() < 0.1 and isinstance(parent, dict):
                parent.pop(where[-1], None)
            else:
                parent[where[-1]] = _random_json(rng) if rng.random() < 0.5 else _random_string(rng)
        except (KeyError, IndexError, TypeError):
            continue
    return event


_DEEP = "__deep_nesting__"
_DEEP_MARK = re.compile(f'"{_DEEP}(\\d+)"')


def _dumps(value: Any) -> str:
    text = json.dumps(value)
    return _DEEP_MARK.sub(lambda m: "[" * int(m.group(1)) + '"deep"' + "]" * int(m.group(1)), text)


#: The largest message SQS (and EventBridge) delivers: bigger bodies never reach intake.
MAX_BODY_BYTES = 256 * 1024


def fuzz_body(rng: random.Random, index: int) -> str:
    """One queue message body that fits SQS. Most are a fixture with one to three fields replaced."""
    while True:
        body = _any_body(rng, index)
        if len(body.encode("utf-8", "surrogatepass")) <= MAX_BODY_BYTES:
            return body


def _any_body(rng: random.Random, index: int) -> str:
    kind = rng.random()
    if kind < 0.08:
        return _random_string(rng)
    if kind < 0.16:
        return _dumps(_random_json(rng))
    event = copy.deepcopy(load_event(rng.choice(NAMES)))
    if isinstance(event.get("id"), str):
        event["id"] = f"fuzz-{index}-{event['id']}"
    if isinstance(event.get("request_id"), str):
        event["request_id"] = f"fuzz-{index}"
    return _dumps(_mutate(rng, event))


def fuzz_bodies(count: int, *, seed: int = 11) -> Iterator[tuple[int, str]]:
    rng = random.Random(seed)
    for index in range(count):
        yield index, fuzz_body(rng, index)
