"""The one settings pattern (issue 16.6): every function's environment is a FunctionSettings model,
validated once, failing with the variable's name and the fix; one PLAN_PATH default."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from outage_comms.channels.settings import ChannelSettings
from outage_comms.compose.links import ComposeLinkSettings
from outage_comms.feedback.runtime import FeedbackApiSettings, FeedbackSettings
from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings, SettingsError
from outage_comms.intake.settings import IntakeSettings
from outage_comms.maintenance_schedules import SchedulerSettings, StatusRefreshSettings
from outage_comms.regions.fence import FailoverSettings, RegionSettings
from outage_comms.workflow.settings import WorkflowSettings
from outage_comms_handlers.settings import RedriveSettings, SocialMentionsSettings, StatusPublisherSettings

ROOT = Path(__file__).resolve().parents[2]
MODELS: list[type[FunctionSettings]] = [
    WorkflowSettings,
    IntakeSettings,
    ChannelSettings,
    FeedbackSettings,
    FeedbackApiSettings,
    RedriveSettings,
    SocialMentionsSettings,
    StatusPublisherSettings,
    ComposeLinkSettings,
    SchedulerSettings,
    StatusRefreshSettings,
    RegionSettings,
    FailoverSettings,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_named_by_its_variable(model: type[FunctionSettings]) -> None:
    for name, field in model.model_fields.items():
        assert field.alias and field.alias.isupper(), (model.__name__, name)
    assert model.set_by != FunctionSettings.set_by, f"{model.__name__} should say which stack sets it"


@pytest.mark.parametrize(
    "model", [m for m in MODELS if "plan_path" in m.model_fields], ids=lambda m: m.__name__
)
def test_one_plan_path_default(model: type[FunctionSettings]) -> None:
    field = model.model_fields["plan_path"]
    assert field.alias == "PLAN_PATH"
    assert field.default == PLAN_PATH_DEFAULT == "plan.json"


def test_a_missing_variable_is_named_with_the_fix() -> None:
    with pytest.raises(SettingsError) as raised:
        RedriveSettings.from_environment({"DELIVER_FUNCTION": "deliver"})
    message = str(raised.value)
    assert "DEAD_LETTER_QUEUES is not set" in message
    assert "NOTIFY_FUNCTION is not set" in message
    assert "stacks/constructs/channel_fanout.py" in message  # where the fix is
    assert raised.value.variables == ("DEAD_LETTER_QUEUES", "NOTIFY_FUNCTION")


def test_an_invalid_value_is_named_with_what_it_held() -> None:
    with pytest.raises(SettingsError) as raised:
        ChannelSettings.from_environment({"EMAIL_RATE_PER_SECOND": "fast"})
    assert "EMAIL_RATE_PER_SECOND='fast' is invalid" in str(raised.value)
    assert raised.value.variables == ("EMAIL_RATE_PER_SECOND",)
    with pytest.raises(SettingsError, match="DEAD_LETTER_QUEUES='not json' is invalid"):
        RedriveSettings.from_environment(
            {"DEAD_LETTER_QUEUES": "not json", "DELIVER_FUNCTION": "d", "NOTIFY_FUNCTION": "n"}
        )


def test_values_are_read_from_their_variables_and_typed() -> None:
    redrive = RedriveSettings.from_environment(
        {
            "DEAD_LETTER_QUEUES": '{"sms": "https://sqs/dlq"}',
            "DELIVER_FUNCTION": "d",
            "NOTIFY_FUNCTION": "n",
        }
    )
    assert redrive.dead_letter_queues == {"sms": "https://sqs/dlq"}
    channels = ChannelSettings.from_environment(
        {"SUBSCRIBE_API_URL": "https://api.example/v1/", "INLINE_LIMIT": "10", "UNRELATED": "x"}
    )
    assert channels.confirm_url == "https://api.example/v1/subscriptions/confirm"
    assert channels.inline_limit == 10
    assert SocialMentionsSettings.from_environment({}).window_seconds == 300
    social = SocialMentionsSettings.from_environment({"PERCEPTION_KEYWORDS": '["Acme", "acme.io"]'})
    assert (social.keywords, social.hashtags) == (["Acme", "acme.io"], None)
    assert SocialMentionsSettings.from_environment({"PERCEPTION_HASHTAGS": ""}).hashtags is None  # defaults
    workflow = WorkflowSettings.from_environment({"WORKFLOW_TABLE": "wf", "OWNERSHIP_TABLE": "own"})
    assert (workflow.workflow_table, workflow.ownership_table, workflow.approval_table) == ("wf", "own", "")


def test_tests_and_tools_may_still_build_them_by_field_name() -> None:
    assert ChannelSettings(subscribers_table="subscribers").subscribers_table == "subscribers"


def test_the_feedback_api_requires_what_the_render_step_may_lack() -> None:
    assert FeedbackSettings.from_environment({}).secret_arn == ""  # render: no links
    with pytest.raises(SettingsError) as raised:
        FeedbackApiSettings.from_environment({"FEEDBACK_TABLE": "feedback"})
    assert raised.value.variables == ("FEEDBACK_SECRET_ARN",)


def test_models_are_not_built_at_import() -> None:
    """Cold start (issue 13): importing a settings module builds no validator; the first read does."""
    code = (
        "import outage_comms.workflow.settings as s, outage_comms.channels.settings as c\n"
        "print(type(s.WorkflowSettings.__pydantic_validator__).__name__,"
        " type(c.ChannelSettings.__pydantic_validator__).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["MockValSer", "MockValSer"]


def test_handlers_read_no_raw_environment() -> None:
    """Handlers read their environment through a settings model, never os.environ by hand."""
    readers = []
    for path in sorted((ROOT / "lambdas" / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                readers.append(f"{path.name}:{node.lineno}")
    assert readers == []
