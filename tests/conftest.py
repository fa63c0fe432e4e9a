"""Process-wide test settings, applied before any test module imports Lambda code.

Powertools' Metrics singleton (outage_comms.observability) reads its namespace from the
environment once, when first imported. Whichever test happens to import it first on an xdist
worker would otherwise decide for every later test on that worker; a default here makes the
outcome independent of test order.
"""

from __future__ import annotations

import os

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "OutageCommsTest")
