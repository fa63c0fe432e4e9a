"""DynamoDB tables: incidents, subscribers and the Powertools idempotency store."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from outage_comms.intake import store as incident_store

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

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.incidents = self._table("Incidents", key=key, partition_key="pk", sort_key="sk")
        self.incidents.add_global_secondary_index(
            index_name=INCIDENTS_OPEN_BY_COMPONENT_INDEX,
            partition_key=_string(incident_store.OPEN_PK),
            sort_key=_string(incident_store.OPEN_SK),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # One GSI added in this release: CloudFormation creates or deletes one GSI per table update.
        self.incidents.add_global_secondary_index(
            index_name=INCIDENTS_RECENT_INDEX,
            partition_key=_string(incident_store.RECENT_BUCKET),
            sort_key=_string(incident_store.RECENT_SORT),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # Unconfirmed sign-ups and abuse counters carry ``expires_at`` and disappear on their own.
        self.subscribers = self._table(
            "Subscribers", key=key, partition_key="pk", sort_key="sk", time_to_live_attribute="expires_at"
        )
        self.subscribers.add_global_secondary_index(
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
