"""Explicit, documented changes to synthesized templates so moto's CloudFormation can create them.

Each patch works around a moto gap; none touches a state machine definition, a function's code
or handler, or an IAM policy's meaning. ``patch_template`` returns the patched copy and the list
of patches applied (the harness records them).

* ``kms-key-tags``: moto's ``AWS::KMS::Key`` fails on ``Tags`` (KeyError 'TagKey'): tags removed.
* ``ssm-parameter-tags``: ``AWS::SSM::Parameter.Tags`` is a map (CloudFormation's format); moto reads a
  list of ``Key``/``Value`` pairs and fails: converted to that list.
* ``archive-event-pattern``: moto expects ``AWS::Events::Archive.EventPattern`` as a JSON string.
* ``archive-name``: moto names an unnamed archive ``<stack>-<logical id>-<suffix>``, longer than
  the 48 characters it then refuses: the logical id (cut to 48) is given as ``ArchiveName``.
* ``get-stack-output``: ``Fn::GetStackOutput`` (CDK's weak cross-stack references) is unknown to
  moto: replaced by the producing stack's output value, read from the stack moto created first.
* ``secret-created-by-api``: moto's CloudFormation skips ``AWS::SecretsManager::Secret``, so the
  secret is created through the Secrets Manager API (a generated value, as the template asks)
  and ``Ref`` to it is replaced by its ARN.
* ``schedule-group-created-by-api``: moto's CloudFormation has no ``AWS::Scheduler::ScheduleGroup``
  (the maintenance scheduler's group): the group is created through the EventBridge Scheduler API
  under the template's ``Name`` and ``Ref`` / ``Fn::GetAtt .Arn`` to it become its name / ARN.
* ``state-machine-not-executable`` (applied in ``harness.py``, not to the template): a state machine
  other than the incident workflow that moto's Step Functions parser refuses — the channels stack's
  Distributed Map — is left in moto's non-executing backend instead of being re-registered for
  execution. The incident workflow is always re-registered, unchanged, or the harness fails.
* ``global-table-as-table``: moto's CloudFormation has no ``AWS::DynamoDB::GlobalTable`` (and moto does not
  replicate): the global table becomes an ``AWS::DynamoDB::Table`` of the same name, keys, indexes, billing,
  stream and TTL, with the deploying region's replica settings (encryption, point-in-time recovery, tags).
  The harness then makes that one table the replica of every other region the template lists
  (``global-table-shared``): each region reaches it through its own endpoint, so a region outage cuts that
  region off from it, and replication is instant and strongly consistent (real global tables replicate
  asynchronously, typically within a second: docs/regions-runtime.md covers that lag).
* ``drop-unsupported``: resource types moto's CloudFormation cannot create and nothing in the
  run depends on (listed in :data:`UNSUPPORTED_TYPES`) are removed, with the references to them:
  a ``Ref`` / ``Fn::GetAtt`` to a removed resource becomes the string
  ``not-created-in-moto:<logical id>[.<attribute>]`` (moto would fail the stack on the ``GetAtt``
  in an output), and ``DependsOn`` entries naming it are dropped. Today these are the status
  stack's CloudFront pieces, and for two regions the EventBridge global endpoint and the standby's
  Synthetics canary (the drill plays their failover and alarm). The status publisher writes the
  bucket, the public dashboard and the status metric through the
  ``OutageCommsStatusPublisherAccess`` role, none of which moto lacks; it invalidates the
  distribution only when ``STATUS_DISTRIBUTION_ID`` is set (context ``status_distribution_id``),
  never in the embedded AWS. So the IAM statement allowing ``cloudfront:CreateInvalidation`` keeps
  its meaning and names a distribution that does not exist.
  (moto also skips ``AWS::S3::BucketPolicy``, with a warning, unpatched: the TLS-only policies
  are not evaluated by moto in any case.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

#: Resource types moto cannot create -> why nothing the embedded run executes needs them.
UNSUPPORTED_TYPES: dict[str, str] = {
    kind: "the status site's CDN: the publisher writes the bucket; without a distribution id it never "
    "invalidates"
    for kind in (
        "AWS::CloudFront::Distribution",
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::CachePolicy",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CloudFront::Function",
    )
}
UNSUPPORTED_TYPES.update(
    {
        "AWS::Events::Endpoint": "the EventBridge global endpoint (two regions): the embedded drill puts "
        "events on each region's bus itself and plays its health check's failover",
        "AWS::Synthetics::Canary": "the standby's synthetic check of the public product: the embedded drill "
        "plays its alarm",
    }
)
#: What a reference to a resource removed by ``drop-unsupported`` becomes.
NOT_CREATED = "not-created-in-moto:"

OutputLookup = Callable[[str, str], str]
SecretFactory = Callable[[str, Mapping[str, Any]], str]


#: Creates a schedule group through the API: (logical id, properties) -> (name, ARN).
GroupFactory = Callable[[str, Mapping[str, Any]], tuple[str, str]]


#: Table-level properties a global table shares with a plain table.
_TABLE_FIELDS = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "TimeToLiveSpecification",
)


def global_table_replicas(resource: Mapping[str, Any]) -> list[str]:
    """The regions a synthesized ``AWS::DynamoDB::GlobalTable`` has replicas in."""
    if resource.get("Type") != "AWS::DynamoDB::GlobalTable":
        return []
    return [str(r["Region"]) for r in resource.get("Properties", {}).get("Replicas", []) if "Region" in r]


def _as_table(props: Mapping[str, Any], region: str) -> dict[str, Any]:
    """A global table's properties as a plain table in ``region`` (patch ``global-table-as-table``)."""
    table = {k: copy.deepcopy(props[k]) for k in _TABLE_FIELDS if k in props}
    replicas = props.get("Replicas", [])
    replica = next((r for r in replicas if r.get("Region") == region), replicas[0] if replicas else {})
    sse = props.get("SSESpecification") or {}
    if sse.get("SSEEnabled") or replica.get("SSESpecification"):
        table["SSESpecification"] = {"SSEEnabled": True, "SSEType": sse.get("SSEType", "KMS")}
        if (replica.get("SSESpecification") or {}).get("KMSMasterKeyId"):
            table["SSESpecification"]["KMSMasterKeyId"] = replica["SSESpecification"]["KMSMasterKeyId"]
    for key in ("PointInTimeRecoverySpecification", "Tags", "DeletionProtectionEnabled", "TableClass"):
        if key in replica:
            table[key] = copy.deepcopy(replica[key])
    return table


def patch_template(
    template: Mapping[str, Any],
    outputs: OutputLookup,
    create_secret: SecretFactory,
    create_schedule_group: GroupFactory | None = None,
    region: str = "",
) -> tuple[dict[str, Any], list[str]]:
    patched = copy.deepcopy(dict(template))
    applied: list[str] = []
    resources: dict[str, Any] = patched.get("Resources", {})
    replaced_refs: dict[str, str] = {}
    replaced_arns: dict[str, str] = {}
    dropped: set[str] = set()
    for logical_id, resource in list(resources.items()):
        if resource["Type"] == "AWS::SecretsManager::Secret":
            replaced_refs[logical_id] = create_secret(logical_id, resource.get("Properties", {}))
            del resources[logical_id]
            applied.append(f"secret-created-by-api:{logical_id}")
        if resource["Type"] == "AWS::Scheduler::ScheduleGroup" and create_schedule_group is not None:
            name, arn = create_schedule_group(logical_id, resource.get("Properties", {}))
            replaced_refs[logical_id] = name
            replaced_arns[logical_id] = arn
            del resources[logical_id]
            applied.append(f"schedule-group-created-by-api:{logical_id}")
    for logical_id, resource in list(resources.items()):
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::KMS::Key" and "Tags" in props:
            del props["Tags"]
            applied.append(f"kms-key-tags:{logical_id}")
        if kind == "AWS::SSM::Parameter" and isinstance(props.get("Tags"), dict):
            props["Tags"] = [{"Key": k, "Value": v} for k, v in props["Tags"].items()]
            applied.append(f"ssm-parameter-tags:{logical_id}")
        if kind == "AWS::Events::Archive" and "ArchiveName" not in props:
            props["ArchiveName"] = logical_id[:48]
            applied.append(f"archive-name:{logical_id}")
        if kind == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            props["EventPattern"] = json.dumps(props["EventPattern"])
            applied.append(f"archive-event-pattern:{logical_id}")
        if kind == "AWS::DynamoDB::GlobalTable":
            resource["Type"], resource["Properties"] = "AWS::DynamoDB::Table", _as_table(props, region)
            applied.append(f"global-table-as-table:{logical_id}")
        if kind in UNSUPPORTED_TYPES:
            del resources[logical_id]
            dropped.add(logical_id)
            applied.append(f"drop-unsupported:{logical_id}")
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str) and depends in dropped:
            del resource["DependsOn"]
        elif isinstance(depends, list) and dropped & set(depends):
            resource["DependsOn"] = [d for d in depends if d not in dropped]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in replaced_refs:
                return replaced_refs[value["Ref"]]
            if set(value) == {"Ref"} and value["Ref"] in dropped:
                return f"{NOT_CREATED}{value['Ref']}"
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in replaced_arns:
                return replaced_arns[value["Fn::GetAtt"][0]]
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in dropped:
                return f"{NOT_CREATED}{'.'.join(map(str, value['Fn::GetAtt']))}"
            if set(value) == {"Fn::GetStackOutput"}:
                spec = value["Fn::GetStackOutput"]
                applied.append(f"get-stack-output:{spec['OutputName']}")
                return outputs(str(spec["StackName"]), str(spec["OutputName"]))
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    patched = resolve(patched)
    return patched, applied
