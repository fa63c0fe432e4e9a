"""Moved to :mod:`outage_comms.previews` (below the review and compose pages); kept until
``workflow/review.py`` imports it from there (then deleted)."""

from outage_comms.previews import ChannelPreview, LocalePreview, channel_previews

__all__ = ["ChannelPreview", "LocalePreview", "channel_previews"]
