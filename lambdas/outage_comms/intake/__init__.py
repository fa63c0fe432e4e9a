"""Intake: every trigger becomes one well-formed incident, exactly once.

``normalise.to_signal`` turns any raw event into a ``Signal`` or a ``Rejection``;
``coalesce.decide`` turns a signal and the open incidents into a ``Decision``;
``triage.triage`` does both against no open incidents, for ``outage-comms triage``.
All pure: no AWS calls, no boto3.
"""
