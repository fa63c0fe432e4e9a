"""Locale word files and CLDR locales: the library's checks (:mod:`outage_comms.plan_lint.locales`)."""

from outage_comms.plan_lint.locales import SUBSCRIPTION_CHANNELS, locale_findings, unknown_locales

__all__ = ["SUBSCRIPTION_CHANNELS", "locale_findings", "unknown_locales"]
