"""Deploying the synthesized stacks into moto, each in its own region (moto keeps a backend per region).

1. Every file asset in ``cdk.out/*.assets.json`` is zipped (or copied) into a moto bucket named as the
   manifest says (``cdk-hnb659fds-assets-<account>-<region>``), for each region it names.
2. Every stack is created in moto CloudFormation in dependency order, in the region of its environment
   (``aws://<account>/<region>``; an environment-agnostic stack goes to the harness's home region), after
   the documented template patches in :mod:`.template_patches` (none touches a state machine definition).
   A global table is one moto table shared by every replica region (``global-table-shared``).
3. moto keeps CloudFormation-created state machines in its non-executing backend: the definition moto
   resolved from the template (``Fn::Join`` / ``Fn::GetAtt``) is re-registered, unchanged, through the Step
   Functions API of the same region, whose backend executes it.
4. Each function's environment from the template is kept per region (``/var/task`` -> the asset
   directory); the home region's is the process's, another region's is set around its functions' calls.
5. Harness-only setup that a real account does once, by hand, in every region: the plan's sender address
   is a verified SES identity (SES v1 and v2 share moto's backend); SSM parameters that templates read
   (``AWS::SSM::Parameter::Value`` parameters, e.g. the push application id) exist; the channel secrets
   the plan names exist in Secrets Manager, pointing at :class:`.channel_sink.ChannelSink`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from outage_comms_embedded.template_patches import global_table_replicas, patch_template

TASK_ROOT = "/var/task"
#: Variables set only while the function that has them runs (see :mod:`.lambda_router`).
_PER_FUNCTION = frozenset({"WORKFLOW_HANDOFF_QUEUE_URL"})
_INCIDENT_STATE_MACHINE_NAMES = re.compile(r"^outage-comms(-[a-z0-9-]+)?-incident$")
_STATUS_ACCESS_ROLE_NAMES = re.compile(r'"RoleName": "OutageComms(-[a-z0-9-]+-)?StatusPublisherAccess"')
_INCIDENT_STATE_MACHINE_IN_TEMPLATE = re.compile(r'"StateMachineName": "outage-comms(-[a-z0-9-]+)?-incident"')
INTAKE_HANDLER = "handlers.intake.handler"


def is_incident_state_machine(name: object) -> bool:
    """Whether ``name`` is the incident-comms state machine's, with or without a deployment id."""
    return isinstance(name, str) and bool(_INCIDENT_STATE_MACHINE_NAMES.match(name))


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _event_bus_reprs(account: str, region: str) -> dict[str, str]:
    """moto's event buses by the repr moto's CloudFormation gives for ``Ref`` to them -> their names."""
    from moto.events.models import events_backends

    return {str(bus): bus.name for bus in events_backends[account][region].event_buses.values()}


class Deployment:
    """Mixin of :class:`~outage_comms_embedded.harness.EmbeddedAws`: assets, stacks and one-time set-up."""

    # Provided by EmbeddedAws.
    cdk_out: Path
    account: str
    region: str
    stacks: dict[str, dict[str, str]]
    outputs: dict[str, dict[str, str]]
    templates: dict[str, dict[str, Any]]
    patches: dict[str, list[str]]
    asset_dirs: list[Path]
    only_stacks: list[str]
    with_status_site: bool
    with_intake: bool
    region_environments: dict[str, dict[str, str]]
    channel_secrets: dict[str, dict[str, str]]
    sink: Any
    _renamed: dict[str, str]
    _shared_tables: dict[str, set[str]]
    _original_transact: Any
    client: Callable[..., Any]
    _set_env: Callable[[Mapping[str, str]], None]
    _reset_caches: Callable[[], None]

    def _manifest(self) -> dict[str, Any]:
        cached: dict[str, Any] | None = self.__dict__.get("_manifest_cache")
        if cached is None:
            cached = self.__dict__["_manifest_cache"] = dict(
                json.loads((self.cdk_out / "manifest.json").read_text())
            )
        return cached

    def stack_region(self, name: str) -> str:
        """The region a stack deploys to (its environment's; the home region for an agnostic stack)."""
        environment = str(self._manifest()["artifacts"].get(name, {}).get("environment", ""))
        region = environment.rsplit("/", 1)[-1] if environment.startswith("aws://") else ""
        return self.region if not region or region.startswith("unknown-") else region

    def _stack_order(self) -> list[str]:
        artifacts = self._manifest()["artifacts"]
        stacks = {k: v for k, v in artifacts.items() if v["type"] == "aws:cloudformation:stack"}
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            for dependency in stacks[name].get("dependencies", []):
                if dependency in stacks:
                    visit(dependency)
            ordered.append(name)

        def holding(pattern: re.Pattern[str] | str) -> list[str]:
            found = []
            for name in stacks:
                text = (self.cdk_out / f"{name}.template.json").read_text()
                if (pattern in text) if isinstance(pattern, str) else pattern.search(text):
                    found.append(name)
            return found

        wanted = self.only_stacks or holding(_INCIDENT_STATE_MACHINE_IN_TEMPLATE)
        if self.with_intake:
            wanted += holding(f'"Handler": "{INTAKE_HANDLER}"')
        if self.with_status_site:
            wanted += holding(_STATUS_ACCESS_ROLE_NAMES)
        for name in wanted:
            visit(name)
        return ordered

    def _upload_assets(self) -> None:
        s3 = self.client("s3", region="us-east-1")  # buckets are global; us-east-1 needs no constraint
        buckets: set[str] = set()
        for manifest in sorted(self.cdk_out.glob("*.assets.json")):
            for asset in json.loads(manifest.read_text()).get("files", {}).values():
                source = self.cdk_out / asset["source"]["path"]
                for destination in asset["destinations"].values():
                    region = str(destination.get("region") or self.region)
                    bucket = (
                        destination["bucketName"]
                        .replace("${AWS::AccountId}", self.account)
                        .replace("${AWS::Region}", region)
                    )
                    if bucket not in buckets:
                        s3.create_bucket(Bucket=bucket)
                        buckets.add(bucket)
                    if asset["source"].get("packaging") == "zip":
                        if source not in self.asset_dirs:
                            self.asset_dirs.append(source)
                        body = _zip_directory(source)
                    else:
                        body = source.read_bytes()
                    s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)

    def _create_stack(self, name: str) -> None:
        region = self.stack_region(name)
        template = json.loads((self.cdk_out / f"{name}.template.json").read_text())
        self.templates[name] = template
        patched, applied = patch_template(
            template,
            lambda stack, output: self.outputs[stack][output],
            self._create_secret(name, region),
            lambda logical_id, props: self._create_schedule_group(logical_id, props, region),
            region=region,
        )
        self.patches[name] = list(dict.fromkeys(applied))
        s3, cfn = self.client("s3", region="us-east-1"), self.client("cloudformation", region=region)
        bucket = f"embedded-templates-{self.account}"
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=f"{name}.json", Body=json.dumps(patched).encode())
        self._create_ssm_parameters(patched, region)
        try:
            cfn.create_stack(
                StackName=name,
                TemplateURL=f"https://{bucket}.s3.amazonaws.com/{name}.json",
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except Exception as exc:
            raise RuntimeError(f"moto could not create stack {name}: {exc}") from exc
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            reason = stack.get("StackStatusReason")
            raise RuntimeError(f"moto could not create {name}: {stack['StackStatus']} {reason}")
        self._record_stack(cfn, name, stack, region)
        self._share_global_tables(name, region)

    def _record_stack(self, cfn: Any, name: str, stack: dict[str, Any], region: str) -> None:
        resources: dict[str, str] = {}
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                physical = str(resource["PhysicalResourceId"])
                if resource["ResourceType"] == "AWS::Events::EventBus":
                    # Patch ``event-bus-ref``: moto's EventBus has no physical id, and ``Ref`` to it
                    # (an output, a function's EVENT_BUS_NAME) is the object's repr: both become its name.
                    props = self.templates[name]["Resources"][resource["LogicalResourceId"]]["Properties"]
                    physical = str(props["Name"])
                    self._renamed.update(_event_bus_reprs(self.account, region))
                    self.patches.setdefault(name, []).append(f"event-bus-ref:{resource['LogicalResourceId']}")
                resources[resource["LogicalResourceId"]] = physical
        self.stacks[name] = resources
        self.outputs[name] = {
            o["OutputKey"]: self._renamed.get(o["OutputValue"], o["OutputValue"])
            for o in stack.get("Outputs", [])
        }

    def _share_global_tables(self, name: str, region: str) -> None:
        """Patch ``global-table-shared``: the one moto table is every replica region's table too."""
        from moto.dynamodb.models import dynamodb_backends

        for logical_id, resource in self.templates[name]["Resources"].items():
            replicas = [r for r in global_table_replicas(resource) if r != region]
            if not replicas or logical_id not in self.stacks[name]:
                continue
            table_name = self.stacks[name][logical_id]
            table = dynamodb_backends[self.account][region].tables[table_name]
            for replica in replicas:
                dynamodb_backends[self.account][replica].tables[table_name] = table
            self._shared_tables.setdefault(table_name, set()).update({region, *replicas})
            self.patches.setdefault(name, []).append(
                f"global-table-shared:{logical_id} ({region} -> {', '.join(replicas)})"
            )

    def _keep_tables_shared(self) -> None:
        """moto rolls a failed ``TransactWriteItems`` back by putting deep copies of the tables it touched
        into that region's backend, which silently ends ``global-table-shared`` (the regions' "replicas"
        would drift apart from then on: a fenced delivery or a refused hand-back is such a failure). After
        every transaction, point each replica region at the table its region now holds."""
        from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

        if self._original_transact is not None or not self._shared_tables:
            return
        original = self._original_transact = DynamoDBBackend.transact_write_items
        shared, account = self._shared_tables, self.account

        def transact(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            try:
                original(backend, transact_items)
            finally:
                for table_name, regions in shared.items():
                    table = backend.tables.get(table_name)
                    if table is None or backend.region_name not in regions:
                        continue
                    for region in regions:
                        dynamodb_backends[account][region].tables[table_name] = table

        DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]

    def _forget_shared_tables(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        if self._original_transact is not None:
            DynamoDBBackend.transact_write_items = self._original_transact  # type: ignore[method-assign]
        self._original_transact = None
        self._shared_tables.clear()

    def _create_ssm_parameters(self, template: Mapping[str, Any], region: str) -> None:
        """SSM-typed template parameters read a parameter the account holds; here the harness writes it."""
        ssm = self.client("ssm", region=region)
        for name, parameter in template.get("Parameters", {}).items():
            path = parameter.get("Default")
            if not str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value") or not path:
                continue
            if path.startswith("/cdk-bootstrap/"):
                continue
            ssm.put_parameter(Name=path, Value=f"embedded-{name.lower()}", Type="String", Overwrite=True)
            self.patches.setdefault("ssm-parameters", []).append(path)

    def _create_schedule_group(
        self, logical_id: str, props: Mapping[str, Any], region: str | None = None
    ) -> tuple[str, str]:
        name = str(props.get("Name") or logical_id)
        response = self.client("scheduler", region=region).create_schedule_group(Name=name)
        return name, str(response["ScheduleGroupArn"])

    def _create_secret(
        self, stack: str, region: str | None = None
    ) -> Callable[[str, Mapping[str, Any]], str]:
        def create(logical_id: str, props: Mapping[str, Any]) -> str:
            import secrets as random

            generate = props.get("GenerateSecretString") or {}
            value = random.token_urlsafe(int(generate.get("PasswordLength", 32)))
            response = self.client("secretsmanager", region=region).create_secret(
                Name=f"{stack}-{logical_id}",
                SecretString=value,
                Description=str(props.get("Description", "")),
            )
            return str(response["ARN"])

        return create

    def _apply_function_environments(self) -> None:
        """Each region's functions' variables, merged; the home region's become the process's."""
        merged: dict[str, dict[str, str]] = {}
        for name, template in self.templates.items():
            region = self.stack_region(name)
            lambda_client = self.client("lambda", region=region)
            into = merged.setdefault(region, {})
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::Lambda::Function":
                    continue
                config = lambda_client.get_function_configuration(FunctionName=self.stacks[name][logical_id])
                variables = config.get("Environment", {}).get("Variables", {})
                for key, value in variables.items():
                    if key == "POWERTOOLS_SERVICE_NAME" or key in _PER_FUNCTION:
                        continue
                    value = self._with_stage_names(self._renamed.get(value, value))
                    if value.startswith(TASK_ROOT) and self.asset_dirs:
                        value = str(self.asset_dirs[0]) + value.removeprefix(TASK_ROOT)
                    into[key] = value
        self.region_environments = merged
        self._set_env(merged.get(self.region, {}))
        self._reset_caches()

    def _stage_names(self) -> dict[str, str]:
        """REST API id -> its stage's name, from the templates (moto's CloudFormation skips
        ``AWS::ApiGateway::Stage``, so ``Ref`` to a stage resolves to ``None``)."""
        names: dict[str, str] = {}
        for stack, template in self.templates.items():
            for resource in template["Resources"].values():
                props = resource.get("Properties", {})
                api = props.get("RestApiId")
                if resource["Type"] == "AWS::ApiGateway::Stage" and isinstance(api, dict) and "Ref" in api:
                    physical = self.stacks.get(stack, {}).get(api["Ref"])
                    if physical and props.get("StageName"):
                        names[physical] = str(props["StageName"])
        return names

    def _with_stage_names(self, value: str) -> str:
        """Patch ``api-stage-name``: ``https://<api>.execute-api.<region>.amazonaws.com/None/...`` gets the
        stage the template names, so no link a person reads carries ``None``."""
        if "/None" not in value or ".execute-api." not in value:
            return value
        stages = self._stage_names()

        def named(match: re.Match[str]) -> str:
            stage = stages.get(match.group(2))
            return f"{match.group(1)}/{stage}" if stage else match.group(0)

        fixed = re.sub(
            r"(https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com)/None(?=/|$)", named, value
        )
        applied = self.patches.setdefault("api-stage-name", [])
        if fixed != value and fixed[:120] not in applied:
            applied.append(fixed[:120])
        return fixed

    def _fix_parameter_stage_names(self) -> None:
        """The same for SSM parameters the templates create (the compose page's URL)."""
        for stack, template in self.templates.items():
            ssm = self.client("ssm", region=self.stack_region(stack))
            for resource in template["Resources"].values():
                name = resource.get("Properties", {}).get("Name")
                if resource["Type"] != "AWS::SSM::Parameter" or not isinstance(name, str):
                    continue
                with contextlib.suppress(Exception):
                    value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
                    fixed = self._with_stage_names(value)
                    if fixed != value:
                        ssm.put_parameter(Name=name, Value=fixed, Type="String", Overwrite=True)

    def _register_state_machines(self) -> None:
        from moto.stepfunctions.models import stepfunctions_backends

        for name, template in self.templates.items():
            region = self.stack_region(name)
            plain = stepfunctions_backends[self.account][region]
            sfn = self.client("stepfunctions", region=region)
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::StepFunctions::StateMachine":
                    continue
                created = plain.describe_state_machine(self.stacks[name][logical_id])
                try:
                    sfn.create_state_machine(
                        name=created.name,
                        definition=created.definition,
                        roleArn=created.roleArn,
                        type=resource["Properties"].get("StateMachineType", "STANDARD"),
                    )
                except sfn.exceptions.ClientError as error:
                    if is_incident_state_machine(created.name):
                        raise
                    # Harness patch ``state-machine-not-executable``: moto's ASL parser refuses the
                    # channels stack's Distributed Map (ItemBatcher, ResultWriter, EXPRESS children).
                    # It stays as CloudFormation created it (described, not executed); the incident
                    # workflow's definition is never touched. Only a bulk hand-off (audiences above
                    # INLINE_LIMIT) would start it, and the drill's audience is smaller.
                    reason = str(error).split("[", 1)[0].strip()
                    self.patches.setdefault(name, []).append(
                        f"state-machine-not-executable:{logical_id} ({reason})"
                    )

    def _deployed_regions(self) -> list[str]:
        """The regions stacks went to, the home region first."""
        found = [self.stack_region(name) for name in self.templates]
        return list(dict.fromkeys([self.region, *found]))

    def _verify_senders(self) -> None:
        plan = self._plan_document()
        if not plan:
            return
        addresses = {plan["roles"][role]["email"] for role in plan["roles"]}
        email = (plan.get("channels") or {}).get("email") or {}
        if email.get("from_address"):
            addresses.add(email["from_address"])
        standby = ((plan.get("regions") or {}).get("standby_channels") or {}).get("email_from_address")
        if standby:
            addresses.add(standby)
        for region in self._deployed_regions():
            ses = self.client("ses", region=region)
            for address in sorted(addresses):
                ses.verify_email_identity(EmailAddress=address)

    def _plan_document(self) -> dict[str, Any]:
        import yaml

        plan_file = self.asset_dirs[0] / "plan.json" if self.asset_dirs else None
        if plan_file is None or not plan_file.exists():
            return {}
        return dict(yaml.safe_load(plan_file.read_text()))

    def _create_channel_secrets(self) -> None:
        """The plan's channel secrets, as an operator would store them, aimed at the local sink (each
        channel's spec says how: :func:`.channel_sink.channel_secrets`). Secrets are regional: each
        engine region gets the same ones."""
        from outage_comms_embedded.channel_sink import channel_secrets

        values = channel_secrets(self._plan_document().get("channels") or {}, self.sink)
        for region in self._deployed_regions():
            client = self.client("secretsmanager", region=region)
            for name, value in values.items():
                client.create_secret(Name=name, SecretString=json.dumps(value))
        self.channel_secrets = values
