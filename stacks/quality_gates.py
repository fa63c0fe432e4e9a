"""The synth-time gate: cdk-nag v3 rule packs as CDK policy-validation plugins.

With the packs registered, ``cdk synth`` (and ``App.synth()`` in tests) fails on any finding
that has not been acknowledged. Acknowledge a finding with :func:`acknowledge` on the
narrowest construct that causes it, and always say why.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Token, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def apply_quality_gates(app: App) -> None:
    """Register the AwsSolutions and Serverless packs so synthesis fails on unacknowledged findings."""
    Validations.of(app).add_plugins(
        # The acknowledgments (with reasons) are also written into the template metadata: an audit trail.
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, verbose=True),
    )


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding (``Pack-Rule`` or ``Pack-Rule[Finding]``) on ``construct`` and below.

    The reason is recorded in the template metadata; it must say why the finding does not apply.
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
    resolved = _with_known_environment(construct, rule_id)
    if resolved != rule_id:
        Validations.of(construct).acknowledge(Acknowledgment(id=resolved, reason=reason))


def _with_known_environment(construct: IConstruct, rule_id: str) -> str:
    """The finding as cdk-nag words it when the stack's account and region are known (a synth with
    credentials, or an explicit ``env``): ARNs then hold them literally, not ``<AWS::Region>``."""
    stack = Stack.of(construct)
    for placeholder, value in (
        ("<AWS::Partition>", stack.partition),
        ("<AWS::Region>", stack.region),
        ("<AWS::AccountId>", stack.account),
    ):
        if not Token.is_unresolved(value):
            rule_id = rule_id.replace(placeholder, value)
    return rule_id


def checkov_skip(construct: IConstruct, check_id: str, reason: str) -> None:
    """Suppress one checkov check (the second IaC gate, ``make iac-scan``) on this resource only.

    Written as ``Metadata.checkov.skip`` of the construct's CloudFormation resource, with the reason
    as the comment checkov prints. Checks skipped for every resource live in ``.checkov.yaml``.
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"skipping {check_id} needs a real reason, got {reason!r}")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to carry a checkov skip")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", metadata)
