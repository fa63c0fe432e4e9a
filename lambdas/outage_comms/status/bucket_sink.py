"""The status account's bucket, dashboard, metric and distribution, reached through boto3 clients (the
publisher's :class:`~outage_comms.status.publisher.StatusSink` in Lambda)."""

from __future__ import annotations

import json
import time
from typing import Any

from outage_comms.status.state import STATE_KEY
from outage_comms.status.view import Artefact


class StatusPublishError(Exception):
    """The status surfaces could not be updated (the state machine retries on this name)."""


class Boto3StatusSink:
    """The status account's bucket, dashboard, metric and distribution, through boto3 clients."""

    def __init__(
        self,
        *,
        s3: Any,
        cloudwatch: Any,
        cloudfront: Any | None,
        bucket: str,
        dashboard_name: str,
        distribution_id: str | None,
    ) -> None:
        self._s3 = s3
        self._cloudwatch = cloudwatch
        self._cloudfront = cloudfront
        self._bucket = bucket
        self._dashboard = dashboard_name
        self._distribution = distribution_id

    @classmethod
    def assuming_role(
        cls,
        *,
        role_arn: str,
        region: str,
        bucket: str,
        dashboard_name: str,
        distribution_id: str | None,
        session_name: str = "outage-comms-status-publisher",
    ) -> Boto3StatusSink:
        """Clients in the status account, with the publisher role's temporary credentials."""
        import boto3

        credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        return cls(
            s3=session.client("s3"),
            cloudwatch=session.client("cloudwatch"),
            cloudfront=session.client("cloudfront") if distribution_id else None,
            bucket=bucket,
            dashboard_name=dashboard_name,
            distribution_id=distribution_id,
        )

    def etags(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["ETag"].strip('"')
        return found

    def read_state(self) -> bytes | None:
        """The publisher's state object (never served: the edge answers 404 under ``_publisher/``)."""
        try:
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=STATE_KEY)["Body"].read())
        except self._s3.exceptions.NoSuchKey:
            return None

    def write_state(self, body: bytes) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=STATE_KEY,
            Body=body,
            ContentType="application/gzip",
            CacheControl="no-store",
        )

    def put_object(self, key: str, artefact: Artefact) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=artefact.body,
            ContentType=artefact.content_type,
            CacheControl=artefact.cache_control,
        )

    def put_dashboard(self, body: str) -> None:
        response = self._cloudwatch.put_dashboard(DashboardName=self._dashboard, DashboardBody=body)
        problems = response.get("DashboardValidationMessages") or []
        if problems:
            raise StatusPublishError(f"dashboard {self._dashboard} rejected its body: {json.dumps(problems)}")

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        for start in range(0, len(data), 1000):
            self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 1000])

    def invalidate(self, paths: list[str]) -> None:
        if self._cloudfront is None or not self._distribution:
            return
        self._cloudfront.create_invalidation(
            DistributionId=self._distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"outage-comms-{time.time_ns()}",
            },
        )
