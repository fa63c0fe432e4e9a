"""Lint: a template sentence that a sample note repeats: the rule lives in the library
(:mod:`outage_comms.plan_lint.sentences`, which ``cdk synth``'s lint gate runs too); kept importable here."""

from outage_comms.plan_lint.sentences import CODE, repeat_findings, sample_notes

__all__ = ["CODE", "repeat_findings", "sample_notes"]
