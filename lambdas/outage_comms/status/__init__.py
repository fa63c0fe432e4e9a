"""The public status site: Statuspage-compatible HTML, JSON API, feeds, in-app banner, dashboard body."""

from outage_comms.status.site import Artefact, SiteOptions, build_site, write_status_artifacts

__all__ = ["Artefact", "SiteOptions", "build_site", "write_status_artifacts"]
