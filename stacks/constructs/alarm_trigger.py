"""Door 1's filters, kept under their old names: the alarm rule is now declared by the ``alarm`` intake
source (:mod:`outage_comms.intake.sources.alarm`) and built with every other source's rule by
:func:`outage_comms_cdk.constructs.intake.source_rules`."""

from __future__ import annotations

from outage_comms.intake.sources.alarm import alarm_detail_pattern, alarm_name_filter

__all__ = ["alarm_detail_pattern", "alarm_name_filter"]
