"""The internet the HTTP channels talk to, on 127.0.0.1: a real HTTP server that records every request.

What each channel's secret holds here comes from its registry spec (``ChannelSpec.local``), so a
channel registered anywhere (even by a test alone) gets its secrets without a line in this package:
:func:`channel_secrets` and :func:`drill_secret`. A channel that reads its URL from a secret (Slack,
Teams, the support desk) gets this sink's URL, ``http://127.0.0.1:<port>/<channel>/…``: plain http
is allowed to loopback only, and the first path segment says which channel it was. A channel that
takes its URL from the plan (Mastodon, Bluesky, the outbound webhook: ``https://mastodon.social`` …)
names those settings fields in ``local.routes``; :class:`LoopbackRoute` sends exactly those plan hosts
to the sink, keeping the host as the first path segment so the record still says where the request
was meant to go. Nothing else is rerouted,
and the route exists only while the harness runs: the shipped HTTP client is untouched.

The sink answers like the real services do on success (Bluesky's session and record, Mastodon's
status); a path it does not know gets ``404`` — a channel that sends somewhere unexpected fails
visibly, never silently "delivers".
"""

from __future__ import annotations

import json
import secrets as random
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def _registered(name: str) -> bool:
    from outage_comms.channel_specs import registry

    return registry.is_registered(name)


def _fill(template: Mapping[str, str], sink: str) -> dict[str, str]:
    return {key: value.format(sink=sink, token=random.token_urlsafe(24)) for key, value in template.items()}


def channel_secrets(plan_channels: Mapping[str, Any], sink: ChannelSink) -> dict[str, dict[str, str]]:
    """Secret name -> value, as an operator would store them, for every enabled channel of the plan's
    ``channels`` section (plain data) whose spec has a ``local`` target; routes its plan hosts to the sink.
    """
    from outage_comms.channel_specs import registry

    values: dict[str, dict[str, str]] = {}
    for name, settings in plan_channels.items():
        enabled = isinstance(settings, dict) and settings.get("enabled", True)
        if not enabled or not registry.is_registered(name) or registry.spec(name).local is None:
            continue
        spec = registry.spec(name)
        local = spec.local
        assert local is not None
        defaults = registry.settings_model(name).model_fields
        for field_name in local.routes:
            url = settings.get(field_name) or defaults[field_name].default
            if url:
                sink.route_host(str(url), name)
        for field_name in spec.secret_fields:
            if settings.get(field_name):
                values[str(settings[field_name])] = _fill(local.secret, sink.url)
    return values


def drill_secret(channel: str, sink: ChannelSink) -> dict[str, str] | None:
    """The value of ``channel``'s drill target secret (a test target on the sink), None if it has none."""
    from outage_comms.channel_specs import registry

    local = registry.spec(channel).local if registry.is_registered(channel) else None
    if local is None or not local.drill_secret:
        return None
    value = _fill(local.drill_secret, sink.url)
    for key in ("instance_url", "url"):
        if key in value and not value[key].startswith(sink.url):
            sink.route_host(value[key], channel)
    return value


@dataclass(frozen=True)
class SinkRequest:
    channel: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ChannelSink:
    """Start with :meth:`start`, stop with :meth:`stop`; ``requests`` holds what arrived, in order."""

    def __init__(self) -> None:
        self.requests: list[SinkRequest] = []
        #: plan host (``mastodon.social``) -> channel, filled by :meth:`route_host`
        self.hosts: dict[str, str] = {}
        #: channel -> HTTP status the sink answers with instead of success (drills inject outages)
        self.failing: dict[str, int] = {}
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = sink._answer(self.command, self.path, body, dict(self.headers.items()))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="channel-sink", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route_host(self, url: str, channel: str) -> None:
        host = urlsplit(url).hostname
        if host:
            self.hosts[host] = channel

    def by_channel(self) -> dict[str, list[SinkRequest]]:
        grouped: dict[str, list[SinkRequest]] = {}
        with self._lock:
            for request in self.requests:
                grouped.setdefault(request.channel, []).append(request)
        return grouped

    def _channel_of(self, path: str) -> str | None:
        """``/<channel>/…`` (a URL from a secret) names a registered channel; ``/<host>/…`` a routed host."""
        first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        if first in self.hosts:
            return self.hosts[first]
        return first if _registered(first) else None

    def _answer(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        channel = self._channel_of(path)
        if channel is None:
            return 404, {"error": f"the embedded sink does not serve {path}"}
        with self._lock:
            self.requests.append(
                SinkRequest(channel, method, path, {k.lower(): v for k, v in headers.items()}, body)
            )
            number = len(self.requests)
        if channel in self.failing:
            return self.failing[channel], {"error": f"{channel} is down (injected by the drill)"}
        if path.endswith("/xrpc/com.atproto.server.createSession"):
            return 200, {"accessJwt": f"embedded-jwt-{number}", "did": "did:plc:embeddeddrill"}
        if path.endswith("/xrpc/com.atproto.repo.createRecord"):
            return 200, {
                "uri": f"at://did:plc:embeddeddrill/app.bsky.feed.post/{number}",
                "cid": f"c{number}",
            }
        if path.endswith("/api/v1/statuses"):
            return 200, {"id": str(number), "url": f"{self.url}{path}/{number}"}
        return 200, {"ok": True}


class LoopbackRoute:
    """While installed, requests the shipped HTTP client makes to the sink's plan hosts go to the sink."""

    def __init__(self, sink: ChannelSink) -> None:
        self._sink = sink
        self._original: Any = None

    def install(self) -> None:
        from outage_comms.channels import http

        original = http._OPENER
        sink = self._sink

        class Rerouting:
            def open(self, request: urllib.request.Request, timeout: float | None = None) -> Any:
                parts = urlsplit(request.full_url)
                if parts.hostname in sink.hosts:
                    rerouted = f"{sink.url}/{parts.hostname}{parts.path}" + (
                        f"?{parts.query}" if parts.query else ""
                    )
                    request = urllib.request.Request(  # noqa: S310 (the sink's http://127.0.0.1 URL)
                        rerouted,
                        data=request.data,
                        method=request.get_method(),
                        headers=dict(request.headers),
                    )
                return original.open(request, timeout=timeout)

        self._original = original
        http._OPENER = Rerouting()  # type: ignore[assignment]

    def uninstall(self) -> None:
        from outage_comms.channels import http

        if self._original is not None:
            http._OPENER = self._original
            self._original = None
