"""Powertools Logger, Tracer and Metrics: one of each per execution environment.

Every handler uses them in the same order::

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event, context): ...

The service name comes from ``POWERTOOLS_SERVICE_NAME`` and the metrics namespace from
``POWERTOOLS_METRICS_NAMESPACE`` (both set by the Lambda factory, ``stacks/constructs/lambda_runtime.py``).

Cold start: Powertools' ``Tracer()`` imports the X-Ray SDK and patches every library it knows
(botocore, and through it most of boto3's own import) the moment it is built — about half of a
handler's import time. ``tracer`` here is a :class:`LazyTracer`: the real ``Tracer`` is built and
patches only :data:`TRACED_MODULES` on the handler's first invocation, before the handler's code
runs and before it creates any AWS client, so every AWS SDK call and outbound HTTP request is still
traced (X-Ray patches the client classes, so a client created earlier is traced too).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

#: What our code calls out through: the AWS SDK and urllib (webhooks, chat, providers).
TRACED_MODULES = ("botocore", "httplib")


class LazyTracer:
    """Powertools' ``Tracer``, built (X-Ray SDK loaded, modules patched) on first use, not at import."""

    def __init__(self, **options: Any) -> None:
        self._options = {"patch_modules": TRACED_MODULES, **options}
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        """The real Powertools ``Tracer`` (built now if no invocation has needed it yet)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(**self._options)
        return self._tracer

    @property
    def built(self) -> bool:
        """Whether the X-Ray SDK has been loaded by this tracer (tests of the cold path read it)."""
        return self._tracer is not None

    def capture_lambda_handler(
        self, lambda_handler: Callable[..., Any] | None = None, **options: Any
    ) -> Callable[..., Any]:
        """``Tracer.capture_lambda_handler``, applied on the first invocation rather than at import."""
        if lambda_handler is None:
            return functools.partial(self.capture_lambda_handler, **options)
        handler = lambda_handler
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def decorate(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer.capture_lambda_handler(handler, **options)
            return traced(event, context, *args, **kwargs)

        return decorate

    def __getattr__(self, name: str) -> Any:
        # put_annotation, put_metadata, capture_method, provider, ...: the real tracer's.
        return getattr(self.tracer, name)


logger = Logger()
tracer = LazyTracer()
metrics = Metrics()

__all__ = ["MetricUnit", "count_with_dimension", "logger", "metrics", "tracer"]


def count_with_dimension(name: str, dimension: str, value: str) -> None:
    """Emit one Count datapoint with its own dimension right away (e.g. RejectedEvents by code),
    without adding that dimension to the handler's other metrics."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name=dimension, value=value)
