"""The compose page: a person writes the first message of an incident they open, seeing each channel's
preview (``outage_comms.previews``) in the page HTML it shares with the review page
(``outage_comms.team_pages``)."""
