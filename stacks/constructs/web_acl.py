"""AWS WAF in front of the public entry points, switched on by the plan's ``edge.waf``.

One web ACL per scope: ``REGIONAL`` (API Gateway stages, shared by the APIs of a region) and
``CLOUDFRONT`` (the status distribution; CloudFront takes web ACLs from us-east-1 only, see
:func:`outage_comms_cdk.status_stack.status_edge_needed`). Each holds, in order:

1. ``AWSManagedRulesAmazonIpReputationList``: addresses Amazon threat intelligence lists as bots.
2. ``AWSManagedRulesCommonRuleSet``: the OWASP-style baseline. Its ``SizeRestrictions_BODY`` rule
   (bodies over 8 KB) only counts: our own validation answers an oversized field with a 4xx that
   names the field and its limit, which a bare WAF 403 does not.
3. ``AWSManagedRulesKnownBadInputsRuleSet``: Log4Shell, Java deserialization, ``localhost`` hosts.
4. A rate rule per source address over 5 minutes, answered with a plain-language 429.
5. IPv6: one client holds a whole /64 (2^64 addresses) and WAF cannot aggregate by prefix, so a
   per-address limit alone is no limit. The regional APIs are IPv4-only endpoints (see
   ``rest_api.py``), so rotating IPv6 addresses cannot reach them; the status site keeps IPv6 for
   reach, and its IPv6 requests also share a per-network (ASN) budget of
   ``IPV6_NETWORK_FACTOR`` times the per-address limit.

Cost at rest (2026 prices, the same in every region): US$5 a web ACL + US$1 a month per rule or
managed rule group (these three carry no extra fee), so US$9 for the regional web ACL (four rules,
shared by the APIs) and US$10 for CloudFront's (five): US$19 a month, plus US$0.60 per million
requests inspected.
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from outage_comms.plan import WafSettings

WafScope = Literal["REGIONAL", "CLOUDFRONT"]
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
#: Rules of a managed group that only count (name -> why); everything else blocks.
COUNT_ONLY = {
    "AWSManagedRulesCommonRuleSet": {
        "SizeRestrictions_BODY": "our validation answers oversized input with a 4xx naming the field",
    }
}
RATE_WINDOW_SECONDS = 300
#: Requests of one IPv6 network (ASN) in 5 minutes, in multiples of the per-address limit.
IPV6_NETWORK_FACTOR = 50
TOO_MANY_REQUESTS_KEY = "too-many-requests"
TOO_MANY_REQUESTS = (
    "Too many requests from your network in the last few minutes. Please wait five minutes and try again."
)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _managed_rule(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    overrides = [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
        )
        for rule in COUNT_ONLY.get(name, {})
    ]
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, rule_action_overrides=overrides or None
            )
        ),
        visibility_config=_visibility(name),
    )


def _too_many_requests() -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=429,
                custom_response_body_key=TOO_MANY_REQUESTS_KEY,
                response_headers=[wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value="300")],
            )
        )
    )


def _rate_rules(limit: int, *, ipv6_set_arn: str | None) -> list[wafv2.CfnWebACL.RuleProperty]:
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name="RatePerAddress",
            priority=10,
            action=_too_many_requests(),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=limit, evaluation_window_sec=RATE_WINDOW_SECONDS
                )
            ),
            visibility_config=_visibility("RatePerAddress"),
        )
    ]
    if ipv6_set_arn is not None:
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIpv6Network",
                priority=11,
                action=_too_many_requests(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="CUSTOM_KEYS",
                        custom_keys=[wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(asn={})],
                        limit=limit * IPV6_NETWORK_FACTOR,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                            ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(
                                arn=ipv6_set_arn
                            )
                        ),
                    )
                ),
                visibility_config=_visibility("RatePerIpv6Network"),
            )
        )
    return rules


class PublicWebAcl(Construct):
    """A web ACL with the managed rule groups and the rate rule(s); :meth:`protect_stage` attaches it."""

    def __init__(self, scope: Construct, construct_id: str, *, waf: WafSettings, waf_scope: WafScope) -> None:
        super().__init__(scope, construct_id)
        self.waf_scope = waf_scope
        name = Names.unique_resource_name(self, separator="-", max_length=100)
        ipv6_set_arn = None
        if waf_scope == "CLOUDFRONT":
            every_ipv6 = wafv2.CfnIPSet(
                self,
                "EveryIpv6Address",
                scope=waf_scope,
                ip_address_version="IPV6",
                addresses=["::/0"],
                description="Every IPv6 source, whose requests also share a per-network ASN budget",
            )
            ipv6_set_arn = every_ipv6.attr_arn
        limit = (
            waf.status_site_rate_limit_per_5_min if waf_scope == "CLOUDFRONT" else waf.rate_limit_per_5_min
        )
        rules = [_managed_rule(group, priority) for priority, group in enumerate(MANAGED_RULE_GROUPS)]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            description="Outage Comms public entry points: AWS managed rules and a per-address rate limit",
            scope=waf_scope,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[*rules, *_rate_rules(limit, ipv6_set_arn=ipv6_set_arn)],
            custom_response_bodies={
                TOO_MANY_REQUESTS_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="TEXT_PLAIN", content=TOO_MANY_REQUESTS
                )
            },
            visibility_config=_visibility(name),
        )

    @property
    def arn(self) -> str:
        return self.web_acl.attr_arn

    def protect_stage(self, stage: apigw.Stage) -> wafv2.CfnWebACLAssociation:
        """Associate this (regional) web ACL with an API Gateway stage, in the stage's own stack."""
        if self.waf_scope != "REGIONAL":
            raise ValueError("an API Gateway stage takes a REGIONAL web ACL")
        return wafv2.CfnWebACLAssociation(
            stage, "WebAcl", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
