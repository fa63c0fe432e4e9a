"""One synthesized app (cdk.out) for every drill test of the session: synthesis takes ~40 s."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REUSE_CDK_OUT_ENV = "OUTAGE_COMMS_EMBEDDED_CDK_OUT"


@pytest.fixture(scope="session")
def drill_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$OUTAGE_COMMS_EMBEDDED_CDK_OUT`` when set (a ``synthesize_app`` output), else synthesized once."""
    reuse = os.environ.get(REUSE_CDK_OUT_ENV)
    if reuse:
        return Path(reuse)
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from outage_comms_embedded import synthesize_app

    return synthesize_app(tmp_path_factory.mktemp("drill-cdk.out"), ROOT / "plans" / "example.yaml")
