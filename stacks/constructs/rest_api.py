"""The REST API shape every Outage Comms API shares.

A regional, IPv4-only API (so a client cannot rotate through its IPv6 /64 to escape per-address
limits) with no account-wide CloudWatch role, JSON access logs in an encrypted log group
kept for a year, X-Ray tracing, stage throttling, and one request validator that checks both
the body and the parameters; with a web ACL (the plan's ``edge.waf``) the stage is associated
with it. Each caller adds its own resources, models and cdk-nag
acknowledgments (on its own API, with its own reasons).

It is a function, not a construct, so the API and its log group keep their construct paths
(and logical IDs) under the caller's scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from outage_comms_cdk.constructs.web_acl import PublicWebAcl


@dataclass(frozen=True)
class RegionalRestApi:
    api: apigw.RestApi
    access_logs: logs.LogGroup
    #: Validates the request body and the request parameters.
    validator: apigw.RequestValidator


def regional_rest_api(
    scope: Construct,
    *,
    api_id: str = "Api",
    access_logs_id: str = "AccessLogs",
    validator_id: str,
    log_group_name: str,
    key: kms.IKey,
    rest_api_name: str,
    description: str,
    stage_name: str,
    throttling_rate_limit: int,
    throttling_burst_limit: int,
    iam_authorization: bool,
    log_caller_identity: bool = True,
    metrics_enabled: bool = True,
    web_acl: PublicWebAcl | None = None,
) -> RegionalRestApi:
    """Create the API, its access-log group and its body-and-parameters validator in ``scope``.

    ``iam_authorization`` makes SigV4 (IAM) the default for every method; ``log_caller_identity``
    puts the caller's account and user ARN in the access logs (off for public APIs); ``web_acl``
    (regional) protects the stage.
    """
    access_logs = logs.LogGroup(
        scope,
        access_logs_id,
        log_group_name=log_group_name,
        encryption_key=key,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=RemovalPolicy.RETAIN,
    )
    api = apigw.RestApi(
        scope,
        api_id,
        rest_api_name=rest_api_name,
        description=description,
        endpoint_configuration=apigw.EndpointConfiguration(
            types=[apigw.EndpointType.REGIONAL], ip_address_type=apigw.IpAddressType.IPV4
        ),
        cloud_watch_role=False,
        default_method_options=(
            apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM) if iam_authorization else None
        ),
        deploy_options=_stage_options(
            stage_name=stage_name,
            access_logs=access_logs,
            log_caller_identity=log_caller_identity,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            metrics_enabled=metrics_enabled,
        ),
    )
    validator = api.add_request_validator(
        validator_id, validate_request_body=True, validate_request_parameters=True
    )
    if web_acl is not None:
        web_acl.protect_stage(api.deployment_stage)
    return RegionalRestApi(api=api, access_logs=access_logs, validator=validator)


def _stage_options(
    *,
    stage_name: str,
    access_logs: logs.LogGroup,
    log_caller_identity: bool,
    throttling_rate_limit: int,
    throttling_burst_limit: int,
    metrics_enabled: bool,
) -> apigw.StageOptions:
    """The stage: JSON access logs (the caller's identity only when asked), throttling, X-Ray."""
    return apigw.StageOptions(
        stage_name=stage_name,
        access_log_destination=apigw.LogGroupLogDestination(access_logs),
        access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
            caller=log_caller_identity,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=log_caller_identity,
        ),
        throttling_rate_limit=throttling_rate_limit,
        throttling_burst_limit=throttling_burst_limit,
        tracing_enabled=True,
        metrics_enabled=metrics_enabled,
    )
