"""A REST API resolver built on the first request, so a handler's cold init does not pay for it.

Importing ``aws_lambda_powertools.event_handler`` costs about 0.8x a bare ``import boto3`` (it loads
the AppSync and Bedrock resolvers and ``asyncio``): a handler that builds ``APIGatewayRestResolver()``
at import pays that in Lambda's init phase. :class:`LazyRestResolver` records the routes and exception
handlers that decorate it at import (the decorated functions stay plain functions) and registers them,
in the same order, on a real ``APIGatewayRestResolver`` the first time anything else is asked of it
(``resolve``, ``current_event``, ``context``, ``append_context``, ...). Routing, exception handling and
responses are Powertools' own; nothing is re-implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

F = TypeVar("F", bound=Callable[..., Any])
Setup = Callable[["APIGatewayRestResolver"], None]


class LazyRestResolver:
    """Records ``get``/``post``/``put``/``delete``/``route``/``exception_handler`` registrations (no handler
    serves PATCH; ``route`` takes any method)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._registrations: list[tuple[str, tuple[Any, ...], dict[str, Any], Callable[..., Any]]] = []
        self._resolver: APIGatewayRestResolver | None = None
        self._on_build: list[Setup] = []

    def _record(self, kind: str, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        def register(func: F) -> F:
            if self._resolver is not None:
                getattr(self._resolver, kind)(*args, **kwargs)(func)
            else:
                self._registrations.append((kind, args, kwargs, func))
            return func

        return register

    def get(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("get", *args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("post", *args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("put", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("delete", *args, **kwargs)

    def route(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("route", *args, **kwargs)

    def exception_handler(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._record("exception_handler", *args, **kwargs)

    def on_build(
        self, setup: Callable[[APIGatewayRestResolver], None]
    ) -> Callable[[APIGatewayRestResolver], None]:
        """Run ``setup(resolver)`` when the resolver is built: registrations whose arguments (an exception
        class from the domain, say) should not be imported at init."""
        if self._resolver is not None:
            setup(self._resolver)
        else:
            self._on_build.append(setup)
        return setup

    @property
    def built(self) -> bool:
        return self._resolver is not None

    def resolver(self) -> APIGatewayRestResolver:
        """The real resolver, built (and every recorded registration applied) on the first call."""
        if self._resolver is None:
            from aws_lambda_powertools.event_handler import APIGatewayRestResolver

            resolver = APIGatewayRestResolver(**self._options)
            for kind, args, kwargs, func in self._registrations:
                getattr(resolver, kind)(*args, **kwargs)(func)
            for setup in self._on_build:
                setup(resolver)
            self._registrations.clear()
            self._on_build.clear()
            self._resolver = resolver
        return self._resolver

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolver().resolve(event, context)
        return resolved

    def append_context(self, **values: Any) -> None:
        self.resolver().append_context(**values)  # type: ignore[no-untyped-call]

    def __getattr__(self, name: str) -> Any:
        # only reached for names this class does not define: current_event, context, resolve, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.resolver(), name)


def response(status: int, content_type: str, body: str, headers: dict[str, str] | None = None) -> Any:
    """A Powertools ``Response`` (imported here, on first use, not at the handler's import)."""
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type=content_type, body=body, headers=headers)
