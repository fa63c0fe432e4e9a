"""What ships with Outage Comms besides code: templates, drills, the example plan, cdk.json, constraints.txt.

In the wheel they are package data under ``outage_comms_cli/shipped/`` (pyproject.toml maps the folders,
setup.py copies the two root files), a sibling of this package in site-packages. In a checkout (editable
install) they are the repository's own top-level files and folders, which stay the single copy in git.

A library module, so the stacks (``cdk.json``, ``constraints.txt`` for the asset) and the CLI (``init``, the
drills) find them the same way without the stacks importing the CLI; it only computes paths (no import of
the CLI package), as :data:`outage_comms.rendering.DEFAULT_TEMPLATES_DIR` does for the templates.
"""

from __future__ import annotations

from pathlib import Path

#: The wheel's copy: ``site-packages/outage_comms_cli/shipped`` beside ``site-packages/outage_comms``.
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "outage_comms_cli" / "shipped"
#: The repository, when running from a checkout (``lambdas/outage_comms/shipped.py``).
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]
#: Names that ship: folders (templates, drills, plans) and the project files init and synth read.
SHIPPED_NAMES = ("templates", "drills", "plans", "cdk.json", "constraints.txt")


def shipped_path(name: str) -> Path:
    """The installed copy of ``name`` (one of :data:`SHIPPED_NAMES`), else the checkout's."""
    if name not in SHIPPED_NAMES:
        raise ValueError(f"'{name}' does not ship; one of {SHIPPED_NAMES}")
    for candidate in (SHIPPED_DIR / name, CHECKOUT_ROOT / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"{name} is not in this installation ({SHIPPED_DIR}); reinstall outage-comms from a complete wheel"
    )
