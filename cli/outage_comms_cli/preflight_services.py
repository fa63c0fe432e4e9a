"""The messaging checks of `outage-comms preflight`: the chat app on the internal topic, a CloudTrail
trail for Incident Manager, End User Messaging origination identities and SNS text messages for paging.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from outage_comms.plan import Plan, deployed_name
from outage_comms.vocabulary import Channel
from outage_comms_cli.preflight_checks import AWS_ERRORS, NOT_FOUND, Check, Target, denied, error_code

#: The chat app's API lives in a few regions; its configurations are global (console: us-east-2).
CHATBOT_REGION = "us-east-2"
INCIDENT_MANAGER_SOURCE = "ssm-incidents.amazonaws.com"


# --- Amazon Q Developer in chat applications ----------------------------------------------------


def check_chat_app(plan: Plan, target: Target) -> list[Check]:
    chatbot = plan.channels.chatbot
    if chatbot is None or not chatbot.enabled:
        return []
    # The stacks put the plan's deployment id into the topic's name (outage_comms_cdk.settings).
    topic_name = deployed_name(chatbot.topic_name, plan.deployment.id)
    topic = f"arn:{target.partition}:sns:{target.region}:{target.account()}:{topic_name}"
    what = f"chat app channel on the internal topic {topic_name}"
    try:
        target.client("sns").get_topic_attributes(TopicArn=topic)
    except AWS_ERRORS as exc:
        if error_code(exc) not in NOT_FOUND:
            return [denied("Chat app", what, exc, "sns:GetTopicAttributes")]
        return [
            Check(
                "Chat app",
                what,
                None,
                "the topic does not exist yet: the first deploy creates it",
                "after the deploy, add the topic to a Slack or Teams channel configuration; run this again",
            )
        ]
    try:
        channels = list(_chat_channels(target.client("chatbot", CHATBOT_REGION)))
    except AWS_ERRORS as exc:
        return [denied("Chat app", what, exc, "chatbot:DescribeSlackChannelConfigurations, chatbot:List*")]
    names = [name for name, topics, state in channels if topic in topics and state != "DISABLED"]
    if names:
        return [Check("Chat app", what, True, ", ".join(names))]
    return [
        Check(
            "Chat app",
            what,
            False,
            "no Slack or Microsoft Teams channel configuration receives it",
            "Amazon Q Developer in chat applications console → configure a client (Slack or Teams) → "
            f"configure a channel → Notifications: region {target.region}, topic {topic_name}",
        )
    ]


def _chat_channels(chatbot: Any) -> Iterator[tuple[str, list[str], str]]:
    for operation, key, label in (
        ("describe_slack_channel_configurations", "SlackChannelConfigurations", "SlackChannelName"),
        ("list_microsoft_teams_channel_configurations", "TeamChannelConfigurations", "ChannelName"),
    ):
        token: str | None = None
        while True:
            page = getattr(chatbot, operation)(**({"NextToken": token} if token else {}))
            for config in page.get(key, []):
                yield (
                    str(config.get(label) or config.get("ConfigurationName", "")),
                    list(config.get("SnsTopicArns", [])),
                    str(config.get("State", "ENABLED")),
                )
            token = page.get("NextToken")
            if not token:
                break


# --- CloudTrail (Incident Manager's events reach EventBridge only through a trail) --------------


def uses_incident_manager(plan: Plan) -> bool:
    return any(severity.incident_manager_impact for severity in plan.severities)


def check_cloudtrail(plan: Plan, target: Target) -> list[Check]:
    if not uses_incident_manager(plan):
        return []
    what = f"a trail logging management (write) events in {target.region}, for Incident Manager"
    trail_api = target.client("cloudtrail")
    try:
        trails = trail_api.describe_trails(includeShadowTrails=True).get("trailList", [])
        for trail in trails:
            if not (trail.get("IsMultiRegionTrail") or trail.get("HomeRegion") == target.region):
                continue
            arn = trail.get("TrailARN") or trail["Name"]
            if not trail_api.get_trail_status(Name=arn).get("IsLogging"):
                continue
            if logs_incident_manager_writes(trail_api.get_event_selectors(TrailName=arn)):
                return [Check("CloudTrail", what, True, f"trail {trail['Name']}")]
    except AWS_ERRORS as exc:
        return [
            denied("CloudTrail", what, exc, "cloudtrail:DescribeTrails, GetTrailStatus, GetEventSelectors")
        ]
    return [
        Check(
            "CloudTrail",
            what,
            False,
            "no logging trail records them: Incident Manager's incidents would never reach Outage Comms",
            "aws cloudtrail create-trail --name outage-comms-management --s3-bucket-name <a bucket for trail "
            "logs> --is-multi-region-trail && aws cloudtrail start-logging --name outage-comms-management "
            "(management events, read/write: All or WriteOnly)",
        )
    ]


def logs_incident_manager_writes(selectors: dict[str, Any]) -> bool:
    """Whether a trail's event selectors record Incident Manager's write (management) API calls."""
    basic = selectors.get("EventSelectors")
    advanced = selectors.get("AdvancedEventSelectors")
    if not basic and not advanced:
        return True  # a trail without selectors logs every management event
    for selector in basic or []:
        if (
            selector.get("IncludeManagementEvents", True)
            and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
            and INCIDENT_MANAGER_SOURCE not in selector.get("ExcludeManagementEventSources", [])
        ):
            return True
    return any(_advanced_selects(selector.get("FieldSelectors", [])) for selector in advanced or [])


def _advanced_selects(fields: list[dict[str, Any]]) -> bool:
    """Every field selector must let a management write call from ssm-incidents through."""
    values = {"eventCategory": "Management", "readOnly": "false", "eventSource": INCIDENT_MANAGER_SOURCE}
    category = [f for f in fields if f.get("Field") == "eventCategory"]
    if not category or "Management" not in category[0].get("Equals", []):
        return False
    for selector in fields:
        value = values.get(str(selector.get("Field")))
        if value is None:
            return False  # a data-event field: not a management selector
        if "Equals" in selector and value not in selector["Equals"]:
            return False
        if value in selector.get("NotEquals", []):
            return False
        if selector.get("StartsWith") and not any(value.startswith(p) for p in selector["StartsWith"]):
            return False
        if any(value.startswith(p) for p in selector.get("NotStartsWith", [])):
            return False
    return True


# --- AWS End User Messaging (SMS and voice) -----------------------------------------------------


def check_origination_identities(plan: Plan, target: Target) -> list[Check]:
    checks = []
    for channel, capability in ((Channel.SMS, "SMS"), (Channel.VOICE, "VOICE")):
        settings = getattr(plan.channels, channel.value)
        if settings is None or not settings.enabled:
            continue
        identity = settings.origination_identity
        what = f"{channel.value} origination identity {identity}"
        try:
            kind, found = find_origination_identity(target.client("pinpoint-sms-voice-v2"), identity)
        except AWS_ERRORS as exc:
            checks.append(denied("End User Messaging", what, exc, "sms-voice:Describe*"))
            continue
        checks.append(_origination_check(what, capability, kind, found, target.region))
    return checks


def find_origination_identity(sms: Any, identity: str) -> tuple[str, dict[str, Any] | None]:
    """("phone number" | "pool" | "sender id", its description or None) for an origination identity."""

    def missing(exc: Exception) -> bool:
        return error_code(exc) in NOT_FOUND

    if identity.startswith("+"):  # E.164: PhoneNumberIds takes ids and ARNs only, so look through the list
        token: str | None = None
        while True:
            page = sms.describe_phone_numbers(**({"NextToken": token} if token else {}))
            for number in page.get("PhoneNumbers", []):
                if number.get("PhoneNumber") == identity:
                    return "phone number", number
            token = page.get("NextToken")
            if not token:
                return "phone number", None
    args: dict[str, Any]
    if identity.startswith("phone-") or ":phone-number/" in identity:
        kind, operation, key, args = (
            "phone number",
            "describe_phone_numbers",
            "PhoneNumbers",
            {"PhoneNumberIds": [identity]},
        )
    elif identity.startswith("pool-") or ":pool/" in identity:
        kind, operation, key, args = "pool", "describe_pools", "Pools", {"PoolIds": [identity]}
    else:
        sender = identity.rsplit("/", 1)[-1]
        kind, operation, key = "sender id", "describe_sender_ids", "SenderIds"
        args = {"Filters": [{"Name": "sender-id", "Values": [sender]}]}
    try:
        items = getattr(sms, operation)(**args).get(key, [])
    except AWS_ERRORS as exc:
        if missing(exc):
            return kind, None
        raise
    return kind, (items[0] if items else None)


def _origination_check(
    what: str, capability: str, kind: str, found: dict[str, Any] | None, region: str
) -> Check:
    area = "End User Messaging"
    request = (
        "aws pinpoint-sms-voice-v2 request-phone-number --iso-country-code US --message-type TRANSACTIONAL "
        f"--number-capabilities SMS VOICE --number-type TOLL_FREE --region {region}, complete its "
        "registration (End User Messaging SMS console → Registrations), then put the number in the plan"
    )
    if found is None:
        return Check(area, what, False, f"no such {kind} in {region}", request)
    if kind == "sender id" and capability == "VOICE":
        return Check(
            area, what, False, "a sender id cannot place voice calls", "use a phone number with VOICE"
        )
    status = found.get("Status", "ACTIVE")
    if status != "ACTIVE":
        return Check(
            area, what, False, f"{kind} is {status}", "finish its registration, then run preflight again"
        )
    capabilities = found.get("NumberCapabilities")
    if kind == "phone number" and capabilities is not None and capability not in capabilities:
        return Check(area, what, False, f"the number has no {capability} capability", request)
    return Check(area, what, True, f"{kind}, {status}")


# --- Paging: SNS text messages to the incident manager ------------------------------------------


def check_paging_sms(plan: Plan, target: Target) -> list[Check]:
    if not plan.slo.paging.sms:
        return []
    phone = plan.roles.incident_manager.phone
    what = "SNS text messages to the incident manager (paging)"
    sns = target.client("sns")
    try:
        if not sns.get_sms_sandbox_account_status().get("IsInSandbox"):
            return [Check("SNS", what, True, "the account is out of the SMS sandbox")]
        numbers = sns.list_sms_sandbox_phone_numbers().get("PhoneNumbers", [])
    except AWS_ERRORS as exc:
        return [denied("SNS", what, exc, "sns:GetSMSSandboxAccountStatus, sns:ListSMSSandboxPhoneNumbers")]
    if any(n.get("PhoneNumber") == phone and n.get("Status") == "Verified" for n in numbers):
        return [Check("SNS", what, True, "in the SMS sandbox, and the incident manager's number is verified")]
    return [
        Check(
            "SNS",
            what,
            False,
            "the account is in the SNS SMS sandbox and the incident manager's number is not verified",
            f"aws sns create-sms-sandbox-phone-number --phone-number {phone} --region {target.region}, then "
            "verify-sms-sandbox-phone-number with the code (or ask AWS Support to leave the SMS sandbox)",
        )
    ]
