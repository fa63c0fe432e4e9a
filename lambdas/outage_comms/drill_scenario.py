"""Game-day scenarios: one YAML format that both the embedded and the deployed drill run.

A library module (no CLI): ``outage-comms lint`` and ``cdk synth``'s lint gate check the scenarios beside
a plan with it (:func:`lint_scenarios`), and the drills run them.

A scenario tells a story in plan minutes from the trigger (``at: 0m``): how the incident opens (an
alarm or a person declaring it), the updates people post and when the incident is resolved; who is
expected to approve what, and how fast; which channels fail on purpose; and targets that override the
plan's. Example (``drills/default.yaml``)::

    name: default
    description: A critical alarm, dual approval, a missed cadence, an update, the resolution.
    events:
      - {at: 0m, action: alarm}
      - {at: 35m, action: update, after: reminder, scenario: identified, status: identified,
         note: {en: We found the cause, pt-BR: Encontramos a causa}}
      - {at: 45m, action: resolve, after: previous_update_out}
    approvals:
      - {update: any, by: [communications_manager, incident_manager], decision: approve, after: 1m}
    inject:
      - {channel: slack, how: both}
    expect: {internal_notice_within: 5m}

A broken scenario fails with every problem, each naming the path and the fix, like a broken plan.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from outage_comms.plan import Plan, PlanProblem, format_path
from outage_comms.secret_names import looks_secret, redact
from outage_comms.vocabulary import Channel, Scenario

#: The scenario every plan has (``drills/default.yaml``: init writes it; the CLI ships one).
DEFAULT_SCENARIO_NAME = "default.yaml"
#: When a drill's story starts on the plan clock unless its scenario says (``start:``): a weekday afternoon.
DEFAULT_START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h)\s*$")


def parse_minutes(value: Any) -> float:
    """``"35m"`` -> 35.0, ``"1.5h"`` -> 90.0, a plain number is minutes. Plan minutes, never negative."""
    if isinstance(value, bool):
        raise ValueError("write a duration such as 35m or 1.5h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a duration; write plan minutes such as 0m, 35m or 1.5h")
    number = float(match.group(1))
    return number * 60 if match.group(2) == "h" else number


Minutes = Annotated[float, BeforeValidator(parse_minutes)]
Role = Literal["communications_manager", "incident_manager", "support_manager"]
#: What an event may wait for, besides its offset: the runner posts it at ``at`` or once this happened.
After = Literal["first_message", "reminder", "escalation", "previous_update_out"]
LocalizedNote = dict[str, str]


class ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class _Step(ScenarioModel):
    at: Minutes = Field(description="plan minutes after the trigger (0m is the trigger itself)")
    after: After | None = Field(
        default=None, description="also wait until this happened (the story stays in order under load)"
    )


class AlarmStep(_Step):
    """A CloudWatch alarm of one of the plan's alarm-mapped components goes to ALARM (embedded only)."""

    action: Literal["alarm"]
    component: str | None = Field(default=None, description="default: the widest alarm-mapped component")
    severity: str | None = Field(
        default=None, description="the alarm's severity tag; default: the scenario's"
    )


class DeclareStep(_Step):
    """A person declares the incident through the API (``drill: true`` always, in a deployed drill)."""

    action: Literal["declare"]
    components: list[str] = Field(default_factory=list, description="default: the scenario's components")
    severity: str | None = None
    scenario: Scenario | None = None
    title: str | None = None
    note: LocalizedNote = Field(default_factory=dict)


class UpdateStep(_Step):
    """A person posts an update: new scenario, status, severity and/or words for customers."""

    action: Literal["update"]
    scenario: Scenario | None = None
    status: Literal["investigating", "identified", "monitoring"] | None = None
    severity: str | None = None
    note: LocalizedNote = Field(default_factory=dict)


class ResolveStep(_Step):
    """A person resolves the incident (customers get the resolved message), with what went wrong
    (``cause``), how it was fixed (``fix``) and what customers noticed (``impact``), per locale."""

    action: Literal["resolve"]
    note: LocalizedNote = Field(default_factory=dict)
    cause: LocalizedNote = Field(default_factory=dict)
    fix: LocalizedNote = Field(default_factory=dict)
    impact: LocalizedNote = Field(default_factory=dict)


class MaintenanceStep(_Step):
    """A person schedules a maintenance window through the incident API (embedded only). Its later
    moments (reminders, start, end, completion) are the schedules the API creates; the embedded drill
    fires each when the plan clock reaches it, as EventBridge Scheduler would."""

    action: Literal["maintenance"]
    components: list[str] = Field(default_factory=list, description="default: the scenario's components")
    starts_in: Minutes = Field(default=70.0, description="plan minutes from this step to the window's start")
    lasts: Minutes = Field(default=20.0, gt=0, description="the window's length in plan minutes")
    title: str | None = None
    note: LocalizedNote = Field(default_factory=dict)


class CancelMaintenanceStep(_Step):
    """A person cancels the latest window scheduled in this story (its remaining schedules go)."""

    action: Literal["cancel_maintenance"]
    note: LocalizedNote = Field(default_factory=dict)


class RegionOutageStep(_Step):
    """One engine region stops answering (embedded only): from this plan minute every call to its endpoints
    fails with a connection error, as when a region has a bad day. ``region``: ``primary``, ``standby``, or
    the region's name, as the plan's ``regions:`` section names it."""

    action: Literal["region_outage"]
    region: str = Field(min_length=1, description="primary, standby, or one of the plan's engine regions")


class RegionRecoveryStep(_Step):
    """The region answers again (embedded only): ends a ``region_outage`` of the same region."""

    action: Literal["region_recovery"]
    region: str = Field(min_length=1, description="primary, standby, or one of the plan's engine regions")


Event = Annotated[
    AlarmStep
    | DeclareStep
    | UpdateStep
    | ResolveStep
    | MaintenanceStep
    | CancelMaintenanceStep
    | RegionOutageStep
    | RegionRecoveryStep,
    Field(discriminator="action"),
]
#: Steps that are not a person's action but the world around the engine (may follow the resolution).
REGION_STEPS = (RegionOutageStep, RegionRecoveryStep)
#: Steps that open the story's incident (the first event).
OPENING_STEPS = (AlarmStep, DeclareStep, MaintenanceStep)


class ApprovalExpectation(ScenarioModel):
    """Who approves which update, how (embedded: the drill acts as them), and how fast they should be."""

    update: str = Field(default="any", description="'any', or the update's scenario, e.g. identified")
    by: list[Role] = Field(default_factory=lambda: list[Role](["communications_manager"]), min_length=1)
    decision: Literal["approve", "edit", "reject"] = "approve"
    edits: dict[str, str] = Field(
        default_factory=dict, description="decision edit: review-page fields, e.g. text:email:en:subject"
    )
    after: Minutes = Field(default=1.0, description="embedded: how long the approver takes to decide")
    within: Minutes | None = Field(
        default=None, description="target; default: the severity's approval timeout"
    )


class Injection(ScenarioModel):
    """A channel that fails on purpose, to rehearse the plan without it."""

    channel: Channel
    how: Literal["drill", "provider", "both"] = Field(
        default="both",
        description="drill: the incident's drill_failures (the runtime fails it); provider: the embedded "
        "provider side answers with an error (embedded only); both",
    )


class Expectations(ScenarioModel):
    """Targets that override the plan's for this drill (plan minutes)."""

    internal_notice_within: Minutes = Field(default=5.0, description="team chat hears after the trigger")
    approval_within: Minutes | None = Field(default=None, description="default: approval timeout")
    first_message_within: Minutes | None = Field(default=None, description="default: first_message_minutes")
    cadence: Minutes | None = Field(default=None, description="default: the severity's cadence_minutes")
    reminders: int | None = Field(default=None, ge=0, description="how many reminders the story expects")
    escalations: int | None = Field(default=None, ge=0, description="how many escalations the story expects")


def _aware(value: Any) -> Any:
    """A ``start`` without a UTC offset is UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class DrillScenario(ScenarioModel):
    """One game day."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=1)
    severity: str | None = Field(default=None, description="plan severity id; default: by the opening")
    components: list[str] = Field(default_factory=list, description="plan component ids (declare)")
    opening: Scenario = Field(default=Scenario.MAJOR_OUTAGE, description="the incident's first scenario")
    drill: bool = Field(
        default=True,
        description="drill mode (drill audience only, marked as an exercise); a deployed drill always is",
    )
    events: list[Event] = Field(min_length=1)
    start: Annotated[datetime, BeforeValidator(_aware)] = Field(
        default=DEFAULT_START,
        description="plan-clock time of the first event: every time people read in the drill counts from it",
    )
    resolution: Minutes = Field(
        default=5.0,
        description="the score reads each plan-clock time in slots of this many plan minutes from the start "
        "(a 3.2-minute notice scores as 5): the same story scores the same on a fast or a busy machine",
    )
    approvals: list[ApprovalExpectation] = Field(default_factory=lambda: [ApprovalExpectation()])
    approve_post_incident_summary: bool = Field(
        default=True, description="embedded: the communications manager approves the post-incident summary"
    )
    inject: list[Injection] = Field(default_factory=list)
    expect: Expectations = Field(default_factory=Expectations)
    #: Where it was read from (not part of the YAML).
    source: str = Field(default="<scenario>", exclude=True)

    def approval_for(self, update_scenario: str) -> ApprovalExpectation | None:
        """The first expectation matching an update's scenario (``any`` matches every update)."""
        for expectation in self.approvals:
            if expectation.update in ("any", update_scenario):
                return expectation
        return None

    def injected(self, how: tuple[str, ...] = ("drill", "provider", "both")) -> list[str]:
        return [i.channel.value for i in self.inject if i.how in how]


class ScenarioError(Exception):
    """The scenario cannot be run. ``problems`` lists every reason, each with its path and fix."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_scenario(path: str | Path, plan: Plan | None = None) -> DrillScenario:
    """Read and validate a scenario file (against the plan too, when given)."""
    import yaml

    path = Path(path)
    file = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(
            [PlanProblem(file, "", "file not found", f"pass a scenario YAML, e.g. {DEFAULT_SCENARIO_NAME}")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ScenarioError(
            [PlanProblem(file, "", f"not valid YAML ({where})", "fix the YAML syntax there")]
        ) from None
    return parse_scenario(data, file, plan)


def parse_scenario(data: Any, file: str = "<scenario>", plan: Plan | None = None) -> DrillScenario:
    """Validate scenario data. Raises ScenarioError with every problem found."""
    if not isinstance(data, dict):
        raise ScenarioError(
            [PlanProblem(file, "", "a scenario must be a mapping", "start from drills/default.yaml")]
        )
    try:
        scenario = DrillScenario.model_validate({**data, "source": file})
    except ValidationError as exc:
        raise ScenarioError([_problem(file, e) for e in exc.errors()]) from None
    problems = story_problems(scenario, file)
    if plan is not None:
        problems += plan_problems(scenario, plan, file)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _problem(file: str, error: Any) -> PlanProblem:
    if looks_secret(error.get("input")):  # a pasted token is quoted by its first characters only
        error = {**error, "input": redact(error["input"])[1:-1]}
    raw = tuple(error["loc"])
    loc = _without_tags(raw)
    path = format_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _fields_at(raw)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(known) or 'nothing'}"
        return PlanProblem(file, path, f"unknown field '{name}'", f"remove it or rename it; {hint}")
    if kind == "missing":
        return PlanProblem(file, path, "required field is missing", f"add '{loc[-1]}' here")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return PlanProblem(
            file,
            path,
            "the event has no known 'action'",
            "set action: alarm, declare, update, resolve, maintenance, cancel_maintenance, region_outage "
            "or region_recovery",
        )
    if kind in ("enum", "literal_error"):
        expected = error.get("ctx", {}).get("expected", "")
        return PlanProblem(file, path, f"'{error.get('input')}' is not allowed", f"use one of {expected}")
    if kind == "string_pattern_mismatch":
        return PlanProblem(
            file, path, f"'{error.get('input')}' has the wrong form", "use lowercase letters, digits and '-'"
        )
    if kind == "value_error":
        return PlanProblem(file, path, str(error.get("ctx", {}).get("error", error["msg"])), "write e.g. 35m")
    return PlanProblem(
        file,
        path,
        f"{error['msg']} (got {error.get('input')!r:.60})",
        "correct the value as the message says",
    )


_STEP_MODELS: dict[str, type[BaseModel]] = {
    "alarm": AlarmStep,
    "declare": DeclareStep,
    "update": UpdateStep,
    "resolve": ResolveStep,
    "maintenance": MaintenanceStep,
    "cancel_maintenance": CancelMaintenanceStep,
    "region_outage": RegionOutageStep,
    "region_recovery": RegionRecoveryStep,
}


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A discriminated union puts the tag in the path (``events.1.update.note``): people never write it."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i >= 2 and loc[i - 2] == "events" and isinstance(loc[i - 1], int) and part in _STEP_MODELS)
    )


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The fields allowed where an unknown one was found (the model holding ``loc[-1]``)."""
    current: type[BaseModel] = DrillScenario
    parts = list(loc[:-1])
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            continue
        if part == "events" and len(parts) >= 2 and str(parts[1]) in _STEP_MODELS:
            current = _STEP_MODELS[str(parts[1])]
            parts = parts[2:]
            continue
        field = current.model_fields.get(str(part))
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            return []
        current = nested
    return list(current.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def story_problems(scenario: DrillScenario, file: str) -> list[PlanProblem]:
    """What the schema cannot see: the story opens, runs forward in time and ends at most once."""
    problems: list[PlanProblem] = []

    def add(path: str, message: str, fix: str) -> None:
        problems.append(PlanProblem(file, path, message, fix))

    first = scenario.events[0]
    if not isinstance(first, OPENING_STEPS):
        add(
            "events[0]",
            f"the story opens with '{first.action}'",
            "start with action: alarm, declare or maintenance",
        )
    elif first.at != 0:
        add("events[0].at", f"the opening event is at {first.at:g}m", "open the incident at 0m")
    for index, event in enumerate(scenario.events[1:], start=1):
        if isinstance(event, AlarmStep | DeclareStep):
            add(f"events[{index}]", f"a second '{event.action}'", "open the incident once, in events[0]")
        if isinstance(event, CancelMaintenanceStep) and not any(
            isinstance(e, MaintenanceStep) for e in scenario.events[:index]
        ):
            add(f"events[{index}]", "cancels a window before any is scheduled", "schedule one first")
        previous = scenario.events[index - 1]
        if event.at < previous.at:
            add(
                f"events[{index}].at",
                f"{event.at:g}m comes before the previous event ({previous.at:g}m)",
                "list events in time order",
            )
    resolves = [i for i, e in enumerate(scenario.events) if isinstance(e, ResolveStep)]
    people = [i for i, e in enumerate(scenario.events) if not isinstance(e, REGION_STEPS)]
    if resolves and resolves[-1] != people[-1]:
        add(f"events[{resolves[-1]}]", "events follow the resolution", "make resolve the last event")
    if len(resolves) > 1:
        add(f"events[{resolves[1]}]", "the incident is resolved twice", "keep one resolve event")
    problems += _region_story_problems(scenario, file)
    if scenario.inject and isinstance(first, AlarmStep):
        for index, injection in enumerate(scenario.inject):
            if injection.how == "drill":
                add(
                    f"inject[{index}].how",
                    "drill failures are set when a person declares the drill; this story opens with an alarm",
                    "open with action: declare, or use how: provider (embedded only) or both",
                )
    return problems


def _region_story_problems(scenario: DrillScenario, file: str) -> list[PlanProblem]:
    """A region goes down before it recovers, and is not taken down twice."""
    problems: list[PlanProblem] = []
    down: set[str] = set()
    for index, event in enumerate(scenario.events):
        if isinstance(event, RegionOutageStep):
            if event.region in down:
                problems.append(
                    PlanProblem(
                        file,
                        f"events[{index}].region",
                        f"'{event.region}' is already down",
                        "add a region_recovery before this outage, or remove it",
                    )
                )
            down.add(event.region)
        elif isinstance(event, RegionRecoveryStep):
            if event.region not in down:
                problems.append(
                    PlanProblem(
                        file,
                        f"events[{index}].region",
                        f"'{event.region}' recovers but no earlier region_outage took it down",
                        "add {action: region_outage, region: " + event.region + "} before it, or remove it",
                    )
                )
            down.discard(event.region)
    return problems


def region_name(plan: Plan, region: str) -> str:
    """The AWS region a scenario's ``region:`` names: ``primary`` / ``standby`` as the plan's
    ``regions:`` say, or a region name the plan lists. Raises ValueError (naming the allowed ones)."""
    regions = plan.regions
    named = {} if regions is None else {"primary": regions.primary, "standby": regions.standby}
    named = {role: name for role, name in named.items() if name}
    if region in named:
        return str(named[region])
    if region in named.values():
        return region
    allowed = ", ".join(f"{role} ({name})" for role, name in named.items())
    raise ValueError(f"use one of {allowed}" if allowed else "the plan has no regions: section")


def _region_plan_problems(scenario: DrillScenario, plan: Plan, file: str) -> list[PlanProblem]:
    problems: list[PlanProblem] = []
    for index, event in enumerate(scenario.events):
        if not isinstance(event, REGION_STEPS):
            continue
        path = f"events[{index}].region"
        if plan.regions is None or not plan.regions.standby:
            problems.append(
                PlanProblem(
                    file,
                    path,
                    f"a {event.action} needs a plan with two engine regions; this plan runs in one",
                    "add regions: {primary: <region>, standby: <region>} to the plan, or remove this event",
                )
            )
            continue
        try:
            region_name(plan, event.region)
        except ValueError as error:
            problems.append(
                PlanProblem(
                    file, path, f"'{event.region}' is not one of the plan's engine regions", str(error)
                )
            )
    return problems


def plan_problems(scenario: DrillScenario, plan: Plan, file: str) -> list[PlanProblem]:
    """Every id the scenario names must exist in the plan; every note must speak every plan locale."""
    problems: list[PlanProblem] = []
    components = {c.id for c in plan.components}
    severities = [s.id for s in plan.severities]
    enabled = {c.value for c in plan.channels.enabled()}

    def add(path: str, message: str, fix: str) -> None:
        problems.append(PlanProblem(file, path, message, fix))

    def check_components(path: str, ids: list[str]) -> None:
        for index, cid in enumerate(ids):
            if cid not in components:
                close = difflib.get_close_matches(cid, sorted(components), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"use one of {sorted(components)}"
                add(f"{path}[{index}]", f"no component '{cid}' in the plan", hint)

    def check_severity(path: str, value: str | None) -> None:
        if value is not None and value not in severities:
            add(path, f"no severity '{value}' in the plan", f"use one of {severities}")

    def check_note(path: str, note: LocalizedNote) -> None:
        for code in plan.locale_codes if note else ():
            if not note.get(code, "").strip():
                add(
                    f"{path}.{code}",
                    f"the note has no '{code}' text",
                    f"add {code}: the same words in {code}",
                )

    check_components("components", scenario.components)
    check_severity("severity", scenario.severity)
    for index, event in enumerate(scenario.events):
        path = f"events[{index}]"
        if isinstance(event, AlarmStep):
            check_severity(f"{path}.severity", event.severity)
            mapped = {c.id for c in plan.components if c.signals.alarm_name_patterns}
            if event.component is not None and event.component not in mapped:
                add(
                    f"{path}.component",
                    f"'{event.component}' has no alarm name pattern in the plan",
                    f"use one of {sorted(mapped)} or open with action: declare",
                )
            if not mapped:
                add(path, "no component of the plan is mapped to alarms", "open with action: declare")
        if isinstance(event, DeclareStep):
            check_components(f"{path}.components", event.components)
            check_severity(f"{path}.severity", event.severity)
            if not (event.components or scenario.components):
                add(f"{path}.components", "the declare names no component", "list the affected components")
        if isinstance(event, UpdateStep):
            check_severity(f"{path}.severity", event.severity)
        for words in ("note", "cause", "fix", "impact"):
            check_note(f"{path}.{words}", getattr(event, words, {}) or {})
    for index, injection in enumerate(scenario.inject):
        if injection.channel.value not in enabled:
            add(
                f"inject[{index}].channel",
                f"channel '{injection.channel.value}' is not enabled in the plan",
                _disabled_channel_fix(injection.channel.value, enabled, "remove this injection"),
            )
    problems += _edit_problems(scenario, plan, file)
    problems += _region_plan_problems(scenario, plan, file)
    for index, approval in enumerate(scenario.approvals):
        allowed = {"any", *(s.value for s in Scenario)}
        if approval.update not in allowed:
            add(
                f"approvals[{index}].update",
                f"'{approval.update}' is not a scenario",
                "use 'any' or a scenario",
            )
        for number, role in enumerate(approval.by):
            if not getattr(plan.roles, role).approver_principals:
                add(
                    f"approvals[{index}].by[{number}]",
                    f"the plan lists no approver principal for {role}",
                    f"add roles.{role}.approver_principals or name another role",
                )
    return problems


def _disabled_channel_fix(channel: str, enabled: set[str], instead: str) -> str:
    return (
        f"{instead}, or turn the channel on in the plan (channels.{channel}); "
        f"on now: {', '.join(sorted(enabled)) or 'none'}"
    )


def _edit_problems(scenario: DrillScenario, plan: Plan, file: str) -> list[PlanProblem]:
    """An approver's edit (``text:<channel>:<locale>:<field>``) names an enabled channel and a plan locale."""
    problems: list[PlanProblem] = []
    enabled = {c.value for c in plan.channels.enabled()}
    for index, approval in enumerate(scenario.approvals):
        for key in approval.edits:
            path = f"approvals[{index}].edits.{key}"
            parts = key.split(":")
            if len(parts) != 4 or parts[0] != "text":
                problems.append(
                    PlanProblem(
                        file, path, f"'{key}' is not a review-page field", "write text:CHANNEL:LOCALE:FIELD"
                    )
                )
                continue
            channel, locale = parts[1], parts[2]
            if channel not in {c.value for c in Channel}:
                problems.append(
                    PlanProblem(file, path, f"no channel '{channel}'", f"use one of {sorted(enabled)}")
                )
            elif channel not in enabled:
                problems.append(
                    PlanProblem(
                        file,
                        path,
                        f"channel '{channel}' is not enabled in the plan",
                        _disabled_channel_fix(channel, enabled, "remove this edit"),
                    )
                )
            if locale not in plan.locale_codes:
                problems.append(
                    PlanProblem(
                        file, path, f"locale '{locale}' is not in the plan", f"use one of {plan.locale_codes}"
                    )
                )
    return problems


def scenario_files(plan_path: str | Path) -> list[Path]:
    """The game-day scenarios that go with a plan: ``drills/*.yaml`` beside the plan file, or beside the
    ``plans/`` folder holding it (this repository's layout: ``plans/example.yaml`` and ``drills/``)."""
    folder = Path(plan_path).resolve().parent
    candidates = [folder / "drills"]
    if folder.name == "plans":
        candidates.append(folder.parent / "drills")
    found = [path for c in candidates for pattern in ("*.yaml", "*.yml") for path in sorted(c.glob(pattern))]
    return list(dict.fromkeys(found))


def lint_scenarios(plan: Plan, plan_path: str | Path) -> list[PlanProblem]:
    """Every problem of every scenario that goes with the plan, checked against it (``outage-comms lint``)."""
    problems: list[PlanProblem] = []
    for path in scenario_files(plan_path):
        try:
            load_scenario(path, plan)
        except ScenarioError as exc:
            problems += exc.problems
    return problems
