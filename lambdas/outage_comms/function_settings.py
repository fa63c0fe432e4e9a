"""One settings pattern for every function: a Pydantic model of the variables its stack sets.

Each function family declares a :class:`FunctionSettings` subclass whose fields carry the environment
variable as their alias (``Field(alias="WORKFLOW_TABLE")``), and reads it once per execution
environment (a ``functools.cache``'d accessor, called first thing by the handler), so a missing or
invalid variable fails the cold start with a :class:`SettingsError` that names the variable and the fix
instead of a ``KeyError`` deep inside an adapter. Models use ``defer_build``: nothing is built at import.

    class RedriveSettings(FunctionSettings):
        dead_letter_queues: dict[str, str] = Field(alias="DEAD_LETTER_QUEUES")

    settings = RedriveSettings.from_environment()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

#: Where the plan ships in every function's asset, relative to the working directory (Lambda's is the
#: task root, ``/var/task``). The stacks set ``PLAN_PATH`` explicitly; this is the one default.
PLAN_PATH_DEFAULT = "plan.json"


class SettingsError(RuntimeError):
    """A function's environment lacks a variable or holds an invalid value: says which, and the fix."""

    def __init__(self, model: type[FunctionSettings], error: ValidationError) -> None:
        problems = []
        for detail in error.errors(include_url=False):
            name = ".".join(str(part) for part in detail["loc"]) or "(environment)"
            if detail["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                problems.append(f"{name}={detail.get('input')!r} is invalid: {detail['msg']}")
        self.variables = tuple(str(detail["loc"][0]) for detail in error.errors() if detail["loc"])
        super().__init__(
            f"{model.__name__}: {'; '.join(problems)}. Fix: set {', '.join(self.variables)} in the "
            f"function's environment: {model.set_by} sets it on deploy (redeploy), or export it when "
            "running the handler yourself."
        )


class FunctionSettings(BaseModel):
    """Base of every function's settings: frozen, deferred, unknown variables ignored, fields by alias
    (the variable) or by name (tests)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    #: Which stack or construct sets these variables: named in the error's fix.
    set_by: ClassVar[str] = "the function's stack"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Validated from ``environ`` (default: the process environment); :class:`SettingsError` if not."""
        try:
            return cls.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as error:
            raise SettingsError(cls, error) from None
