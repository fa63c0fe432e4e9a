"""Read IAM statements out of synthesized templates (identity policies, not resource policies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: The only actions allowed on Resource "*" in an identity policy, each with the reason.
REASONED_WILDCARD_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (active tracing)",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions (active tracing)",
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for each statement of IAM policies, managed and inline role policies."""
    for logical_id, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        documents = []
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        elif kind == "AWS::IAM::Role":
            documents.extend(policy["PolicyDocument"] for policy in props.get("Policies", []))
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield logical_id, statement


def wildcard_resource(statement: dict[str, Any]) -> bool:
    return any(resource == "*" for resource in as_list(statement.get("Resource", [])))


def join_to_text(value: Any) -> str:
    """Render an ``Fn::Join`` as text, intrinsics shown as ``{Ref}`` placeholders, for substring checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(join_to_text(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "{" + value["Ref"] + "}"
    return "{?}"
