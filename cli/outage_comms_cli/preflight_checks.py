"""The checks of `outage-comms preflight` (see :mod:`outage_comms_cli.preflight`): the model of one
check, the target account, and the CDK bootstrap, SES, Secrets Manager and IAM checks. Read-only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from outage_comms.plan import Plan

#: What a failed AWS call raises; each becomes one ✗ line, never a traceback.
AWS_ERRORS = (ClientError, BotoCoreError)
#: (service, region) -> a boto3 client.
ClientFactory = Callable[[str, str], Any]

BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
#: Templates synthesized by CDK v2 need a bootstrap stack of at least this version.
MIN_BOOTSTRAP_VERSION = 6
NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "NotFound",
        "NoSuchEntity",
        "ParameterNotFound",
        "TrailNotFoundException",
    }
)
_PRINCIPAL = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(role|user|assumed-role)/(.+)$")


@dataclass(frozen=True)
class Check:
    """One thing checked: ``ok`` True (✓), False (✗) or None (–, not checkable here, not a failure)."""

    area: str
    what: str
    ok: bool | None
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "–"}[self.ok]
        text = f"{mark} {self.area}: {self.what}" + (f" — {self.detail}" if self.detail else "")
        return text + (f"\n    Fix: {self.fix}" if self.fix and self.ok is not True else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Target:
    """Where the stacks go: the workload region and the status stack's region (maybe another account)."""

    region: str
    clients: ClientFactory
    status_region: str | None = None
    status_clients: ClientFactory | None = None
    _accounts: dict[int, str] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.region)

    def account(self, clients: ClientFactory | None = None, region: str | None = None) -> str:
        factory = clients or self.clients
        if id(factory) not in self._accounts:
            identity = factory("sts", region or self.region).get_caller_identity()
            self._accounts[id(factory)] = str(identity["Account"])
        return self._accounts[id(factory)]

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def denied(area: str, what: str, exc: Exception, action: str) -> Check:
    return Check(
        area,
        what,
        False,
        f"cannot check ({error_code(exc)})",
        f"run preflight with credentials allowed {action}",
    )


# --- CDK bootstrap ------------------------------------------------------------------------------


#: CloudFront takes web ACLs from us-east-1 only: with WAF on, app.py adds an edge stack there.
CLOUDFRONT_REGION = "us-east-1"
TOOLKIT_STACK = "CDKToolkit"


def check_bootstrap(plan: Plan, target: Target) -> list[Check]:
    """Every account/region a stack of this plan goes to: workload, status stack, WAF edge stack."""
    status = "status account" if target.status_clients else "status stack"
    status_clients = target.status_clients or target.clients
    status_region = target.status_region or target.region
    places = [("workload account", target.clients, target.region), (status, status_clients, status_region)]
    edge = getattr(plan, "edge", None)
    if edge is not None and edge.waf.enabled and status_region != CLOUDFRONT_REGION:
        places.append((f"{status} (WAF edge stack)", status_clients, CLOUDFRONT_REGION))
    unique = {(id(clients), region): (side, clients, region) for side, clients, region in reversed(places)}
    ordered = [place for place in places if unique.get((id(place[1]), place[2])) == place]
    checks = []
    for side, clients, region in ordered:
        checks.append(_bootstrap_in(side, clients, region, target))
        if checks[-1].ok and clients is not target.clients:
            checks.append(_trusts_workload(side, clients, region, target))
    return checks


def _trusts_workload(side: str, clients: ClientFactory, region: str, target: Target) -> Check:
    """``cdk deploy --all`` runs with the workload's credentials: the other account must trust it."""
    workload, account = target.account(), target.account(clients, region)
    what = f"the {side} bootstrap in {region} trusts the workload account {workload}"
    if account == workload:
        return Check("CDK", what, True, "same account")
    fix = (
        f"npx cdk bootstrap aws://{account}/{region} --trust {workload} --cloudformation-execution-policies "
        "arn:aws:iam::aws:policy/AdministratorAccess (or narrower), with the status account's profile"
    )
    try:
        stack = clients("cloudformation", region).describe_stacks(StackName=TOOLKIT_STACK)["Stacks"][0]
    except AWS_ERRORS as exc:
        return denied("CDK", what, exc, "cloudformation:DescribeStacks on CDKToolkit")
    values = {p.get("ParameterKey"): p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    trusted = {a.strip() for a in str(values.get("TrustedAccounts", "")).split(",") if a.strip()}
    if workload in trusted:
        return Check("CDK", what, True, "TrustedAccounts includes it")
    return Check("CDK", what, False, f"TrustedAccounts: {', '.join(sorted(trusted)) or 'none'}", fix)


def _bootstrap_in(side: str, clients: ClientFactory, region: str, target: Target) -> Check:
    what = f"CDK bootstrap for the {side}, {region}"
    try:
        account = target.account(clients, region)
        value = clients("ssm", region).get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
    except AWS_ERRORS as exc:
        if error_code(exc) not in NOT_FOUND:
            return denied("CDK", what, exc, "ssm:GetParameter and sts:GetCallerIdentity")
        return Check("CDK", what, False, "not bootstrapped", f"npx cdk bootstrap aws://{account}/{region}")
    version = int(value) if str(value).isdigit() else 0
    if version < MIN_BOOTSTRAP_VERSION:
        return Check(
            "CDK",
            what,
            False,
            f"bootstrap version {value}",
            f"npx cdk bootstrap aws://{account}/{region} again",
        )
    return Check("CDK", what, True, f"bootstrap version {version}")


# --- SES ----------------------------------------------------------------------------------------


def check_ses(plan: Plan, target: Target) -> list[Check]:
    email = plan.channels.email
    if email is None or not email.enabled:
        return []
    ses = target.client("sesv2")
    try:
        account = ses.get_account()
    except AWS_ERRORS as exc:
        return [denied("SES", f"account in {target.region}", exc, "ses:GetAccount")]
    production, sending = account.get("ProductionAccessEnabled"), account.get("SendingEnabled", True)
    if not production:
        access = Check(
            "SES",
            f"production access in {target.region}",
            False,
            "the account is in the SES sandbox",
            "SES console → Account dashboard → Request production access (transactional mail; about a day); "
            "until then SES sends only to verified addresses, 200 a day",
        )
    elif not sending:
        access = Check(
            "SES",
            f"production access in {target.region}",
            False,
            "sending is paused for this account",
            "see the SES console's reputation metrics page and ask AWS to resume sending",
        )
    else:
        access = Check("SES", f"production access in {target.region}", True, "out of the sandbox")
    checks = [access]
    return [*checks, _sender_identity(ses, email.from_address, target.region)]


def _sender_identity(ses: Any, address: str, region: str) -> Check:
    domain = address.split("@", 1)[1]
    what = f"sending identity for {address}"
    for identity in (domain, address):
        try:
            found = ses.get_email_identity(EmailIdentity=identity)
        except AWS_ERRORS as exc:
            if error_code(exc) in NOT_FOUND:
                continue
            return denied("SES", what, exc, "ses:GetEmailIdentity")
        if found.get("VerifiedForSendingStatus"):
            return Check("SES", what, True, f"{identity} is verified")
        return Check(
            "SES",
            what,
            False,
            f"{identity} is not verified yet ({found.get('VerificationStatus', 'PENDING')})",
            f"publish the DKIM records SES gave for {identity} in its DNS (SES console → Identities)",
        )
    return Check(
        "SES",
        what,
        False,
        f"neither {domain} nor {address} is an SES identity in {region}",
        f"aws sesv2 create-email-identity --email-identity {domain} --region {region}, then publish the "
        "three DKIM CNAME records it returns in the domain's DNS",
    )


# --- Secrets Manager ----------------------------------------------------------------------------


def secret_names(plan: Plan) -> list[tuple[str, str]]:
    """(plan path, secret name) of every secret the enabled channels and their drill targets use."""
    found: list[tuple[str, str]] = []
    enabled = plan.channels.enabled()
    for channel in enabled:
        settings = getattr(plan.channels, channel.value)
        for name in type(settings).model_fields:
            if name.endswith("_secret"):
                found.append((f"channels.{channel.value}.{name}", str(getattr(settings, name))))
    for channel, name in plan.drill.webhook_secrets.items():
        if channel in enabled:
            found.append((f"drill.webhook_secrets.{channel.value}", name))
    return found


def check_secrets(plan: Plan, target: Target) -> list[Check]:
    checks = []
    secrets = target.client("secretsmanager") if secret_names(plan) else None
    for path, name in secret_names(plan):
        what = f"secret {name} ({path})"
        try:
            described = secrets.describe_secret(SecretId=name)  # type: ignore[union-attr]
        except AWS_ERRORS as exc:
            if error_code(exc) not in NOT_FOUND:
                checks.append(denied("Secrets Manager", what, exc, "secretsmanager:DescribeSecret"))
                continue
            checks.append(
                Check(
                    "Secrets Manager",
                    what,
                    False,
                    f"not found in {target.region}",
                    f"aws secretsmanager create-secret --name {name} --secret-string '<the value>' "
                    f"--region {target.region}",
                )
            )
            continue
        if described.get("DeletedDate"):
            fix = f"aws secretsmanager restore-secret --secret-id {name} --region {target.region}"
            checks.append(Check("Secrets Manager", what, False, "scheduled for deletion", fix))
        else:
            checks.append(Check("Secrets Manager", what, True, "exists (its value was not read)"))
    return checks


# --- IAM approvers ------------------------------------------------------------------------------


def check_approvers(plan: Plan, target: Target) -> list[Check]:
    checks = []
    for role_name in type(plan.roles).model_fields:
        for principal in getattr(plan.roles, role_name).approver_principals:
            checks.append(_approver(f"roles.{role_name}", principal, target))
    return checks


def _approver(path: str, principal: str, target: Target) -> Check:
    what = f"approver {principal} ({path})"
    match = _PRINCIPAL.match(principal)
    if match is None:
        return Check(
            "IAM", what, False, "not an IAM role or user ARN", "write arn:aws:iam::ACCOUNT:role/NAME"
        )
    _, _, account, kind, rest = match.groups()
    if account != target.account():
        return Check(
            "IAM",
            what,
            None,
            f"in account {account}, not this one",
            f"run preflight with {account}'s credentials",
        )
    iam = target.client("iam")
    name = rest.split("/")[0] if kind == "assumed-role" else rest.rsplit("/", 1)[-1]
    try:
        if kind == "user":
            iam.get_user(UserName=name)
        else:
            iam.get_role(RoleName=name)
    except AWS_ERRORS as exc:
        if error_code(exc) not in NOT_FOUND:
            return denied("IAM", what, exc, "iam:GetRole and iam:GetUser")
        noun = "user" if kind == "user" else "role"
        return Check(
            "IAM",
            what,
            False,
            f"no IAM {noun} '{name}' in this account",
            f"create the {noun} the approvers use (e.g. aws iam create-role --role-name {name} "
            "--assume-role-policy-document file://trust.json), or correct the ARN in the plan",
        )
    return Check("IAM", what, True, "exists")
