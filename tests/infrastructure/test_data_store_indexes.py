"""The incidents table's indexes and who may read them: Query on index ARNs, never a Scan anywhere.

The runtime reads the table through ``outage_comms.intake.store`` only: by key (GetItem,
BatchGetItem) or by Query on the two indexes designed for its lists. These tests read the synthesized
templates of the real app on the example plan.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from template_reading import as_list, identity_statements, join_to_text

from app import CORE_STACK_NAME
from outage_comms.intake import store

pytestmark = pytest.mark.infrastructure


@pytest.fixture(scope="module")
def template(core: Any) -> Template:
    return Template.from_json(core.raw[CORE_STACK_NAME])


def _function_role(raw: dict[str, Any], handler: str) -> str:
    (role,) = [
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler
    ]
    return str(role)


def _grants(raw: dict[str, Any], role: str) -> dict[str, list[str]]:
    """DynamoDB action -> the resources (as text) a role's identity policies grant it on."""
    granted: dict[str, list[str]] = {}
    for logical_id, statement in identity_statements(raw):
        resource = raw["Resources"][logical_id]
        attached = resource["Properties"].get("Roles", []) if resource["Type"] == "AWS::IAM::Policy" else []
        if logical_id != role and role not in json.dumps(attached):
            continue
        for action in as_list(statement["Action"]):
            if action.startswith("dynamodb:"):
                granted.setdefault(action, []).extend(join_to_text(r) for r in as_list(statement["Resource"]))
    return granted


def test_incidents_table_defines_exactly_the_indexes_the_repository_queries(template: Template) -> None:
    schema = store.incidents_table_schema("incidents")
    indexes = [
        Match.object_like(
            {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index["Projection"],
            }
        )
        for index in schema["GlobalSecondaryIndexes"]
    ]
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": schema["KeySchema"],
            "GlobalSecondaryIndexes": Match.array_equals(indexes),
            "AttributeDefinitions": Match.array_equals(
                [Match.object_equals(a) for a in schema["AttributeDefinitions"]]
            ),
        },
    )


def test_the_recent_index_is_keys_only_and_the_open_index_is_sparse_by_its_keys(template: Template) -> None:
    (incidents,) = [
        t["Properties"]
        for t in template.find_resources("AWS::DynamoDB::Table").values()
        if any(
            i["IndexName"] == store.RECENT_INDEX for i in t["Properties"].get("GlobalSecondaryIndexes", [])
        )
    ]
    by_name = {i["IndexName"]: i for i in incidents["GlobalSecondaryIndexes"]}
    # Keys only: the history's bodies are not copied into the index; heads are read by BatchGetItem.
    assert by_name[store.RECENT_INDEX]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    # The open index is keyed on attributes only open heads carry (the store removes them on resolve).
    assert [k["AttributeName"] for k in by_name[store.OPEN_INDEX]["KeySchema"]] == [
        store.OPEN_PK,
        store.OPEN_SK,
    ]
    # CloudFormation creates or deletes one GSI per table update: this release adds exactly one.
    assert len(by_name) == 2


def _incidents_table_id(core: Any) -> str:
    (logical_id,) = [
        lid
        for lid, r in core.raw[CORE_STACK_NAME]["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
        and store.RECENT_INDEX in json.dumps(r["Properties"].get("GlobalSecondaryIndexes", []))
    ]
    return str(logical_id)


def test_no_role_in_any_stack_may_scan_the_incidents_table(core: Any) -> None:
    # The table is referenced by GetAtt in the core stack and by an export named after it elsewhere.
    table = _incidents_table_id(core)
    scanning = [
        (stack, logical_id)
        for stack, raw in core.raw.items()
        for logical_id, statement in identity_statements(raw)
        if any(a in ("dynamodb:Scan", "dynamodb:*") for a in as_list(statement["Action"]))
        and table in json.dumps(statement.get("Resource"))
    ]
    assert scanning == []


def test_watchdog_queries_only_the_open_index(core: Any) -> None:
    (raw,) = [
        r
        for r in core.raw.values()
        if any(
            x.get("Properties", {}).get("Handler") == "handlers.slo_watchdog.handler"
            for x in r["Resources"].values()
        )
    ]
    granted = _grants(raw, _function_role(raw, "handlers.slo_watchdog.handler"))
    queries = granted.pop("dynamodb:Query")
    assert queries and all(q.endswith(f"/index/{store.OPEN_INDEX}") for q in queries), queries
    assert set(granted) == {"dynamodb:GetItem"}  # the workflow table's customer-update marks
    assert all("/index/" not in r for r in granted["dynamodb:GetItem"])


def test_status_publisher_reads_heads_by_key_and_queries_only_its_two_indexes(core: Any) -> None:
    (raw,) = [
        r
        for r in core.raw.values()
        if any(
            x.get("Properties", {}).get("Handler") == "handlers.publish_status.handler"
            for x in r["Resources"].values()
        )
    ]
    granted = _grants(raw, _function_role(raw, "handlers.publish_status.handler"))
    assert set(granted) == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    assert sorted(r.rsplit("/index/", 1)[1] for r in granted["dynamodb:Query"]) == sorted(
        [store.OPEN_INDEX, store.RECENT_INDEX]
    )
    assert all("/index/" not in r for r in granted["dynamodb:GetItem"] + granted["dynamodb:BatchGetItem"])


def test_every_query_grant_on_the_incidents_table_names_an_index_it_has(core: Any) -> None:
    # A Query grant on a renamed or missing index is an AccessDenied waiting for the first real call.
    table = _incidents_table_id(core)
    indexes = {store.OPEN_INDEX, store.RECENT_INDEX}
    granted = [
        join_to_text(resource) if "Fn::Join" in json.dumps(resource) else json.dumps(resource)
        for raw in core.raw.values()
        for _, statement in identity_statements(raw)
        if "dynamodb:Query" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if table in json.dumps(resource)
    ]
    on_indexes = [g.rsplit("/index/", 1)[1] for g in granted if "/index/" in g]
    # the watchdog (open), the status publisher (open, recent) and the incident API's list (recent);
    # a Query on the table itself (one incident's partition, e.g. its activity) is a key read.
    assert len(on_indexes) >= 4, granted
    assert set(on_indexes) <= indexes, granted
