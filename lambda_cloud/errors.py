"""What can go wrong talking to the Lambda Cloud API, as exception classes, and the advice each one carries.

The API names every failure with an error `code` (spec 1.10.0, the `ApiError*` schemas; the info section says
to rely on `code`, never on `message` or `suggestion`). `ERROR_KINDS` maps each code the stack can meet to the
exception raised and the advice its message gives; a code the table does not know falls back on the HTTP
status (`STATUS_FALLBACK`), then on the plain `LambdaCloudError`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any


class LambdaCloudError(Exception):
    """An error from the Lambda Cloud API or from talking to it; `code` is the API's error code, if any."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.suggestion = suggestion


class InvalidApiKeyError(LambdaCloudError):
    """401 `global/invalid-api-key`."""


class AccountInactiveError(LambdaCloudError):
    """403 `global/account-inactive`."""


class InsufficientCapacityError(LambdaCloudError):
    """`instance-operations/launch/insufficient-capacity`; `regions_with_capacity`: where it fits now."""

    def __init__(self, message: str, *, regions_with_capacity: Collection[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.regions_with_capacity = tuple(regions_with_capacity)


class QuotaExceededError(LambdaCloudError):
    """`global/quota-exceeded`."""


class InvalidParametersError(LambdaCloudError):
    """`global/invalid-parameters`, or a request the client refuses before sending."""


class ObjectNotFoundError(LambdaCloudError):
    """`global/object-does-not-exist` or `global/not-found` (404)."""


class FirewallRulesetInUseError(LambdaCloudError):
    """`firewall-rulesets/firewall-ruleset-in-use`: instances still use the ruleset being deleted."""


class RateLimitedError(LambdaCloudError):
    """HTTP 429 after every retry."""


class ServerError(LambdaCloudError):
    """HTTP 5xx after every retry."""


class TransportError(LambdaCloudError):
    """The API could not be reached, or the connection broke before an answer arrived."""


class LaunchOutcomeUnknownError(LambdaCloudError):
    """A launch may have happened, and the client could not find out; retrying could launch twice."""


class DuplicateInstanceNameError(LambdaCloudError):
    """A live instance already has the name a launch asked for."""


class InstanceFailedError(LambdaCloudError):
    """The instance ended (terminated, preempted) or vanished while the client waited for another status."""


class InstanceStatusTimeoutError(LambdaCloudError):
    """The instance did not reach the wanted status in time."""


class Retryable(Exception):
    """A failure worth retrying; `ambiguous` when the server may have acted on the request."""

    def __init__(self, error: LambdaCloudError, *, retry_after: float | None, ambiguous: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class ErrorKind:
    """The exception for one error code, and its message: `{where}`, `{code}` and `{said}` are filled in."""

    error: type[LambdaCloudError]
    advice: str


ERROR_KINDS: Mapping[str, ErrorKind] = {
    "global/invalid-api-key": ErrorKind(
        InvalidApiKeyError,
        "{where}: Lambda rejected the API key ({code}). Create a new key in the Lambda Cloud dashboard "
        "(API keys) and store it in the stack's Lambda API key secret",
    ),
    "global/account-inactive": ErrorKind(
        AccountInactiveError,
        "{where}: the Lambda account is inactive ({code}): {said}. Check billing and payment details in the "
        "Lambda Cloud dashboard, or contact Lambda support",
    ),
    "instance-operations/launch/insufficient-capacity": ErrorKind(
        InsufficientCapacityError, "{where}: {said} ({code})"
    ),
    "global/quota-exceeded": ErrorKind(
        QuotaExceededError,
        "{where}: the account's instance quota is used up ({code}): {said}. Terminate instances you no "
        "longer need, lower the pool's node count, or ask Lambda support to raise the quota",
    ),
    "global/invalid-parameters": ErrorKind(
        InvalidParametersError, "{where}: Lambda refused the request ({code}): {said}."
    ),
    "global/object-does-not-exist": ErrorKind(ObjectNotFoundError, "{where}: not found ({code}): {said}"),
    "global/not-found": ErrorKind(ObjectNotFoundError, "{where}: not found ({code}): {said}"),
    "firewall-rulesets/firewall-ruleset-in-use": ErrorKind(
        FirewallRulesetInUseError,
        "{where}: the firewall ruleset is still used by instances ({code}): {said}. Terminate or move the "
        "instances that use it first",
    ),
}
# Every 401 in the spec is `ApiErrorUnauthorized`, every 404 a not-found: for answers that carry no code.
STATUS_FALLBACK: Mapping[int, str] = {401: "global/invalid-api-key", 404: "global/object-does-not-exist"}
_UNKNOWN = ErrorKind(LambdaCloudError, "{where} failed ({code}, HTTP {status}): {said}")


def error_for(
    where: str, status: int, code: str | None, said: str, suggestion: str | None
) -> LambdaCloudError:
    """The exception for a refused request that is not worth retrying."""
    kind = ERROR_KINDS.get(code or "") or ERROR_KINDS.get(STATUS_FALLBACK.get(status, ""))
    shown_code = code or (f"HTTP {status}" if kind else "no error code")
    message = (kind or _UNKNOWN).advice.format(where=where, code=shown_code, said=said, status=status)
    return (kind or _UNKNOWN).error(message, code=code, status=status, suggestion=suggestion)
