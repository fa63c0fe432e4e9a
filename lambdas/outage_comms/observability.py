"""Powertools Logger, Tracer and Metrics: one of each per execution environment.

Every handler uses them in the same order::

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event, context): ...

The service name comes from ``POWERTOOLS_SERVICE_NAME`` and the metrics namespace from
``POWERTOOLS_METRICS_NAMESPACE`` (both set by the Lambda factory, ``stacks/constructs/lambda_runtime.py``).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "count_with_dimension", "logger", "metrics", "tracer"]


def count_with_dimension(name: str, dimension: str, value: str) -> None:
    """Emit one Count datapoint with its own dimension right away (e.g. RejectedEvents by code),
    without adding that dimension to the handler's other metrics."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name=dimension, value=value)
