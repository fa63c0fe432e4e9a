"""The internet the HTTP channels talk to, on 127.0.0.1: a real HTTP server that records every request.

Slack, Teams and the support desk read their URL from a secret, so the harness writes those secrets
with this sink's URL (``http://127.0.0.1:<port>/slack`` …): plain http is allowed to loopback only.
Mastodon, Bluesky and the outbound webhook take their URL from the plan (``https://mastodon.social``
…); :class:`LoopbackRoute` sends exactly those plan hosts to the sink, keeping the host as the first
path segment so the record still says where the request was meant to go. Nothing else is rerouted,
and the route exists only while the harness runs: the shipped HTTP client is untouched.

The sink answers like the real services do on success (Bluesky's session and record, Mastodon's
status); a path it does not know gets ``404`` — a channel that sends somewhere unexpected fails
visibly, never silently "delivers".
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

#: path prefix -> channel, for requests whose URL the harness wrote into a secret
SECRET_PATHS = {"/slack": "slack", "/teams": "teams", "/support": "support"}


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
        for prefix, channel in SECRET_PATHS.items():
            if path.startswith(prefix + "/") or path == prefix:
                return channel
        host = path.lstrip("/").split("/", 1)[0]
        return self.hosts.get(host)

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
