"""The public status site: Statuspage-compatible HTML, JSON API, feeds, in-app banner, dashboard body."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outage_comms.status.site import Artefact, SiteOptions, build_site, write_status_artifacts

__all__ = ["Artefact", "SiteOptions", "build_site", "write_status_artifacts"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing outage_comms.status.model must not load the site builder (Jinja2, feeds,
    # lxml), or every function that reads a status would import, and ship, the publisher's libraries.
    if name in __all__:
        from outage_comms.status import site

        return getattr(site, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
