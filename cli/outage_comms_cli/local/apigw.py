"""API Gateway on 127.0.0.1: the synthesized REST APIs' routes, each invoking its real Lambda function.

Routes are read from the deployed templates (``AWS::ApiGateway::Resource`` path parts and
``AWS::ApiGateway::Method`` Lambda proxy integrations), so a route a stack adds (the compose page,
a read-only list) is served as soon as it is synthesized; nothing is hand-listed here. A request
becomes the REST API proxy event API Gateway would send, with the caller's identity in
``requestContext.identity`` the way IAM authorization reports it, and the function is invoked
through the embedded Lambda service (the harness runs the handler the template names).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from outage_comms_embedded import EmbeddedAws


@dataclass(frozen=True)
class Route:
    """One method of one deployed REST API."""

    api: str  # the RestApi's Name, e.g. outage-comms-review
    api_id: str  # its physical id (the execute-api host's first label)
    method: str
    resource: str  # /incidents/{incident_id}/review/{reference}
    function: str  # the physical function name
    handler: str  # handlers.workflow_review_page.handler
    iam: bool

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters when ``path`` (without the mount) fits this resource."""
        pattern = "^"
        for part in self.resource.strip("/").split("/") if self.resource != "/" else []:
            if part.endswith("+}"):
                pattern += f"/(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"/(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += "/" + re.escape(part)
        pattern += "/?$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def deployed_routes(aws: EmbeddedAws) -> list[Route]:
    """Every Lambda proxy method of every RestApi in the deployed stacks."""
    routes: list[Route] = []
    for stack, template in aws.templates.items():
        routes += template_routes(template, aws.stacks[stack])
    return sort_routes(routes)


def sort_routes(routes: list[Route]) -> list[Route]:
    """Literal segments before parameters, so ``/incidents/{id}/activity`` wins over a ``{proxy+}``."""
    return sorted(routes, key=lambda r: (r.resource.count("+}"), r.resource.count("{"), -len(r.resource)))


def template_routes(template: Mapping[str, Any], physical: Mapping[str, str]) -> list[Route]:
    """The Lambda proxy methods one template declares; ``physical`` maps its logical ids (may be empty)."""
    routes: list[Route] = []
    resources = template["Resources"]
    apis = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::ApiGateway::RestApi"}
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id in paths:
            return paths[logical_id]
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        paths[logical_id] = f"{prefix.rstrip('/')}/{props['PathPart']}"
        return paths[logical_id]

    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        props = resource["Properties"]
        integration = props.get("Integration") or {}
        function_logical = _function_in(integration.get("Uri"))
        if integration.get("Type") != "AWS_PROXY" or function_logical is None:
            continue
        api_logical = props["RestApiId"]["Ref"]
        resource_id = props["ResourceId"]
        path = path_of(resource_id["Ref"]) if "Ref" in resource_id else "/"
        function = resources[function_logical]["Properties"]
        routes.append(
            Route(
                api=str(apis[api_logical]["Properties"].get("Name", api_logical)),
                api_id=physical.get(api_logical, f"undeployed-{api_logical}"),
                method=str(props["HttpMethod"]).upper(),
                resource=path,
                function=physical.get(function_logical, ""),
                handler=str(function.get("Handler", "")),
                iam=props.get("AuthorizationType") == "AWS_IAM",
            )
        )
    return routes


def _function_in(uri: Any) -> str | None:
    """The logical id of the function an integration URI's ``Fn::Join`` names."""
    if not isinstance(uri, dict) or "Fn::Join" not in uri:
        return None
    for part in uri["Fn::Join"][1]:
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return str(part["Fn::GetAtt"][0])
    return None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def proxy_event(
    route: Route,
    path: str,
    parameters: Mapping[str, str],
    *,
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    caller_arn: str | None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event for this request."""
    query_values = parse_qs(query, keep_blank_values=True)
    text: str | None
    encoded = False
    try:
        text = body.decode("utf-8") if body else None
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    identity: dict[str, Any] = {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")}
    if caller_arn:
        identity |= {"userArn": caller_arn, "caller": caller_arn, "accountId": caller_arn.split(":")[4]}
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query_values.items()} or None,
        "multiValueQueryStringParameters": query_values or None,
        "pathParameters": dict(parameters) or None,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": encoded,
        "requestContext": {
            "resourcePath": route.resource,
            "httpMethod": method,
            "path": path,
            "stage": "local",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "apiId": route.api_id,
            "accountId": "123456789012",
            "identity": identity,
        },
    }


def invoke(aws: EmbeddedAws, route: Route, event: Mapping[str, Any]) -> ApiResponse:
    """Invoke the route's function through the embedded Lambda service; the proxy response as HTTP."""
    result = aws.invoke(route.function, event)
    if not isinstance(result, dict) or "statusCode" not in result:
        message = result.get("errorMessage") if isinstance(result, dict) else str(result)
        return ApiResponse(
            502,
            {"Content-Type": "application/json"},
            json.dumps({"message": f"Internal server error ({message})"}).encode(),
        )
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(key)] = ", ".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return ApiResponse(int(result["statusCode"]), headers, body)
