"""The approval gate's public face: the review page API and the key that signs review links.

* ``signing_secret``: a generated 64-character secret in Secrets Manager (customer-managed key);
  the HMAC key for review references and CSRF tokens. It never appears in the template.
* ``api``: API Gateway REST API with **IAM authorization** on every method. API Gateway verifies
  the caller's SigV4 signature and hands the function the caller's ARN; the function lets only
  the plan's approver principals see or decide. ``GET`` shows, ``POST`` decides (CSRF token).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.rest_api import regional_rest_api
from outage_comms_cdk.constructs.signing_key import HmacSigningKey
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

REVIEW_STAGE = "review"


def review_signing_key(scope: Construct, construct_id: str, *, key: kms.IKey) -> HmacSigningKey:
    """The HMAC key for review references and CSRF tokens."""
    return HmacSigningKey(
        scope,
        construct_id,
        key=key,
        description="Outage Comms: HMAC key for review links and CSRF tokens",
        no_rotation_reason="Rotating the HMAC key invalidates every open review link at once (mid-approval); "
        "links live at most as long as the plan's approval timeout, so a key leak is contained by replacing "
        "the secret value by hand between incidents.",
    )


class ReviewPageApi(Construct):
    """``/incidents/{incident_id}/review/{reference}``: GET and POST, IAM-authorized, one function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        key: kms.IKey,
        web_acl: PublicWebAcl | None = None,
    ) -> None:
        """``web_acl``: the region's public web ACL (plan's ``edge.waf``), None when WAF is off."""
        super().__init__(scope, construct_id)
        rest = regional_rest_api(
            self,
            validator_id="PathValidator",
            log_group_name=physical_name(self, f"{LOG_GROUP_PREFIX}api/review-page"),
            key=key,
            rest_api_name=physical_name(self, "outage-comms-review"),
            description="Outage Comms review page: approvers review and decide on customer messages",
            stage_name=REVIEW_STAGE,
            throttling_rate_limit=10,
            throttling_burst_limit=20,
            iam_authorization=True,
            metrics_enabled=False,
            web_acl=web_acl,
        )
        self.api = rest.api
        validator = rest.validator
        review = (
            self.api.root.add_resource("incidents")
            .add_resource("{incident_id}")
            .add_resource("review")
            .add_resource("{reference}")
        )
        integration = apigw.LambdaIntegration(handler, timeout=Duration.seconds(29))
        for method in ("GET", "POST"):
            review.add_method(
                method,
                integration,
                request_validator=validator,
                request_parameters={
                    "method.request.path.incident_id": True,
                    "method.request.path.reference": True,
                },
            )
        reasons = {
            "AwsSolutions-APIG3": "Every method requires SigV4 (IAM) and the function admits only the plan's "
            "approvers; traffic is a handful of requests per incident, throttled at the stage. A WAF web ACL "
            "is an account-level choice a platform team can attach to this stage.",
            "AwsSolutions-COG4": "Authorization is IAM (SigV4): approvers are IAM roles listed in the plan, "
            "not a Cognito user pool.",
            "AwsSolutions-APIG6": "Access logs (every request, caller and status) go to an encrypted log "
            "group; execution logging needs an account-wide API Gateway CloudWatch role, which this app "
            "deliberately does not create (@aws-cdk/aws-apigateway:disableCloudWatchRole).",
            "Serverless-APIGWDefaultThrottling": "The review stage sets its own rate and burst limits.",
        }
        if web_acl is not None:
            del reasons["AwsSolutions-APIG3"]
        for rule, reason in reasons.items():
            acknowledge(self.api, rule, reason)

    @property
    def url(self) -> str:
        return self.api.url
