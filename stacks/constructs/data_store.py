"""DynamoDB tables: incidents, subscribers and the Powertools idempotency store.

With a standby region (plan ``regions.standby``) every table is a DynamoDB global table: created
once, in the primary region's core stack, with a replica in the standby encrypted with the standby's
own key (named by its alias ARN: a key cannot leave its region); the standby's stacks import the
replicas by name. docs/regions.md has the design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from outage_comms.intake import store as incident_store
from outage_comms.plan import Plan
from outage_comms_cdk.settings import physical_name

#: Open incidents (sparse): ``gsi1pk = OPEN#<INCIDENT|MAINTENANCE|DRILL>``, ``gsi1sk = <started at>``,
#: set while the incident is open, removed by the write that resolves it. The SLO watchdog and the
#: status publisher query it (``list_needing_slo_check`` / ``list_open``). The name predates that use;
#: renaming a GSI is a delete plus a create, and CloudFormation does one of those per table update.
INCIDENTS_OPEN_BY_COMPONENT_INDEX = incident_store.OPEN_INDEX
#: Recent incidents (keys only): ``updated_year = <YYYY>``, ``updated_at = <ISO 8601>`` on every
#: head item; ``list_recent(since)`` queries the years of its window (``updated_at >= since``), never
#: the whole history.
INCIDENTS_RECENT_INDEX = incident_store.RECENT_INDEX
#: Subscribers by component and locale: ``gsi1pk = <component>#<locale>``, ``gsi1sk = <subscriber id>``.
SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX = "by-component-locale"
#: The attribute layout ``aws_lambda_powertools.utilities.idempotency.DynamoDBPersistenceLayer`` expects.
IDEMPOTENCY_KEY_ATTRIBUTE = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"
#: Which region drives an incident (two-region engines only): ``scope`` is the key, a numeric
#: ``epoch`` fences every write of the owner (the runtime's lease; ``OWNERSHIP_TABLE`` for functions).
OWNERSHIP_KEY_ATTRIBUTE = "scope"
OWNERSHIP_FENCE_ATTRIBUTE = "epoch"
OWNERSHIP_TABLE_ENV = "OWNERSHIP_TABLE"
#: The physical names of the global tables (with the deployment id, see ``physical_name``): the same in
#: both regions, which is how the standby finds its replicas.
GLOBAL_TABLE_NAMES = {
    "Incidents": "outage-comms-incidents",
    "Subscribers": "outage-comms-subscribers",
    "Idempotency": "outage-comms-idempotency",
    "Ownership": "outage-comms-ownership",
    "WorkflowState": "outage-comms-workflow",
}
KEY_ALIAS_BASE = "alias/outage-comms"


@dataclass(frozen=True)
class Replication:
    """Where a stack sits in a two-region engine: ``primary`` creates the global tables, ``standby``
    imports the replicas (same names in both regions)."""

    role: Literal["primary", "standby"]
    primary: str
    standby: str

    def standby_key_alias_arn(self, scope: Construct) -> str:
        """The standby's key by alias ARN (``alias/outage-comms[-<id>]``): known before that key exists."""
        return Stack.of(scope).format_arn(
            service="kms",
            region=self.standby,
            account=Aws.ACCOUNT_ID,
            resource=physical_name(scope, KEY_ALIAS_BASE),
            arn_format=ArnFormat.NO_RESOURCE_NAME,
            partition=Aws.PARTITION,
        )


def replication_for(scope: Construct, plan: Plan) -> Replication | None:
    """The replication role of ``scope``'s stack: None for a single-region plan (tables as they were)."""
    regions = plan.regions
    if regions is None or regions.standby is None:
        return None
    region = Stack.of(scope).region
    if Token.is_unresolved(region):
        raise ValueError("a two-region plan needs stacks with an explicit region (build_app sets it)")
    if region not in (regions.primary, regions.standby):
        raise ValueError(f"stack region {region} is neither regions.primary nor regions.standby")
    role: Literal["primary", "standby"] = "primary" if region == regions.primary else "standby"
    return Replication(role=role, primary=regions.primary, standby=regions.standby)


def replicated_table(
    scope: Construct,
    construct_id: str,
    *,
    replication: Replication,
    key: kms.IKey,
    partition_key: str,
    sort_key: str | None = None,
    time_to_live_attribute: str | None = None,
    indexes: tuple[dynamodb.GlobalSecondaryIndexPropsV2, ...] = (),
) -> dynamodb.ITable:
    """A global table (primary: on-demand, PITR and deletion protection in both regions, the customer
    key in each) or, in the standby, its replica imported by name with the standby's key."""
    name = physical_name(scope, GLOBAL_TABLE_NAMES[construct_id])
    if replication.role == "standby":
        return dynamodb.TableV2.from_table_attributes(
            scope,
            construct_id,
            table_name=name,
            encryption_key=key,
            global_indexes=[index.index_name for index in indexes] or None,
        )
    pitr = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
    return dynamodb.TableV2(
        scope,
        construct_id,
        table_name=name,
        partition_key=_string(partition_key),
        sort_key=_string(sort_key) if sort_key else None,
        billing=dynamodb.Billing.on_demand(),
        point_in_time_recovery_specification=pitr,
        encryption=dynamodb.TableEncryptionV2.customer_managed_key(
            key, replica_key_arns={replication.standby: replication.standby_key_alias_arn(scope)}
        ),
        deletion_protection=True,
        time_to_live_attribute=time_to_live_attribute,
        global_secondary_indexes=list(indexes) or None,
        replicas=[
            dynamodb.ReplicaTableProps(
                region=replication.standby,
                deletion_protection=True,
                point_in_time_recovery_specification=pitr,
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def _index(
    name: str, partition_key: str, sort_key: str, *, keys_only: bool = False
) -> dynamodb.GlobalSecondaryIndexPropsV2:
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=name,
        partition_key=_string(partition_key),
        sort_key=_string(sort_key),
        projection_type=dynamodb.ProjectionType.KEYS_ONLY if keys_only else dynamodb.ProjectionType.ALL,
    )


def incident_index_arns(table: dynamodb.ITable, *index_names: str) -> list[str]:
    """The ARNs of the incidents table's indexes: grant ``dynamodb:Query`` on these, never the table."""
    return [f"{table.table_arn}/index/{name}" for name in index_names]


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DataStore(Construct):
    """On-demand tables with point-in-time recovery, the customer-managed key and deletion protection.

    Incidents and subscribers outlive the stack (``RETAIN``): they are the record of what was said
    to whom. The idempotency table holds only short-lived keys but is kept as well: deletion
    protection would make a ``DESTROY`` policy fail the stack deletion.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, replication: Replication | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        #: The ownership table of a two-region engine (None in one region).
        self.ownership: dynamodb.ITable | None = None
        if replication is not None:
            self._global_tables(key, replication)
            return
        self.incidents: dynamodb.ITable
        self.subscribers: dynamodb.ITable
        self.idempotency: dynamodb.ITable
        incidents = self._table("Incidents", key=key, partition_key="pk", sort_key="sk")
        self.incidents = incidents
        incidents.add_global_secondary_index(
            index_name=INCIDENTS_OPEN_BY_COMPONENT_INDEX,
            partition_key=_string(incident_store.OPEN_PK),
            sort_key=_string(incident_store.OPEN_SK),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # One GSI added in this release: CloudFormation creates or deletes one GSI per table update.
        incidents.add_global_secondary_index(
            index_name=INCIDENTS_RECENT_INDEX,
            partition_key=_string(incident_store.RECENT_BUCKET),
            sort_key=_string(incident_store.RECENT_SORT),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # Unconfirmed sign-ups and abuse counters carry ``expires_at`` and disappear on their own.
        subscribers = self._table(
            "Subscribers", key=key, partition_key="pk", sort_key="sk", time_to_live_attribute="expires_at"
        )
        self.subscribers = subscribers
        subscribers.add_global_secondary_index(
            index_name=SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX,
            partition_key=_string("gsi1pk"),
            sort_key=_string("gsi1sk"),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.idempotency = self._table(
            "Idempotency",
            key=key,
            partition_key=IDEMPOTENCY_KEY_ATTRIBUTE,
            time_to_live_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
        )

    def grant_ownership(self, function: lambda_.Function, key: kms.IKey) -> None:
        """Let ``function`` read and conditionally write the ownership record (``OWNERSHIP_TABLE``).

        Nothing in a single-region engine: there is no ownership table to grant.
        """
        if self.ownership is None:
            return
        function.add_environment(OWNERSHIP_TABLE_ENV, self.ownership.table_name)
        function.add_to_role_policy(
            iam.PolicyStatement(
                # ConditionCheckItem: the delivery claim's fence is a transaction item (regions/fence.py)
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[self.ownership.table_arn],
            )
        )
        # The table's key, without the wildcard actions ``grant_encrypt_decrypt`` would add.
        key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")

    def _global_tables(self, key: kms.IKey, replication: Replication) -> None:
        """The same tables and indexes as global tables, plus the ownership table (``scope`` / ``epoch``)."""
        self.incidents = replicated_table(
            self,
            "Incidents",
            replication=replication,
            key=key,
            partition_key="pk",
            sort_key="sk",
            indexes=(
                _index(INCIDENTS_OPEN_BY_COMPONENT_INDEX, incident_store.OPEN_PK, incident_store.OPEN_SK),
                _index(
                    INCIDENTS_RECENT_INDEX,
                    incident_store.RECENT_BUCKET,
                    incident_store.RECENT_SORT,
                    keys_only=True,
                ),
            ),
        )
        self.subscribers = replicated_table(
            self,
            "Subscribers",
            replication=replication,
            key=key,
            partition_key="pk",
            sort_key="sk",
            time_to_live_attribute="expires_at",
            indexes=(_index(SUBSCRIBERS_BY_COMPONENT_LOCALE_INDEX, "gsi1pk", "gsi1sk"),),
        )
        self.idempotency = replicated_table(
            self,
            "Idempotency",
            replication=replication,
            key=key,
            partition_key=IDEMPOTENCY_KEY_ATTRIBUTE,
            time_to_live_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
        )
        self.ownership = replicated_table(
            self, "Ownership", replication=replication, key=key, partition_key=OWNERSHIP_KEY_ATTRIBUTE
        )

    def _table(
        self,
        construct_id: str,
        *,
        key: kms.IKey,
        partition_key: str,
        sort_key: str | None = None,
        time_to_live_attribute: str | None = None,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=_string(partition_key),
            sort_key=_string(sort_key) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            deletion_protection=True,
            time_to_live_attribute=time_to_live_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
