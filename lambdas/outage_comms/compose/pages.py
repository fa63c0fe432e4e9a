"""Moved to :mod:`outage_comms.team_pages` (below the review and compose pages); kept until
``workflow/review.py`` imports it from there (then deleted)."""

from outage_comms.team_pages import environment, render_page

__all__ = ["environment", "render_page"]
