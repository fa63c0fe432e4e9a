#!/usr/bin/env python3
"""CDK entry point of this repository: the stacks come from the library (outage_comms_cdk.app).

    npx cdk synth -c plan=plans/example.yaml

A team's own repository has the same few lines (``outage-comms init`` writes them).
"""

from __future__ import annotations

import sys

from outage_comms_cdk.app import (  # noqa: F401 - re-exported for the tests and older imports
    CHANNELS_STACK_NAME,
    CORE_STACK_NAME,
    INTAKE_STACK_NAME,
    STATUS_PUBLISHER_STACK_NAME,
    STATUS_STACK_NAME,
    WORKFLOW_STACK_NAME,
    build_app,
    environment,
    main,
)

if __name__ == "__main__":
    sys.exit(main())
