"""Prune ``.build/assets/``: drop the cached function assets the current synth does not reference.

Every function asset is cached in ``.build/assets/<fingerprint[:24]>/`` (``stacks/lambda_asset.py``) and
nothing ever removed one, so each code or plan change left a stale directory behind (gigabytes).

    .venv/bin/python scripts/prune_assets.py                      # after `make synth` (cdk.out, example plan)
    .venv/bin/python scripts/prune_assets.py --dry-run            # only say what would go
    .venv/bin/python scripts/prune_assets.py --plan plans/x.yaml --cdk-out cdk.out --keep-hours 0

What the current synth references is computed, not guessed: the handler of every
``AWS::Lambda::Function`` in ``<cdk-out>/*.template.json``, fingerprinted with the plan and templates the
synth used (``lambda_asset.asset_fingerprint``, the same call ``lambda_code`` makes). Safety:

- if any referenced directory is missing, the fingerprints do not match what the synth built (another
  plan, a changed tree): nothing is removed;
- a directory changed within ``--keep-hours`` (default 1) stays: another process (``pytest -n``, a drill
  with its own plan) may be building or copying it right now (other plans' assets older than that go:
  the next synth of that plan rebuilds them);
- only directories named like a fingerprint or a build's ``.tmp-`` staging folder are touched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
FINGERPRINT_DIR = re.compile(r"^(?:[0-9a-f]{24}|\.tmp-.+)$")


@dataclass
class Pruning:
    referenced: set[str]
    missing: list[str] = field(default_factory=list)
    kept_recent: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def handlers_in(cdk_out: Path) -> list[str]:
    """The handler of every Lambda function in the synthesized templates (``handlers.x.handler``)."""
    found: set[str] = set()
    for path in sorted(cdk_out.glob("*.template.json")):
        resources = json.loads(path.read_text(encoding="utf-8")).get("Resources", {})
        for resource in resources.values():
            handler = resource.get("Properties", {}).get("Handler")
            if resource.get("Type") == "AWS::Lambda::Function" and isinstance(handler, str):
                found.add(handler)
    return sorted(found)


def referenced_dirs(plan_path: Path, handlers: Iterable[str], templates_dir: Path | None = None) -> set[str]:
    """``.build/assets/`` directory names of ``handlers``' assets, as ``lambda_code`` fingerprints them."""
    from outage_comms.plan import load_plan
    from outage_comms.templates_location import templates_dir_for
    from outage_comms_cdk.lambda_asset import asset_fingerprint, vendored_requirements

    plan = load_plan(plan_path)
    templates = templates_dir or templates_dir_for(plan_path, plan.templates)
    requirements = vendored_requirements()
    return {asset_fingerprint(plan, requirements, templates, handler=handler)[:24] for handler in handlers}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def prune(assets: Path, referenced: set[str], *, keep_seconds: float, dry_run: bool = False) -> Pruning:
    """Remove every cached asset under ``assets`` that is not referenced and not changed recently."""
    result = Pruning(referenced=referenced)
    present = {p.name for p in assets.iterdir()} if assets.is_dir() else set()
    result.missing = sorted(referenced - present)
    if result.missing:  # the fingerprints are not the synth's: removing anything could be wrong
        return result
    now = time.time()
    for path in sorted(assets.iterdir()):
        if path.name in referenced or not path.is_dir() or not FINGERPRINT_DIR.match(path.name):
            continue
        if now - path.stat().st_mtime < keep_seconds:
            result.kept_recent.append(path.name)
            continue
        result.freed_bytes += _size(path)
        result.removed.append(path.name)
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, default=Path("plans/example.yaml"))
    parser.add_argument("--templates", type=Path, default=None, help="the plan's templates folder")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--assets", type=Path, default=Path(".build/assets"))
    parser.add_argument("--keep-hours", type=float, default=1.0)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    handlers = handlers_in(args.cdk_out)
    if not handlers:
        print(f"prune-assets: no Lambda functions in {args.cdk_out}/*.template.json: run `make synth` first")
        return 1
    try:
        referenced = referenced_dirs(args.plan, handlers, args.templates)
    except ValueError as error:  # e.g. a handler of that synth no longer exists in the tree
        print(f"prune-assets: cannot fingerprint the assets of {args.cdk_out} ({error}): nothing removed")
        return 1
    result = prune(args.assets, referenced, keep_seconds=args.keep_hours * 3600, dry_run=args.dry_run)
    if result.missing:
        print(
            f"prune-assets: {len(result.missing)} of the {len(referenced)} assets of {args.cdk_out} are "
            f"not in {args.assets} ({', '.join(result.missing[:3])}...): not the plan/tree it was "
            "synthesized with? Nothing removed."
        )
        return 1
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"prune-assets: {len(handlers)} handlers -> {len(referenced)} assets referenced; {verb} "
        f"{len(result.removed)} stale ({result.freed_bytes / 1e6:,.0f} MB); kept {len(result.kept_recent)} "
        f"changed in the last {args.keep_hours:g} h"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
