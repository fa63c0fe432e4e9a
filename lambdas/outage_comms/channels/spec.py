"""Moved to :mod:`outage_comms.channel_specs.spec` (a re-export until the last importer moves)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillKind, DrillSpec, LocalTarget, Reach

__all__ = ["ChannelSpec", "DrillKind", "DrillSpec", "LocalTarget", "Reach"]
