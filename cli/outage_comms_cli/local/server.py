"""The HTTP server of ``outage-comms local``, on 127.0.0.1 only.

``/``                 the team's index: open incidents, links, fire one of the plan's alarms
``/incidents/{id}``   one incident: workflow events, deliveries, its messages
``/inbox/``           every delivered message, newest first (``?channel=``, ``?incident=``); ``/inbox.json``
``/status/…``         the status site as published in the status bucket (HTML, Statuspage JSON, feeds)
``/as``               who this browser is for the IAM-authorized pages (the plan's approvers)
``/api/…``            the incident API; ``/review/…``, ``/feedback/…``, ``/subscribe/…`` the other REST
                      APIs the stacks synthesize, each invoking its real function (:mod:`.apigw`)

Requests whose ``Host`` is not this server (DNS rebinding) or whose ``Origin`` is another site are
refused; the API Gateway routes keep their own checks (CSRF and signed references of the review page).
"""

from __future__ import annotations

import json
import mimetypes
import re
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from outage_comms_cli.local import pages
from outage_comms_cli.local.apigw import ApiResponse, invoke, proxy_event
from outage_comms_cli.local.runtime import INCIDENT_API_HANDLER, LocalDeployment

IDENTITY_COOKIE = "outage_comms_local_as"
MAX_BODY = 1_000_000
_REVIEW_LINK = re.compile(r"/incidents/(?P<incident>inc-[\w-]+)/review/")
HTML = "text/html; charset=utf-8"
FEED_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".json": "application/json"}


def bind(port: int) -> ThreadingHTTPServer:
    """The listening socket first (port 0 picks one), so the base URL is known before the deployment."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    return server


def attach(server: ThreadingHTTPServer, deployment: LocalDeployment) -> None:
    server.deployment = deployment  # type: ignore[attr-defined]


def base_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server_version = "outage-comms-local"
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        return

    @property
    def deployment(self) -> LocalDeployment:
        return self.server.deployment  # type: ignore[attr-defined,no-any-return]

    # -- dispatch --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self._route()
        except BrokenPipeError:
            return
        except Exception as error:  # a page must fail with a page, never take the server down
            self._send(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                pages.message_page("Something went wrong", f"{type(error).__name__}: {error}").encode(),
                HTML,
            )

    def _route(self) -> None:
        port = int(self.server.server_address[1])  # type: ignore[index]
        if self.headers.get("Host", "") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self._send(HTTPStatus.FORBIDDEN, b"wrong Host for this local server\n", "text/plain")
            return
        origin = self.headers.get("Origin")
        same_site = origin in (None, f"http://127.0.0.1:{port}", f"http://localhost:{port}")
        if not same_site and origin != "null":
            self._send(HTTPStatus.FORBIDDEN, b"cross-site request refused\n", "text/plain")
            return
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        method = self.command
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"body too large\n", "text/plain")
            return
        body = self.rfile.read(length) if length else b""
        if not same_site and not self._protected_by_csrf(path):
            # "Origin: null" (a page with no-referrer, a sandboxed frame): only the review and compose
            # pages, whose forms carry a CSRF token and a signed single-use reference, accept it.
            self._send(HTTPStatus.FORBIDDEN, b"cross-site request refused\n", "text/plain")
            return
        if method not in ("GET", "HEAD") and path.startswith("/api/"):
            kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind != "application/json":  # a cross-site form cannot send JSON without a preflight
                self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"send application/json\n", "text/plain")
                return
        page = self._own_page(method, path, query, body)
        if page is not None:
            return
        found = self.deployment.route_for("GET" if method == "HEAD" else method, path)
        if found is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                pages.message_page("Not found", path).encode(),
                HTML,
            )
            return
        route, inner, parameters = found
        self._api(route, inner, parameters, method, query, body)

    def _protected_by_csrf(self, path: str) -> bool:
        found = self.deployment.route_for("POST", path)
        return found is not None and found[0].iam and found[0].handler != INCIDENT_API_HANDLER

    # -- the server's own pages ------------------------------------------------------------------
    def _own_page(self, method: str, path: str, query: str, body: bytes) -> bool | None:
        """Serve one of the server's own pages (True), or None when ``path`` is not one of them."""
        get = method in ("GET", "HEAD")
        if path == "/" and get:
            self.deployment.collect()
            self._html(self._index(parse_qs(query).get("notice", [""])[0]))
        elif path == "/alarms" and method == "POST":
            self._fire_alarm(parse_qs(body.decode("utf-8", "replace")))
        elif path in ("/inbox", "/inbox/") and get:
            self._inbox(parse_qs(query))
        elif path == "/inbox.json" and get:
            self.deployment.collect()
            messages = self.deployment.inbox.messages() if self.deployment.inbox else []
            self._send(
                HTTPStatus.OK,
                json.dumps([m.as_dict() for m in messages], ensure_ascii=False).encode(),
                "application/json",
            )
        elif path == "/as":
            self._who(method, body)
        elif path.startswith("/incidents/") and get and path.count("/") == 2:
            self._incident(path.rsplit("/", 1)[-1])
        elif (path == "/status" or path.startswith("/status/")) and get:
            self._status(path.removeprefix("/status").lstrip("/"))
        else:
            return None
        return True

    def _fire_alarm(self, form: dict[str, list[str]]) -> None:
        result = self.deployment.fire_alarm(form.get("component", [None])[0], form.get("severity", [None])[0])
        notice = f"Alarm {result.get('alarm')} fired ({result.get('path')})"
        if result.get("incident_id"):
            notice += f": incident {result['incident_id']} ({result.get('kind')})"
        elif result.get("rejected"):
            notice += f": {result['rejected']}"
        self._redirect(f"/?notice={quote(notice)}")

    def _inbox(self, query_values: dict[str, list[str]]) -> None:
        deployment = self.deployment
        deployment.collect()
        channel = query_values.get("channel", [None])[0]
        incident = query_values.get("incident", [None])[0]
        inbox = deployment.inbox
        messages = inbox.messages(channel=channel) if inbox else []
        if incident:
            messages = [m for m in messages if m.incident_id == incident]
        channels = sorted({m.channel for m in (inbox.messages() if inbox else [])})
        self._html(
            pages.inbox_page(messages, channels=channels, selected=channel, base_url=deployment.base_url)
        )

    def _who(self, method: str, body: bytes) -> None:
        deployment = self.deployment
        if method != "POST":
            self._html(pages.who_page(deployment.approvers(), self._identity(), deployment.operator_arn()))
            return
        chosen = parse_qs(body.decode("utf-8", "replace")).get("principal", [""])[0]
        if chosen not in {arn for _, arn in deployment.approvers()}:
            self._send(HTTPStatus.BAD_REQUEST, b"not one of the plan's approvers\n", "text/plain")
            return
        self._redirect("/as", cookie=f"{IDENTITY_COOKIE}={quote(chosen)}; Path=/; SameSite=Strict; HttpOnly")

    def _incident(self, incident_id: str) -> None:
        deployment = self.deployment
        try:
            incident = deployment.repository().get(incident_id)
        except Exception:
            self._send(HTTPStatus.NOT_FOUND, pages.message_page("Not found", incident_id).encode(), HTML)
            return
        messages = (
            [m for m in deployment.inbox.messages() if m.incident_id == incident_id]
            if deployment.inbox
            else []
        )
        self._html(pages.incident_page(incident, deployment.activity(incident_id), messages))

    def _index(self, notice: str) -> str:
        deployment = self.deployment
        plan = deployment.plan
        components = [
            (c.id, str(next(iter(c.name.values()), c.id)) if isinstance(c.name, dict) else str(c.name))
            for c in plan.components
            if c.signals.alarm_name_patterns
        ]
        severities = [
            (s.id, f"{s.id}: {next(iter(s.name.values()), s.id) if isinstance(s.name, dict) else s.name}")
            for s in plan.severities
        ]
        links: dict[str, list[str]] = {}
        for message in reversed(deployment.inbox.messages() if deployment.inbox else []):
            for link in message.links:
                match = _REVIEW_LINK.search(link)
                if (
                    match
                    and link.startswith(deployment.base_url)
                    and link not in links.get(match["incident"], [])
                ):
                    links.setdefault(match["incident"], []).append(urlsplit(link).path)
        incidents = deployment.incidents()
        compose: dict[str, str] = {}
        for incident in incidents:
            path = deployment.compose_path(incident) if incident.is_open else None
            if path:
                compose[incident.id] = path
        return pages.index_page(
            incidents=incidents,
            compose_links=compose,
            components=components,
            severities=severities,
            api_url=f"{deployment.base_url}/api",
            identity=self._identity(),
            review_links=links,
            notice=notice,
        )

    def _status(self, key: str) -> None:
        if not key or key.endswith("/"):
            key += "index.html"
        found = self.deployment.status_object(key)
        if found is None and "." not in key.rsplit("/", 1)[-1]:
            found = self.deployment.status_object(key + "/index.html")
            if found is not None:
                self._redirect(f"/status/{key}/")
                return
        if found is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                pages.message_page(
                    "Not on the status site", f"/{key} is not in the status bucket (yet)"
                ).encode(),
                HTML,
            )
            return
        body, content_type = found
        suffix = "." + key.rsplit(".", 1)[-1] if "." in key else ""
        kind = (
            content_type
            or FEED_TYPES.get(suffix)
            or mimetypes.guess_type(key)[0]
            or "application/octet-stream"
        )
        self._send(HTTPStatus.OK, body, kind, extra={"Cache-Control": "no-store"})

    # -- API Gateway routes ----------------------------------------------------------------------
    def _identity(self) -> str:
        approvers = self.deployment.approvers()
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        chosen = cookie.get(IDENTITY_COOKIE)
        from urllib.parse import unquote

        value = unquote(chosen.value) if chosen else ""
        known = {arn for _, arn in approvers}
        if value in known:
            return value
        return approvers[0][1] if approvers else self.deployment.operator_arn()

    def _api(
        self, route: Any, inner: str, parameters: dict[str, str], method: str, query: str, body: bytes
    ) -> None:
        deployment = self.deployment
        if route.handler == INCIDENT_API_HANDLER:
            caller: str | None = deployment.operator_arn()
        elif route.iam:
            caller = self._identity()
        else:
            caller = None
        headers = {
            k.lower(): v for k, v in self.headers.items() if k.lower() not in ("cookie", "authorization")
        }
        event = proxy_event(
            route,
            inner,
            parameters,
            method="GET" if method == "HEAD" else method,
            query=query,
            headers=headers,
            body=body,
            caller_arn=caller,
        )
        if route.function:
            response = invoke(deployment.aws_checked, route, event)
        else:
            result = deployment.handler_in_process(route, event)
            response = ApiResponse(
                int(result.get("statusCode", 502)),
                {str(k): str(v) for k, v in (result.get("headers") or {}).items()},
                str(result.get("body") or "").encode("utf-8"),
            )
        kind = (
            response.headers.pop("Content-Type", None)
            or response.headers.pop("content-type", None)
            or "application/json"
        )
        deployment.pump()
        deployment.collect()
        body = response.body
        if kind.startswith("text/html"):  # links to the other APIs' pages lead here, not to AWS
            body = deployment.localize(body.decode("utf-8", "replace")).encode("utf-8")
        for name in [h for h in response.headers if h.lower() == "location"]:
            response.headers[name] = deployment.localize(response.headers[name])
        self._send(response.status, body, kind, extra=response.headers)

    # -- responses -------------------------------------------------------------------------------
    def _html(self, text: str) -> None:
        self._send(
            HTTPStatus.OK,
            text.encode("utf-8"),
            HTML,
            extra={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; "
                "form-action 'self'; frame-ancestors 'none'; img-src 'self' data:",
                "Cache-Control": "no-store",
            },
        )

    def _redirect(self, location: str, *, cookie: str | None = None) -> None:
        extra = {"Location": location}
        if cookie:
            extra["Set-Cookie"] = cookie
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", extra=extra)

    def _send(
        self, status: int, body: bytes, content_type: str, *, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(int(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            if key.lower() in ("content-length", "content-type", "connection", "transfer-encoding"):
                continue
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
