"""Customer feedback: "Was this update helpful? Yes / No" in every customer-facing update.

- :mod:`~outage_comms.feedback.links`: signed, compact, expiring links per update, channel and locale;
- :mod:`~outage_comms.feedback.messages`: puts the links into rendered messages (when they fit);
- :mod:`~outage_comms.feedback.store`: counts (atomic), one answer per client, comments; the
  :class:`outage_comms.ports.FeedbackTally` (``DynamoFeedbackStore.counts``);
- :mod:`~outage_comms.feedback.replies`: "Helpful? Reply YES or NO" answered by SMS (two-way SMS);
- :mod:`~outage_comms.feedback.service` and :mod:`~outage_comms.feedback.pages`: the public API's pages;
- :func:`feedback_summary_lines`: the answers in words, for the post-incident summary.

Importing this package pulls in no AWS SDK.
"""

from __future__ import annotations

from outage_comms.feedback.summary import feedback_summary_lines

__all__ = ["feedback_summary_lines"]
