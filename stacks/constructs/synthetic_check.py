"""A synthetic check of the public product, run from the standby region (plan ``regions.synthetic_check``).

A region that fails may raise no alarm at all: its CloudWatch, EventBridge or the product itself can
be what failed. The standby therefore runs a CloudWatch Synthetics canary against the plan's URLs;
the canary's alarm, named as the plan says, changes state on the standby's default bus and reaches
the standby's intake through the ordinary alarm door (a component maps the name; lint checks that),
so a failed check opens an incident by itself, once, with no new code path.
"""

from __future__ import annotations

import json

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from outage_comms.plan import SyntheticCheck
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

#: The canary's runtime: Python, like the rest of Outage Comms; no browser step is used.
CANARY_RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0
#: Seconds each URL may take to answer before it counts as down.
URL_TIMEOUT_SECONDS = 10
ARTIFACT_RETENTION = Duration.days(14)

#: The canary's code: every URL must answer 2xx/3xx within the timeout; one failure fails the run.
CANARY_SCRIPT = '''"""Outage Comms synthetic check: the product's public URLs answer (from the plan)."""
import urllib.request

URLS = {urls}
TIMEOUT = {timeout}


def probe(url):
    request = urllib.request.Request(url, headers={{"User-Agent": "outage-comms-synthetic-check"}})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # 4xx/5xx raise HTTPError
        response.read(1024)
        return response.status


def handler(event, context):
    failures = []
    for url in URLS:
        try:
            probe(url)
        except Exception as error:  # any failure to answer counts
            failures.append(f"{{url}}: {{error}}")
    if failures:
        raise RuntimeError("unreachable: " + "; ".join(failures))
    return "all answered"
'''


def canary_script(check: SyntheticCheck) -> str:
    """The canary's Python source for the plan's URLs."""
    return CANARY_SCRIPT.format(urls=json.dumps(check.urls), timeout=URL_TIMEOUT_SECONDS)


def canary_name(scope: Construct) -> str:
    """``oc-probe`` (or ``oc-probe-<id>``), cut to the 21 characters Synthetics allows."""
    return str(physical_name(scope, "oc-probe"))[:21].rstrip("-")


class SyntheticCheckCanary(Construct):
    """The canary, its encrypted artifact bucket and the alarm intake hears."""

    def __init__(self, scope: Construct, construct_id: str, *, check: SyntheticCheck, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._artifact_bucket(key)
        self.canary = synthetics.Canary(
            self,
            "Canary",
            canary_name=canary_name(self),
            runtime=CANARY_RUNTIME,
            test=synthetics.Test.custom(
                code=synthetics.Code.from_inline(canary_script(check)), handler="index.handler"
            ),
            schedule=synthetics.Schedule.rate(Duration.minutes(check.every_minutes)),
            artifacts_bucket_location=synthetics.ArtifactsBucketLocation(bucket=self.bucket, prefix="runs"),
            # Python runtimes take no per-canary artifact encryption: the bucket's default (the key) applies.
            timeout=Duration.seconds(
                min(60 * check.every_minutes, URL_TIMEOUT_SECONDS * len(check.urls) + 30)
            ),
            success_retention_period=ARTIFACT_RETENTION,
            failure_retention_period=ARTIFACT_RETENTION,
            start_after_creation=True,
        )
        self._grant_and_acknowledge(key)
        self.alarm = cloudwatch.Alarm(
            self,
            "Alarm",
            alarm_name=check.alarm_name,
            alarm_description="Outage Comms synthetic check from the standby region: the public product does "
            "not answer (" + ", ".join(check.urls)[:900] + ")",
            metric=self.canary.metric_success_percent(
                period=Duration.minutes(check.every_minutes), statistic="Average"
            ),
            threshold=100,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=check.failed_runs,
            datapoints_to_alarm=check.failed_runs,
            # No run, no verdict: a canary that did not run says nothing about the product.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _artifact_bucket(self, key: kms.IKey) -> None:
        """Where run artifacts go: encrypted with the key, expired after two weeks."""
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            lifecycle_rules=[s3.LifecycleRule(expiration=ARTIFACT_RETENTION)],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Canary run artifacts (logs and reports of a URL probe), written only by the canary "
            "role and expired after 14 days; access logs of this bucket would record nothing but "
            "the canary.",
        )

    def _grant_and_acknowledge(self, key: kms.IKey) -> None:
        """The canary role writes encrypted artifacts; why its Synthetics wildcards stay."""
        key.grant_encrypt_decrypt(self.canary.role)
        bucket_resource = self.bucket.node.default_child
        assert isinstance(bucket_resource, CfnElement)
        bucket_id = Stack.of(self).resolve(Stack.of(self).get_logical_id(bucket_resource))
        for finding, reason in (
            (
                "Resource::*",
                "s3:ListAllMyBuckets and cloudwatch:PutMetricData take no resource; "
                "PutMetricData is limited to the CloudWatchSynthetics namespace by a condition",
            ),
            (
                f"Resource::<{bucket_id}.Arn>/runs/*",
                "the canary writes its run artifacts under runs/ of its "
                "own bucket, one object per run, with names Synthetics chooses",
            ),
            (
                "Resource::arn:aws:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/cwsyn-*",
                "the canary's log group is named by Synthetics (/aws/lambda/cwsyn-<canary>-<id>)",
            ),
            ("Action::kms:GenerateDataKey*", "writing artifacts to the bucket encrypted with the key"),
            ("Action::kms:ReEncrypt*", "what CDK grants with the key's encrypt/decrypt for artifacts"),
        ):
            acknowledge(
                self.canary.role, f"AwsSolutions-IAM5[{finding}]", f"Synthetics execution role: {reason}."
            )
        acknowledge(
            self.canary.role,
            "Serverless-LambdaStarPermissions",
            "The canary's execution role (Synthetics runs it as a Lambda function): its only "
            "wildcards are the ones acknowledged for AwsSolutions-IAM5 on this role, each scoped as far "
            "as Synthetics allows.",
        )
