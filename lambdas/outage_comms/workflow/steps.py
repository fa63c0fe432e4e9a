"""What each state of the incident-comms workflow does. One function per Lambda-backed state.

Every function takes the state's input (a plain dict) and a :class:`Services` bundle (real
adapters in Lambda, fakes in unit tests) and returns a small dict for the state machine; large
data (rendered messages) stays in the workflow table.

The steps live in one module per stage; this module names them all in one place (handlers may
import a stage's module directly, to load only what their step needs):

* :mod:`.step_register`: ``Register incident`` (run by the render function's handler: one cold start
  fewer on the alarm's path, issue 13)
* :mod:`.step_render`: ``Render update`` (the update's words, and who it reaches, decided once)
* :mod:`.step_approval`: ``Wait for approval``
* :mod:`.step_deliver`: ``Notify team first``, the fan-out, ``Record published words``, failures
* :mod:`.step_notice`: ``Wait for next update``, reminders, escalations, "held"
* :mod:`.step_summary`: the post-incident summary and ``Release incident``
"""

from __future__ import annotations

from outage_comms.workflow.services import Notifier, Services
from outage_comms.workflow.step_approval import request_approval
from outage_comms.workflow.step_deliver import (
    ALREADY_DELIVERED,
    FENCED_OUT,
    _deliver,
    _send_once,
    deliver_channel,
    notify_team,
    record_failure,
    record_published,
)
from outage_comms.workflow.step_notice import await_update, notice
from outage_comms.workflow.step_register import IncidentRejectedError, register_incident
from outage_comms.workflow.step_render import render
from outage_comms.workflow.step_summary import (
    draft_summary,
    record_postmortem,
    resolve,
)

__all__ = [
    "ALREADY_DELIVERED",
    "FENCED_OUT",
    "IncidentRejectedError",
    "Notifier",
    "Services",
    "_deliver",
    "_send_once",
    "await_update",
    "deliver_channel",
    "draft_summary",
    "notice",
    "notify_team",
    "record_failure",
    "record_postmortem",
    "record_published",
    "register_incident",
    "render",
    "request_approval",
    "resolve",
]
