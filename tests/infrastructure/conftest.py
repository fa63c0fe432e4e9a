"""Shared fixtures for the infrastructure tier: each app is synthesized once per session (per worker)."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda_destinations as destinations
from synthesized_apps import EXAMPLE_PLAN, FUNCTION_STACK, Synthesized, new_app, synthesize

from outage_comms.plan import Plan, load_plan
from outage_comms_cdk.settings import cdk_json_context


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


@pytest.fixture(scope="session")
def powertools_layer_version() -> int:
    return int(cdk_json_context()["powertools_layer_version"])


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The real app (app.py's build_app) on the example plan, with the nag gate on."""
    from app import CORE_STACK_NAME, build_app

    app = build_app(new_app(tmp_path_factory.mktemp("core-cdk.out"), plan=str(EXAMPLE_PLAN)))
    synthesized = synthesize(app)
    assert CORE_STACK_NAME in synthesized.templates
    return synthesized


@pytest.fixture(scope="session")
def function_stack(
    tmp_path_factory: pytest.TempPathFactory, example_plan: Plan, powertools_layer_version: int
) -> Synthesized:
    """A test-only stack holding functions built by the factory, with the nag gate on."""
    from outage_comms_cdk.constructs.encryption import EncryptionKey
    from outage_comms_cdk.constructs.event_archive import EventArchive
    from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
    from outage_comms_cdk.quality_gates import apply_quality_gates

    app = new_app(tmp_path_factory.mktemp("function-cdk.out"))
    stack = Stack(app, FUNCTION_STACK)
    key = EncryptionKey(stack, "Encryption", alias="alias/outage-comms-test").key
    events = EventArchive(stack, "Events", key=key, bus_name="outage-comms-test")
    runtime = LambdaRuntime(
        stack, "LambdaRuntime", plan=example_plan, key=key, powertools_layer_version=powertools_layer_version
    )
    runtime.new_function(
        stack,
        "Probe",
        handler="handlers.feedback_api.handler",  # a real handler: its asset is its import closure
        description="test-only function proving the factory",
        service_name="probe",
        reserved_concurrent_executions=5,
        on_failure=destinations.SqsDestination(events.dead_letter_queue),
    )
    runtime.new_function(
        stack,
        "SyncProbe",
        handler="handlers.feedback_api.handler",  # a real handler: its asset is its import closure
        description="test-only synchronous function",
        service_name="sync-probe",
        synchronous_only_reason="the test state machine's Retry/Catch handles failures",
    )
    apply_quality_gates(app)
    return synthesize(app)
