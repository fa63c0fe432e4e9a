"""What ships with Outage Comms besides code (templates, drills, the example plan, cdk.json, constraints.txt):
located by the library (:mod:`outage_comms.shipped`), which the stacks use too; kept importable here."""

from outage_comms.shipped import CHECKOUT_ROOT, SHIPPED_DIR, SHIPPED_NAMES, shipped_path

__all__ = ["CHECKOUT_ROOT", "SHIPPED_DIR", "SHIPPED_NAMES", "shipped_path"]
