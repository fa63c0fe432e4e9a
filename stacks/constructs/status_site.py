"""The public status site: a private S3 bucket behind CloudFront, and the role that publishes to it.

* The bucket is private (public access blocked, SSL only, SSE-S3, versioned, access-logged);
  CloudFront reads it through Origin Access Control, so there is no public bucket policy.
* Every response carries HSTS, a strict Content-Security-Policy (no inline script or style: the
  pages have none, the banner snippet is its own file), nosniff, DENY framing, a referrer policy.
* The cache keeps HTML/JSON at most 60 s (objects say 30 s), so an update shows within a minute.
* A viewer-request function maps the public URLs (``/incidents/<id>``, ``/pt-br/``) to objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aws_cdk import Aws, CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_certificatemanager as acm

from outage_comms_cdk.quality_gates import acknowledge, checkov_skip
from outage_comms_cdk.settings import deployment_of, physical_name

#: The role the workload's publisher assumes; a fixed name so the other account can name it.
PUBLISHER_ACCESS_ROLE_NAME = "OutageCommsStatusPublisherAccess"
STATUS_METRIC_NAMESPACE = "OutageComms/Status"

URL_REWRITE = """function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf('/_publisher/') === 0) {
    return {statusCode: 404, statusDescription: 'Not Found'};
  }
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
  } else if (uri.lastIndexOf('.') <= uri.lastIndexOf('/')) {
    var page = uri.indexOf('/incidents/') >= 0 || uri.endsWith('/history');
    request.uri = page ? uri + '.html' : uri + '/index.html';
  }
  return request;
}"""


#: ``/api/subscriptions`` on the status domain -> ``/subscriptions`` on the API (stage: origin path).
API_REWRITE = """function handler(event) {
  var request = event.request;
  request.uri = request.uri.replace(/^\\/api\\//, '/');
  return request;
}"""


@dataclass(frozen=True)
class SubscribeApiOrigin:
    """The subscribe API as CloudFront reaches it: its regional host name and stage (``/v1``)."""

    domain_name: str
    stage_path: str

    @classmethod
    def from_url(cls, url: str) -> SubscribeApiOrigin:
        """``https://<id>.execute-api.<region>.amazonaws.com/v1`` (the channels stack's SubscribeApiUrl)."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"status_subscribe_url: expected https://<api host>/<stage>, got {url!r}")
        return cls(parts.netloc, parts.path.rstrip("/"))


def content_security_policy(subscribe_url: str) -> str:
    """Scripts and styles only from the site; the form and its script post only to the site itself
    (``/api/*`` is routed to the subscribe API) or to the subscribe API's own origin when it is elsewhere."""
    parts = urlsplit(subscribe_url)
    other = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        f"connect-src 'self'{other}; "
        f"form-action 'self'{other}; base-uri 'none'; frame-ancestors 'none'; "
        "upgrade-insecure-requests"
    )


def _cfn(bucket: s3.IBucket) -> CfnElement:
    child = bucket.node.default_child
    assert isinstance(child, CfnElement)
    return child


def status_bucket_name(account: str, region: str, deployment: str | None = None) -> str:
    """The status bucket's name, derivable in the workload account without a cross-account lookup
    (``oc-<id>-status-...`` with a deployment id: bucket names have at most 63 characters)."""
    if deployment:
        return f"oc-{deployment}-status-{account}-{region}"
    return f"outage-comms-status-{account}-{region}"


class StatusSite(Construct):
    """Bucket, access logs, CloudFront distribution with OAC, security headers and cache policy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        subscribe_url: str,
        domain_names: list[str] | None = None,
        certificate_arn: str | None = None,
        web_acl_id: str | None = None,
        subscribe_api: SubscribeApiOrigin | None = None,
        feedback_api: SubscribeApiOrigin | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._subscribe_url = subscribe_url
        self._buckets()
        self._edge_policies(subscribe_url)
        certificate = self._distribution(domain_names, certificate_arn, web_acl_id)
        if subscribe_api is not None:
            self._add_subscribe_route(subscribe_api)
        if feedback_api is not None:
            self._add_feedback_route(feedback_api)
        self._acknowledge_edge_choices(web_acl_id=web_acl_id, certificate=certificate)

    def _buckets(self) -> None:
        """The site's private bucket and the access-log bucket (S3 and CloudFront logs)."""
        self.logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            # CloudFront standard logs are delivered with ACLs.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(90), noncurrent_version_expiration=Duration.days(7))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the status site; logging it to itself would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Site",
            bucket_name=status_bucket_name(Aws.ACCOUNT_ID, Aws.REGION, deployment_of(self)),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _edge_policies(self, subscribe_url: str) -> None:
        """The cache policy, the security-headers policy and the URL rewrite function."""
        self.cache_policy = cloudfront.CachePolicy(
            self,
            "CachePolicy",
            comment="Outage Comms status: at most 60 s so an update shows within a minute",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(30),
            max_ttl=Duration.seconds(60),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
        )
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Outage Comms status: HSTS, strict CSP and the usual security headers",
            security_headers_behavior=self._security_headers(subscribe_url),
            custom_headers_behavior=self._custom_headers(),
            # The in-app banner is fetched by customers' own products from their origins.
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD", "OPTIONS"],
                access_control_allow_origins=["*"],
                access_control_max_age=Duration.seconds(600),
                origin_override=True,
            ),
            remove_headers=["Server", "x-amz-server-side-encryption", "x-amz-version-id"],
        )
        self.url_rewrite = cloudfront.Function(
            self,
            "UrlRewrite",
            code=cloudfront.FunctionCode.from_inline(URL_REWRITE),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Public status URLs to object keys (/incidents/<id> -> .html, / -> index.html)",
        )

    def _distribution(
        self, domain_names: list[str] | None, certificate_arn: str | None, web_acl_id: str | None
    ) -> acm.ICertificate | None:
        """The CloudFront distribution over the bucket (OAC); returns the custom domain's certificate."""
        certificate = None
        if certificate_arn:
            from aws_cdk import aws_certificatemanager as acm

            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Outage Comms public status site",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                cache_policy=self.cache_policy,
                response_headers_policy=self.headers_policy,
                compress=True,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=self.url_rewrite, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            domain_names=domain_names if certificate else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
            web_acl_id=web_acl_id,
        )
        return certificate

    def _acknowledge_edge_choices(
        self, *, web_acl_id: str | None, certificate: acm.ICertificate | None
    ) -> None:
        """Why the gates' edge findings do not apply (or are the plan's choice)."""
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A public status page must be reachable from every country: customers everywhere need it "
            "during an outage.",
        )
        if web_acl_id is None:
            checkov_skip(
                self.distribution,
                "CKV_AWS_68",
                "WAF is the plan's choice (edge.waf.enabled, about US$10 a month at rest for this web ACL); "
                "the site is static, read-only and cached for 60 s.",
            )
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR2",
                "Static, read-only content behind a 60 s cache with no origin logic; the plan's "
                "edge.waf.enabled: true attaches a WAF web ACL (about US$10 a month at rest).",
            )
        if certificate is None:
            checkov_skip(
                self.distribution,
                "CKV_AWS_174",
                "No custom domain in the plan (edge.status_site): the *.cloudfront.net certificate's TLS "
                "policy is fixed by CloudFront and cannot be raised; with a domain the minimum is "
                "TLSv1.2_2021.",
            )
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "Without a custom domain the distribution uses the *.cloudfront.net certificate, whose "
                "TLS policy CloudFront fixes; the plan's edge.status_site (domain + us-east-1 ACM "
                "certificate) gives TLSv1.2_2021 as the minimum.",
            )

    @staticmethod
    def _security_headers(subscribe_url: str) -> cloudfront.ResponseSecurityHeadersBehavior:
        return cloudfront.ResponseSecurityHeadersBehavior(
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(730),
                include_subdomains=True,
                preload=True,
                override=True,
            ),
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy(subscribe_url), override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                override=True,
            ),
        )

    @staticmethod
    def _custom_headers() -> cloudfront.ResponseCustomHeadersBehavior:
        return cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                cloudfront.ResponseCustomHeader(
                    header="Permissions-Policy",
                    value="camera=(), microphone=(), geolocation=(), interest-cohort=()",
                    override=True,
                ),
                cloudfront.ResponseCustomHeader(
                    header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                ),
            ]
        )

    def _add_subscribe_route(self, api: SubscribeApiOrigin) -> None:
        """``/api/*`` -> the subscribe API: POST allowed, nothing cached, no Host header forwarded.

        The form posts to its own origin (``form-action 'self'``, ``connect-src 'self'``), so no CORS is
        needed. API Gateway answers only for its own host name, hence the viewer's Host stays behind.
        """
        self.api_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "SubscribeApiRequests",
            comment="Outage Comms status /api/*: what the subscribe API reads, never the Host header",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                "Content-Type", "Accept", "Referer", "Origin"
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.api_rewrite = cloudfront.Function(
            self,
            "ApiRewrite",
            code=cloudfront.FunctionCode.from_inline(API_REWRITE),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="/api/subscriptions on the status domain -> /subscriptions on the subscribe API",
        )
        self.distribution.add_behavior(
            "/api/*",
            origins.HttpOrigin(
                api.domain_name,
                origin_path=api.stage_path,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=self.api_request_policy,
            response_headers_policy=cloudfront.ResponseHeadersPolicy(
                self,
                "SubscribeApiHeaders",
                comment="Outage Comms status /api/*: the site's security headers, and no CORS",
                security_headers_behavior=self._security_headers(self._subscribe_url),
                custom_headers_behavior=self._custom_headers(),
                remove_headers=["Server"],
            ),
            compress=True,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=self.api_rewrite, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ],
        )

    def _add_feedback_route(self, api: SubscribeApiOrigin) -> None:
        """``/f/*`` -> the feedback API (short "Was this update helpful?" links on the status domain).

        Same path on both sides (the API serves ``/f/{token}...``), the stage as origin path. Nothing is
        cached (every answer is counted), GET and POST reach it, and the API gets what it reads: the
        User-Agent and prefetch hints (scanners are not counted), the form's Content-Type, and the
        viewer's address (``CloudFront-Viewer-Address``: through CloudFront the connecting address is
        CloudFront's own, and answers count once per viewer network). The feedback pages carry their own
        security headers, so the site's policy (CSP for the site's pages) is not laid over them.
        """
        self.feedback_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "FeedbackApiRequests",
            comment="Outage Comms status /f/*: what the feedback API reads, never the Host header",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                "Content-Type",
                "Accept",
                "Accept-Language",
                "User-Agent",
                "Sec-Purpose",
                "Purpose",
                "CloudFront-Viewer-Address",
            ),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.distribution.add_behavior(
            "/f/*",
            origins.HttpOrigin(
                api.domain_name,
                origin_path=api.stage_path,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=self.feedback_request_policy,
            compress=True,
        )


class PublisherAccessRole(Construct):
    """The only way into the status account: trusted by exactly the workload's publisher roles (one per
    engine region: with a standby, the standby's publisher publishes while it drives an incident)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trusted_role_arns: Sequence[str],
        workload_account: str,
        bucket: s3.IBucket,
        dashboard_name: str,
        distribution: cloudfront.IDistribution,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=physical_name(self, PUBLISHER_ACCESS_ROLE_NAME),
            description="Outage Comms status publisher (workload account) writes the site and dashboard",
            assumed_by=iam.AccountPrincipal(workload_account).with_conditions(
                {
                    "ArnEquals": {
                        "aws:PrincipalArn": trusted_role_arns[0]
                        if len(trusted_role_arns) == 1
                        else list(trusted_role_arns)
                    }
                }
            ),
            max_session_duration=Duration.hours(1),
        )
        policy = iam.Policy(
            self,
            "Policy",
            statements=publisher_statements(bucket, dashboard_name, distribution),
            roles=[self.role],
        )
        _acknowledge_publisher_policy(policy, bucket)


def publisher_statements(
    bucket: s3.IBucket, dashboard_name: str, distribution: cloudfront.IDistribution
) -> list[iam.PolicyStatement]:
    """What the publisher may do in the status account: write the site, read its own state, update the
    public dashboard and the status metric, invalidate the distribution."""
    return [
        iam.PolicyStatement(
            sid="WriteSiteObjects", actions=["s3:PutObject"], resources=[bucket.arn_for_objects("*")]
        ),
        iam.PolicyStatement(sid="ListSiteObjects", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]),
        iam.PolicyStatement(  # the publisher's own state (never served: the edge answers 404 there)
            sid="ReadPublisherState",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects("_publisher/*")],
        ),
        iam.PolicyStatement(
            sid="UpdatePublicDashboard",
            actions=["cloudwatch:PutDashboard"],
            resources=[f"arn:{Aws.PARTITION}:cloudwatch::{Aws.ACCOUNT_ID}:dashboard/{dashboard_name}"],
        ),
        iam.PolicyStatement(
            sid="PublishStatusMetric",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": STATUS_METRIC_NAMESPACE}},
        ),
        iam.PolicyStatement(
            sid="InvalidateStatusSite",
            actions=["cloudfront:CreateInvalidation"],
            resources=[
                f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:distribution/{distribution.distribution_id}"
            ],
        ),
    ]


def _acknowledge_publisher_policy(policy: iam.Policy, bucket: s3.IBucket) -> None:
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the "
        f"{STATUS_METRIC_NAMESPACE} namespace by the cloudwatch:namespace condition.",
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::<{Stack.of(bucket).get_logical_id(_cfn(bucket))}.Arn>/*]",
        "The publisher rewrites any page of the site (incident pages are named by incident id); "
        "the statement allows only s3:PutObject, on this one bucket.",
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::<{Stack.of(bucket).get_logical_id(_cfn(bucket))}.Arn>/_publisher/*]",
        "The publisher reads back only its own state object under _publisher/ (s3:GetObject); the "
        "edge answers 404 there, so it is never served.",
    )
