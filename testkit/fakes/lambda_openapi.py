"""Lambda Cloud's published OpenAPI 3.1 document (1.10.0), as the loopback fake's judge.

The document lives in ../shared/reference/lambda/openapi.json (SOURCES.md there says where it came from); it
is read from there, never copied into the project. `openapi-core` validates each request the fake receives and
each response it sends against it. A refused request is answered the way the real API answers it (status and
`ApiError*` error shape); a response that breaks the document is a defect of the fake or of a test's fault
injection, and is reported as such.

Two kinds of answer the paths do not list: 429 (the document's info section states the rate limits in prose)
and 5xx. For those the document gives only the error envelope every failure uses (info section, "Error
responses": `{"error": {"code": string, "message": string, "suggestion": string?}}`), and that is what they
are held to.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import SecurityValidationError
from openapi_schema_validator import OAS31Validator

from harness.paths import SHARED_REFERENCE

DOCUMENT = SHARED_REFERENCE / "lambda" / "openapi.json"
MISSING_REASON = (
    f"Lambda's OpenAPI document is not at {DOCUMENT} (shared/reference/lambda/openapi.json beside the "
    "project or a parent folder, or under $SOPHIA_SHARED_REFERENCE); the spec checks need it"
)
# The document's production server; the fake serves the same paths under its own loopback address.
SERVER = "https://cloud.lambda.ai"

ERROR_ENVELOPE = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "suggestion": {"type": "string"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


@dataclass(frozen=True)
class Refusal:
    """How the real API answers a request its document does not allow."""

    status: int
    code: str
    message: str
    suggestion: str


class LambdaOpenApi:
    """The document, loaded once, with request and response validation."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._api = OpenAPI.from_dict(dict(document))
        self._envelope = OAS31Validator(ERROR_ENVELOPE)
        # openapi-core keeps caches while it validates; the fake serves on several threads.
        self._lock = threading.Lock()

    def schema(self, name: str) -> Mapping[str, Any]:
        return self.document["components"]["schemas"][name]

    def refusal(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Refusal | None:
        """None when the document allows the request, else what the real API would answer."""
        return self._refusal(method, path, tuple(sorted(headers.items())), body)

    # The verdict is a function of the request alone, and clients repeat requests (polling, listing before
    # each launch): remembering verdicts keeps validation from slowing the fake's answers.
    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one instance per process, kept for its lifetime
    def _refusal(
        self, method: str, path: str, headers: tuple[tuple[str, str], ...], body: bytes
    ) -> Refusal | None:
        with self._lock:
            errors = list(self._api.iter_request_errors(_request(method, path, dict(headers), body)))
        if not errors:
            return None
        if any(isinstance(error, (PathNotFound, OperationNotFound)) for error in errors):
            schema = self.schema("ApiErrorNotFound")["properties"]
            return Refusal(404, "global/not-found", schema["message"]["default"], f"No {method} {path}.")
        if any(isinstance(error, SecurityValidationError) for error in errors):
            schema = self.schema("ApiErrorUnauthorized")["properties"]
            return Refusal(
                401, "global/invalid-api-key", schema["message"]["default"], schema["suggestion"]["default"]
            )
        schema = self.schema("ApiErrorInvalidParameters")["properties"]
        return Refusal(
            400, "global/invalid-parameters", schema["message"]["default"], "; ".join(map(_describe, errors))
        )

    def response_problems(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        request_body: bytes,
        status: int,
        sent: str,
    ) -> list[str]:
        """Every way the response (`sent`, its JSON body) breaks the document; empty when it conforms."""
        request = _request(method, path, headers, request_body)
        response = MockResponse(sent.encode(), status, {"Content-Type": "application/json"})
        with self._lock:
            errors = list(self._api.iter_response_errors(request, response))
        if any(isinstance(error, (PathNotFound, OperationNotFound)) for error in errors):
            # No operation to answer for: the fake's own refusal of a path the document lacks.
            return []
        if not any(isinstance(error, ResponseNotFound) for error in errors):
            return [f"{method} {path} -> {status}: {_describe(error)}" for error in errors]
        if status != 429 and status < 500:
            return [f"{method} {path} -> {status}: the document lists no such status for this operation"]
        return [
            f"{method} {path} -> {status}: {'/'.join(map(str, error.absolute_path))} {error.message}"
            for error in self._envelope.iter_errors(json.loads(sent))
        ]


def _request(method: str, path: str, headers: Mapping[str, str], body: bytes) -> MockRequest:
    route, _, query = path.partition("?")
    arguments = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
    return MockRequest(
        SERVER,
        method,
        route,
        args=arguments,
        headers=dict(headers),
        data=body or None,
        content_type=content_type,
    )


def _describe(error: Exception) -> str:
    """The library's error, with the schema errors behind it spelled out by where they are."""
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None) or ()
    if not details:
        return str(error)
    return "; ".join(
        f"{'.'.join(map(str, detail.absolute_path)) or 'body'}: {detail.message}" for detail in details
    )


@functools.cache
def lambda_openapi() -> LambdaOpenApi | None:
    """The document, or None without ../shared/reference (a user's clone): the fake then runs unchecked."""
    if not DOCUMENT.is_file():
        return None
    document = LambdaOpenApi(json.loads(DOCUMENT.read_text(encoding="utf-8")))
    # openapi-core builds each operation's validators on first use (tens of ms); build the launch path's now,
    # before any test's clock runs.
    headers = {"Authorization": "Bearer warm-up", "Content-Type": "application/json"}
    launch = {"region_name": "us-east-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["warm-up"]}
    for method, path, body in (
        ("GET", "/api/v1/instances", None),
        ("GET", "/api/v1/instances/warm-up", None),
        ("POST", "/api/v1/instance-operations/launch", launch),
        ("POST", "/api/v1/instance-operations/terminate", {"instance_ids": ["warm-up"]}),
    ):
        document.refusal(method, path, headers, json.dumps(body).encode() if body else b"")
    return document
