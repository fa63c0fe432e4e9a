"""End User Messaging SMS/voice and push (which moto does not emulate), answered at the client boundary.

``pinpoint-sms-voice-v2`` ``SendTextMessage`` / ``SendVoiceMessage`` and ``pinpoint``
``SendMessages`` are answered by a botocore ``before-call`` handler registered on every session the
harness's process creates (botocore's built-in handler list, so the clients the shipped code makes
with ``boto3.session.Session().client(...)`` get it too). The shipped code path is unchanged.

Each request is validated against botocore's service model (the same check ``Stubber`` makes), and so
is the fake's answer, so a wrong parameter name or type fails here as it would against AWS. Any other
operation of these two services is refused (``UnsupportedOperation``): nothing falls through to a real
endpoint. Every accepted call is recorded in :attr:`ProviderFake.calls`.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator

SERVICES = ("pinpoint-sms-voice-v2", "pinpoint")


@dataclass(frozen=True)
class ProviderCall:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


class ProviderFake:
    """``install()`` / ``uninstall()``; ``calls`` lists what the channels sent, in order."""

    def __init__(self) -> None:
        self.calls: list[ProviderCall] = []
        self._lock = threading.Lock()
        self._entries: list[tuple[str, Any]] = []
        for service in SERVICES:
            self._entries.append((f"before-parameter-build.{service}", _remember_params))
            self._entries.append((f"before-call.{service}", self._before_call))

    def install(self) -> None:
        handlers.BUILTIN_HANDLERS.extend(self._entries)

    def uninstall(self) -> None:
        for entry in self._entries:
            if entry in handlers.BUILTIN_HANDLERS:
                handlers.BUILTIN_HANDLERS.remove(entry)

    def _before_call(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]]:
        """Returning ``(http, parsed)`` makes botocore skip the HTTP request (as ``Stubber`` does)."""
        service, operation = model.service_model.service_id.hyphenize(), model.name
        request = context.get(_PARAMS_KEY)
        if not isinstance(request, dict):
            raise RuntimeError(f"the embedded provider fake did not see the parameters of {operation}")
        _validate(request, model.input_shape, f"{service}.{operation} request")
        answer = _answer(service, operation, request)
        if answer is None:
            return _response(400, {"Error": {"Code": "UnsupportedOperation", "Message": (
                f"the embedded fake does not serve {service}.{operation}")}})  # fmt: skip
        _validate(answer, model.output_shape, f"{service}.{operation} response")
        with self._lock:
            self.calls.append(ProviderCall(service, operation, request, answer))
        return _response(200, answer)


_PARAMS_KEY = "embedded_api_params"


def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build``: keep the caller's parameters (``before-call`` sees them serialized)."""
    context[_PARAMS_KEY] = copy.deepcopy(params)


def _answer(service: str, operation: str, request: dict[str, Any]) -> dict[str, Any] | None:
    if service == "pinpoint-sms-voice-v2" and operation in ("SendTextMessage", "SendVoiceMessage"):
        return {"MessageId": f"embedded-{uuid.uuid4()}"}
    if service == "pinpoint" and operation == "SendMessages":
        addresses = request.get("MessageRequest", {}).get("Addresses", {})
        return {
            "MessageResponse": {
                "ApplicationId": request["ApplicationId"],
                "Result": {
                    address: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200, "MessageId": f"embedded-{n}"}
                    for n, address in enumerate(addresses, start=1)
                },
            }
        }
    return None


def _validate(value: dict[str, Any], shape: Any, what: str) -> None:
    if shape is None:
        return
    report = ParamValidator().validate(value, shape)
    if report.has_errors():
        raise ParamValidationError(report=f"{what}: {report.generate_report()}")


def _response(status: int, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse(url="https://embedded.invalid", status_code=status, headers={}, raw=None)
    metadata = {
        "HTTPStatusCode": status,
        "RequestId": str(uuid.uuid4()),
        "HTTPHeaders": {},
        "RetryAttempts": 0,
    }
    return http, {**copy.deepcopy(body), "ResponseMetadata": metadata}
