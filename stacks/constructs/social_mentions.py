"""Perception: a scheduled function counting public social mentions into ``SocialMentions``.

Every ``interval`` (5 minutes) an EventBridge rule invokes ``handlers.social_mentions``, which counts
the posts of the last ``interval`` on the plan's enabled networks (Bluesky search, Mastodon hashtag
timeline) and emits ``SocialMentions`` (namespace ``OutageComms``, dimensions ``service`` and
``network``) for the internal dashboard's "Social mentions" widget.

The plan has no field for what to listen for, so ``keywords`` (Bluesky search queries) and
``hashtags`` (Mastodon tag timelines) are this construct's arguments, defaulting to the
organization's name and ``#<org>status``. The role may read the Bluesky app password and nothing
else: the Mastodon tag timeline is public, so the (write-scoped) Mastodon token is not granted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms.perception import default_hashtags, default_keywords
from outage_comms.plan import Plan
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
from outage_comms_cdk.constructs.periodic import every
from outage_comms_cdk.quality_gates import acknowledge

DEFAULT_INTERVAL = Duration.minutes(5)


def listens(plan: Plan) -> bool:
    """Whether the plan enables a network the listener can read (Bluesky or Mastodon)."""
    return any(s is not None and s.enabled for s in (plan.channels.bluesky, plan.channels.mastodon))


class SocialMentions(Construct):
    """The listener function and its schedule; only build it when :func:`listens` is true."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        runtime: LambdaRuntime,
        failures: sqs.IQueue,
        keywords: Sequence[str] | None = None,
        hashtags: Sequence[str] | None = None,
        interval: Duration = DEFAULT_INTERVAL,
    ) -> None:
        super().__init__(scope, construct_id)
        organization = plan.organization.name
        self.keywords = list(keywords) if keywords is not None else default_keywords(organization)
        self.hashtags = list(hashtags) if hashtags is not None else default_hashtags(organization)
        self.function = runtime.new_function(
            self,
            "Listener",
            handler="handlers.social_mentions.handler",
            description="Outage Comms: count recent public social mentions (Bluesky, Mastodon) per network",
            service_name="social-mentions",
            timeout=Duration.seconds(60),
            environment={
                "PERCEPTION_KEYWORDS": json.dumps(self.keywords, ensure_ascii=False),
                "PERCEPTION_HASHTAGS": json.dumps(self.hashtags, ensure_ascii=False),
                "PERCEPTION_WINDOW_SECONDS": str(int(interval.to_seconds())),
            },
            on_failure=destinations.SqsDestination(failures),
        )
        self._read_bluesky_password(plan)
        # Imported, so CDK adds no per-rule statement to the core queue's policy (the core stack would
        # depend on this one): EventBridge's right to it is the account-scoped statement the intake adds.
        rule_dead_letters = sqs.Queue.from_queue_attributes(
            self,
            "RuleDeadLetterQueue",
            queue_arn=failures.queue_arn,
            queue_url=failures.queue_url,
            key_arn=runtime.key.key_arn,
        )
        # A sample that cannot be taken is not retried: the next one, 5 minutes on, supersedes it.
        self.rule = every(
            self,
            "Schedule",
            function=self.function.function,
            interval=interval,
            description="Outage Comms: count social mentions for the internal dashboard",
            dead_letter_queue=rule_dead_letters,
        )

    def _read_bluesky_password(self, plan: Plan) -> None:
        """The plan's Bluesky app password, by its secret's name (Mastodon reads public timelines)."""
        bluesky = plan.channels.bluesky
        if bluesky is not None and bluesky.enabled:
            name = bluesky.app_password_secret
            self.function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTheBlueskyAppPassword",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[
                        f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{name}-??????"
                    ],
                )
            )
            acknowledge(
                self.function.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                f"<AWS::AccountId>:secret:{name}-??????]",
                "A secret's ARN ends in - and 6 random characters; this matches the plan's Bluesky app "
                "password by its name only.",
            )
