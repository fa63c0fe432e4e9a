"""Where the event models used to live: each source's Powertools Parser model is now in its own
module of :mod:`outage_comms.intake.sources`. Kept for the names other packages import (the human
API's request model and limits, which the CLI checks before any call); a new source adds nothing here.
"""

from __future__ import annotations

from outage_comms.intake.sources.common import EventDetail, ImpactLevel
from outage_comms.intake.sources.human import (
    ID_LIMIT,
    NOTE_LIMIT,
    REQUEST_ID_LIMIT,
    TITLE_LIMIT,
    HumanEvent,
    HumanRequest,
    human_detail,
    human_note,
)

__all__ = [
    "ID_LIMIT",
    "NOTE_LIMIT",
    "REQUEST_ID_LIMIT",
    "TITLE_LIMIT",
    "EventDetail",
    "HumanEvent",
    "HumanRequest",
    "ImpactLevel",
    "human_detail",
    "human_note",
]
