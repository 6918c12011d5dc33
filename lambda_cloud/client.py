"""A small client for the Lambda Cloud REST API (spec 1.10.0, https://cloud.lambda.ai/api/v1/openapi.json).

Only what the GPU node pool needs: list instance types, launch, terminate, list and read instances, list SSH
keys, and manage firewall rulesets. Shapes used here, from the spec: every success body is `{"data": ...}`,
every error body is `{"error": {"code", "message", "suggestion"}}`; launch takes `region_name`,
`instance_type_name`, `ssh_key_names` (exactly one), `name` (64 characters or fewer), `user_data` (cloud-init,
at most 1 MB), `tags` (`[{"key", "value"}]`, see domain/lambda_tags.py) and `firewall_rulesets` (`[{"id"}]`)
and answers `data.instance_ids`; terminate takes `instance_ids` and answers `data.terminated_instances`; an
instance has `id`, `name`, `ip`, `private_ip`, `status`, `hostname`, `region{name}`, `instance_type{name}`,
`tags`; a firewall ruleset has `id`, `name`, `region`, `rules` (`protocol`, `port_range`, `source_network`,
`description`), `created` and `instance_ids`.

Three things make it safe to drive from a Pulumi provider:

* Launches are paced by a limiter shared by every client in the process (lambda_cloud/limiter.py), so
  concurrent creates queue instead of collecting 429s.
* A launch whose answer is lost (connection reset, timeout, 5xx) may still have created the instance, so the
  client looks the instance up by its unique name before it tries again: nothing launches twice. Creating a
  firewall ruleset is recovered the same way, by name and region.
* The API key lives in a holder that refuses to be printed or pickled, and it is scrubbed from every error
  message the client raises or logs.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from domain.lambda_tags import tag_problems
from lambda_cloud.errors import (
    DuplicateInstanceNameError,
    FirewallRulesetInUseError,
    InstanceFailedError,
    InstanceStatusTimeoutError,
    InsufficientCapacityError,
    InvalidApiKeyError,
    InvalidParametersError,
    LambdaCloudError,
    LaunchOutcomeUnknownError,
    ObjectNotFoundError,
    RateLimitedError,
    Retryable,
    ServerError,
    TransportError,
    error_for,
)
from lambda_cloud.limiter import LaunchRateLimiter, shared_launch_limiter

DEFAULT_BASE_URL = "https://cloud.lambda.ai/api/v1/"
# Lambda documents about one launch per 12 s (5 a minute) per account, and about one request a second overall.
DEFAULT_LAUNCH_INTERVAL_S = 12.0
DEFAULT_REQUEST_TIMEOUT_S = 30.0
DEFAULT_POLL_INTERVAL_S = 5.0
MAX_INSTANCE_NAME_LENGTH = 64
MAX_USER_DATA_BYTES = 1024 * 1024

# Statuses from which an instance never comes back to `active`.
ENDED_STATUSES = frozenset({"terminating", "terminated", "preempted"})
# What an instance still listed on a ruleset can be while it lets go of it.
_RELEASING = frozenset({"terminating", "terminated", "gone"})

_REDACTED = "[redacted]"
_log = logging.getLogger(__name__)
# Back-off jitter only spreads retries out; it needs no particular quality of randomness.
_jitter = random.SystemRandom()
_T = TypeVar("_T")


class _Secret:
    """Holds the API key; prints as a placeholder and refuses to be pickled so it cannot leak into state."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<secret {_REDACTED}>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("the Lambda API key is never pickled: pass it to the client at call time")


def unique_instance_name(prefix: str) -> str:
    """`prefix` plus a random suffix: the name is what makes a retried launch safe to look up."""
    suffix = secrets.token_hex(4)
    room = MAX_INSTANCE_NAME_LENGTH - len(suffix) - 1
    if not prefix or len(prefix) > room:
        raise InvalidParametersError(
            f"instance name prefix {prefix!r} must be 1 to {room} characters (Lambda allows "
            f"{MAX_INSTANCE_NAME_LENGTH} and the client adds '-{suffix}')",
            code="global/invalid-parameters",
        )
    return f"{prefix}-{suffix}"


def _normalise_base_url(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _decode(raw: bytes) -> Any:
    """The JSON document of an answer, or None when it has none."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _not_recovered(_failure: Retryable) -> None:
    return None


class LambdaCloudClient:
    """Talks to one Lambda Cloud API endpoint with one API key.

    Retries 429 (after `Retry-After`) and 5xx with exponential backoff and jitter, `max_attempts` times at
    most; everything else fails at once with an error that says what to fix.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        max_attempts: int = 6,
        retry_base_delay_s: float = 1.0,
        retry_max_delay_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        launch_interval_s: float = DEFAULT_LAUNCH_INTERVAL_S,
        launch_limiter: LaunchRateLimiter | None = None,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise InvalidApiKeyError(
                "no Lambda Cloud API key was given; set the stack's Lambda API key secret "
                "(create one in the Lambda Cloud dashboard under API keys)",
                code="global/invalid-api-key",
            )
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if urllib.parse.urlsplit(base_url).scheme not in {"http", "https"}:
            raise ValueError(f"the Lambda API base URL must be http(s), got {base_url!r}")
        self._api_key = _Secret(api_key)
        self.base_url = _normalise_base_url(base_url)
        self._timeout = request_timeout_s
        self._max_attempts = max_attempts
        self._retry_base_delay = retry_base_delay_s
        self._retry_max_delay = retry_max_delay_s
        self._max_retry_after = max_retry_after_s
        self._limiter = launch_limiter or shared_launch_limiter(self.base_url, launch_interval_s)
        self._poll_interval = poll_interval_s
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"LambdaCloudClient(base_url={self.base_url!r})"

    # -- reads ---------------------------------------------------------------------------------------------

    def instance_types(self) -> Mapping[str, Any]:
        """`GET instance-types`: name -> `{"instance_type", "regions_with_capacity_available"}`."""
        data = self._request("GET", "instance-types")
        return data if isinstance(data, Mapping) else {}

    def regions_with_capacity(self, instance_type: str) -> list[str]:
        entry = self.instance_types().get(instance_type) or {}
        regions = entry.get("regions_with_capacity_available") or []
        return sorted(
            str(region["name"]) for region in regions if isinstance(region, Mapping) and "name" in region
        )

    def ssh_key_names(self) -> list[str]:
        data = self._request("GET", "ssh-keys")
        return sorted(str(key["name"]) for key in data or [] if isinstance(key, Mapping) and "name" in key)

    def list_instances(self) -> list[Mapping[str, Any]]:
        data = self._request("GET", "instances")
        return [item for item in data or [] if isinstance(item, Mapping)]

    def get_instance(self, instance_id: str) -> Mapping[str, Any] | None:
        """The instance, or None when the API no longer knows it (404 / `global/object-does-not-exist`)."""
        try:
            data = self._request("GET", f"instances/{urllib.parse.quote(instance_id, safe='')}")
        except ObjectNotFoundError:
            return None
        return data if isinstance(data, Mapping) else None

    def find_instances_by_name(self, name: str) -> list[Mapping[str, Any]]:
        """Instances named `name` that have not ended, oldest id first."""
        return sorted(
            (
                instance
                for instance in self.list_instances()
                if instance.get("name") == name and instance.get("status") not in ENDED_STATUSES
            ),
            key=lambda instance: str(instance.get("id")),
        )

    def firewall_rulesets(self) -> list[Mapping[str, Any]]:
        """`GET firewall-rulesets`: every ruleset of the account, in every region."""
        data = self._request("GET", "firewall-rulesets")
        return [item for item in data or [] if isinstance(item, Mapping)]

    def get_firewall_ruleset(self, ruleset_id: str) -> Mapping[str, Any] | None:
        """The ruleset, or None when the API does not know it."""
        try:
            data = self._request("GET", f"firewall-rulesets/{urllib.parse.quote(ruleset_id, safe='')}")
        except ObjectNotFoundError:
            return None
        return data if isinstance(data, Mapping) else None

    # -- writes --------------------------------------------------------------------------------------------

    def launch(
        self,
        region: str,
        instance_type: str,
        ssh_key_name: str,
        name: str,
        user_data: str | None = None,
        tags: Mapping[str, str] | None = None,
        firewall_ruleset_ids: Sequence[str] = (),
    ) -> str:
        """Launch one instance and return its id. `name` must be unique (see `unique_instance_name`)."""
        if not name or len(name) > MAX_INSTANCE_NAME_LENGTH:
            raise InvalidParametersError(
                f"instance name {name!r} must be 1 to {MAX_INSTANCE_NAME_LENGTH} characters",
                code="global/invalid-parameters",
            )
        if user_data is not None and len(user_data.encode("utf-8")) > MAX_USER_DATA_BYTES:
            raise InvalidParametersError(
                f"user_data for {name} is {len(user_data.encode('utf-8'))} bytes; Lambda accepts at most "
                "1 MB. Shrink the cloud-init document (fetch large files at boot instead of inlining them)",
                code="global/invalid-parameters",
            )
        refused_tags = tag_problems(tags or {})
        if refused_tags:
            raise InvalidParametersError(
                f"Lambda would refuse the tags of {name}: {'; '.join(refused_tags)}",
                code="global/invalid-parameters",
            )
        body: dict[str, Any] = {
            "region_name": region,
            "instance_type_name": instance_type,
            "ssh_key_names": [ssh_key_name],
            "name": name,
        }
        if user_data:
            body["user_data"] = user_data
        if tags:
            body["tags"] = [{"key": key, "value": value} for key, value in sorted(tags.items())]
        if firewall_ruleset_ids:
            body["firewall_rulesets"] = [{"id": ruleset_id} for ruleset_id in firewall_ruleset_ids]
        redact = (user_data,) if user_data else ()

        def attempt(number: int) -> str:
            self._limiter.acquire()
            # The check is what lets a lookup after a lost answer trust that a match is ours. It runs inside
            # the slot: checks made all at once beforehand crowd the server just as the first launch goes.
            if number == 1 and self.find_instances_by_name(name):
                raise DuplicateInstanceNameError(
                    f"a live Lambda instance is already named {name!r}; launches use unique names so that a "
                    "retry can find the instance it already created. Terminate the stray instance or pick "
                    "another name"
                )
            self._limiter.note_sent()
            try:
                data = self._send_once("POST", "instance-operations/launch", body, redact)
            except InsufficientCapacityError as error:
                raise self._capacity_error(error, region, instance_type) from None
            except ObjectNotFoundError as error:
                raise self._launch_not_found_error(error, ssh_key_name) from None
            except InvalidParametersError as error:
                raise InvalidParametersError(
                    self._scrub(
                        f"{error} Check the launch parameters: region {region!r}, instance type "
                        f"{instance_type!r}, SSH key {ssh_key_name!r}, name {name!r}.",
                        redact,
                    ),
                    code=error.code,
                    status=error.status,
                    suggestion=error.suggestion,
                ) from None
            instance_ids = data.get("instance_ids") if isinstance(data, Mapping) else None
            if not isinstance(instance_ids, list) or len(instance_ids) != 1:
                existing = self._launched_instance_named(name)
                if existing is not None:
                    return existing
                raise LaunchOutcomeUnknownError(
                    f"Lambda answered the launch of {name} without one instance id; look for an instance "
                    f"named {name!r} in the Lambda dashboard and terminate it if the Pulumi state lacks it"
                )
            _log.info("launched %s as %s (%s in %s)", name, instance_ids[0], instance_type, region)
            return str(instance_ids[0])

        def recover(failure: Retryable) -> str | None:
            if failure.ambiguous:
                existing = self._launched_instance_named(name)
                if existing is not None:
                    _log.warning("launch of %s: answer lost, found instance %s by name", name, existing)
                return existing
            if failure.retry_after is not None:
                self._limiter.defer(failure.retry_after)
            return None

        return self._retrying(f"launch of {name}", attempt, recover)

    def terminate(self, instance_ids: Iterable[str]) -> list[Mapping[str, Any]]:
        """Terminate the instances; returns the API's `terminated_instances`."""
        ids = list(instance_ids)
        data = self._request("POST", "instance-operations/terminate", {"instance_ids": ids})
        terminated = data.get("terminated_instances") if isinstance(data, Mapping) else None
        _log.info("terminate requested for %s", ", ".join(ids))
        return [item for item in terminated or [] if isinstance(item, Mapping)]

    def create_firewall_ruleset(
        self, name: str, region: str, rules: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        """Create a ruleset (`FirewallRulesetCreateRequest`); a lost answer is found by name and region."""
        body = {"name": name, "region": region, "rules": [dict(rule) for rule in rules]}

        def attempt(_number: int) -> Mapping[str, Any]:
            data = self._send_once("POST", "firewall-rulesets", body)
            if not isinstance(data, Mapping) or "id" not in data:
                raise ServerError(f"Lambda answered the creation of firewall ruleset {name} without its id")
            return data

        def recover(failure: Retryable) -> Mapping[str, Any] | None:
            if not failure.ambiguous:
                return None
            return next(
                (
                    ruleset
                    for ruleset in self.firewall_rulesets()
                    if ruleset.get("name") == name and (ruleset.get("region") or {}).get("name") == region
                ),
                None,
            )

        return self._retrying(f"creation of firewall ruleset {name}", attempt, recover)

    def update_firewall_ruleset(
        self,
        ruleset_id: str,
        *,
        name: str | None = None,
        rules: Sequence[Mapping[str, Any]] | None = None,
    ) -> Mapping[str, Any]:
        """Change the name and/or the rules of a ruleset (`FirewallRulesetPatchRequest`, a partial update)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if rules is not None:
            body["rules"] = [dict(rule) for rule in rules]
        data = self._request("PATCH", f"firewall-rulesets/{urllib.parse.quote(ruleset_id, safe='')}", body)
        return data if isinstance(data, Mapping) else {}

    def delete_firewall_ruleset(self, ruleset_id: str, *, wait_s: float = 0.0) -> None:
        """Delete a ruleset (one already gone is not an error).

        The API refuses while instances use it (`FirewallRulesetInUseError`). An instance lets go of its
        rulesets once it is terminated, so for up to `wait_s` the delete is retried while every instance still
        holding the ruleset is on its way out (terminating, terminated or gone); otherwise the error names the
        instances that hold it.
        """
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self._request("DELETE", f"firewall-rulesets/{urllib.parse.quote(ruleset_id, safe='')}")
                return
            except ObjectNotFoundError:
                return
            except FirewallRulesetInUseError as refused:
                holders = self._ruleset_holders(ruleset_id)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or any(status not in _RELEASING for status in holders.values()):
                    held_by = ", ".join(f"{instance} ({status})" for instance, status in holders.items())
                    raise FirewallRulesetInUseError(
                        f"{refused}; held by {held_by or 'instances the API does not list'}",
                        code=refused.code,
                        status=refused.status,
                        suggestion=refused.suggestion,
                    ) from None
                self._sleep(min(self._poll_interval, remaining))

    def _ruleset_holders(self, ruleset_id: str) -> dict[str, str]:
        """The instances a ruleset is associated with (`FirewallRuleset.instance_ids`) and their statuses."""
        ruleset = self.get_firewall_ruleset(ruleset_id) or {}
        holders = {}
        for instance_id in ruleset.get("instance_ids") or []:
            instance = self.get_instance(str(instance_id))
            holders[str(instance_id)] = "gone" if instance is None else str(instance.get("status"))
        return holders

    # -- waiting -------------------------------------------------------------------------------------------

    def wait_for_status(
        self,
        instance_id: str,
        statuses: Collection[str],
        timeout_s: float,
        *,
        poll_interval_s: float | None = None,
    ) -> Mapping[str, Any]:
        """Poll until the instance has one of `statuses`; fail early if it ends or vanishes instead."""
        wanted = frozenset(statuses)
        poll = self._poll_interval if poll_interval_s is None else poll_interval_s
        deadline = time.monotonic() + timeout_s
        while True:
            instance = self.get_instance(instance_id)
            if instance is None:
                raise InstanceFailedError(
                    f"Lambda instance {instance_id} disappeared while waiting for it to be "
                    f"{'/'.join(sorted(wanted))}; check the Lambda dashboard for why it was removed",
                    code="global/object-does-not-exist",
                )
            status = str(instance.get("status"))
            if status in wanted:
                return instance
            if status in ENDED_STATUSES and not wanted & ENDED_STATUSES:
                raise InstanceFailedError(
                    f"Lambda instance {instance_id} ({instance.get('name')}) is {status} instead of becoming "
                    f"{'/'.join(sorted(wanted))}; "
                    + (
                        "Lambda reclaimed it: run the update again to get a new one"
                        if status == "preempted"
                        else "it was terminated outside this program"
                    )
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstanceStatusTimeoutError(
                    f"Lambda instance {instance_id} ({instance.get('name')}) was still {status} after "
                    f"{timeout_s:g}s, waiting for {'/'.join(sorted(wanted))}. Lambda instances usually boot "
                    "in a few minutes; raise the timeout, or check the instance in the Lambda dashboard"
                )
            self._sleep(min(poll, remaining))

    def wait_until_terminated(
        self, instance_id: str, timeout_s: float, *, poll_interval_s: float | None = None
    ) -> None:
        """Poll until the instance is terminated, preempted or gone."""
        poll = self._poll_interval if poll_interval_s is None else poll_interval_s
        deadline = time.monotonic() + timeout_s
        while True:
            instance = self.get_instance(instance_id)
            if instance is None or instance.get("status") in {"terminated", "preempted"}:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InstanceStatusTimeoutError(
                    f"Lambda instance {instance_id} was still {instance.get('status')} {timeout_s:g}s after "
                    "its termination was requested; check it in the Lambda dashboard (it may still be "
                    "billed) and run the destroy again"
                )
            self._sleep(min(poll, remaining))

    # -- plumbing ------------------------------------------------------------------------------------------

    def _launched_instance_named(self, name: str) -> str | None:
        try:
            found = self.find_instances_by_name(name)
        except LambdaCloudError as error:
            raise LaunchOutcomeUnknownError(
                f"the answer to the launch of {name} was lost and the instance list could not be read to "
                f"see whether it was created ({error}); look for an instance named {name!r} in the Lambda "
                "dashboard before trying again, so that it does not run twice"
            ) from None
        if len(found) > 1:
            _log.warning("%d live instances are named %s; adopting the oldest", len(found), name)
        return str(found[0]["id"]) if found else None

    def _capacity_error(
        self, error: InsufficientCapacityError, region: str, instance_type: str
    ) -> InsufficientCapacityError:
        try:
            regions = self.regions_with_capacity(instance_type)
        except LambdaCloudError:
            regions = []
        where = (
            f"Regions with {instance_type} capacity now: {', '.join(regions)}. Set the pool's region to one "
            "of them, or choose another instance type"
            if regions
            else f"No region has {instance_type} capacity now; try again later or choose another type"
        )
        return InsufficientCapacityError(
            f"Lambda has no {instance_type} capacity in {region} ({error.code}). {where}.",
            regions_with_capacity=regions,
            code=error.code,
            status=error.status,
            suggestion=error.suggestion,
        )

    def _launch_not_found_error(self, error: ObjectNotFoundError, ssh_key_name: str) -> LambdaCloudError:
        try:
            keys = self.ssh_key_names()
        except LambdaCloudError:
            return error
        if ssh_key_name in keys:
            return error
        known = ", ".join(keys) if keys else "none"
        return ObjectNotFoundError(
            f"the SSH key {ssh_key_name!r} does not exist in this Lambda account ({error.code}); keys that "
            f"do: {known}. Add the key in the Lambda dashboard or set the pool's SSH key name to one of them",
            code=error.code,
            status=error.status,
            suggestion=error.suggestion,
        )

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._retrying(f"{method} {path}", lambda _number: self._send_once(method, path, body))

    def _retrying(
        self,
        what: str,
        attempt: Callable[[int], _T],
        recover: Callable[[Retryable], _T | None] = _not_recovered,
    ) -> _T:
        """The one retry loop: `attempt(n)` until it stops raising `Retryable`, `max_attempts` times at most.

        After each retryable failure `recover` may find that the request took effect after all (an answer
        lost on its way back); what it returns is the result, and no further attempt is made.
        """
        last_error: LambdaCloudError | None = None
        for number in range(1, self._max_attempts + 1):
            try:
                return attempt(number)
            except Retryable as failure:
                last_error = failure.error
                recovered = recover(failure)
                if recovered is not None:
                    return recovered
                if number < self._max_attempts:
                    delay = self._delay(number, failure.retry_after)
                    _log.warning(
                        "%s failed (%s), attempt %d of %d, retrying in %.2fs",
                        what,
                        failure.error,
                        number,
                        self._max_attempts,
                        delay,
                    )
                    self._sleep(delay)
        raise self._exhausted(last_error, what)

    def _exhausted(self, last_error: LambdaCloudError | None, what: str) -> LambdaCloudError:
        cls: type[LambdaCloudError] = type(last_error) if last_error is not None else LambdaCloudError
        detail = str(last_error) if last_error is not None else "no attempt was made"
        return cls(
            f"{what} gave up after {self._max_attempts} attempts: {detail}",
            code=last_error.code if last_error else None,
            status=last_error.status if last_error else None,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # A little jitter on top of the server's figure stops waiting threads from returning in lockstep.
            bounded = min(retry_after, self._max_retry_after)
            return bounded + _jitter.uniform(0, bounded * 0.1)
        ceiling = min(self._retry_max_delay, self._retry_base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + _jitter.uniform(0, ceiling / 2)

    def _scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        for secret in (self._api_key.reveal(), *extra):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    def _send_once(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, redact: Iterable[str] = ()
    ) -> Any:
        """One exchange: the `data` member on success, `Retryable` for 429/5xx/transport, else an error."""
        redact = tuple(redact)
        url = urllib.parse.urljoin(self.base_url, path)
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Authorization": f"Bearer {self._api_key.reveal()}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        # The scheme is checked in __init__ (http or https only), so urlopen cannot be steered to file: URLs.
        request = urllib.request.Request(url, data=payload, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status, raw, retry_after_header = response.status, response.read(), None
        except urllib.error.HTTPError as http_error:
            status = http_error.code
            retry_after_header = http_error.headers.get("Retry-After") if http_error.headers else None
            try:
                raw = http_error.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            finally:
                http_error.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as transport_error:
            reason = getattr(transport_error, "reason", None) or transport_error
            raise Retryable(
                TransportError(
                    self._scrub(f"{method} {path}: no answer from {self.base_url} ({reason})", redact)
                ),
                retry_after=None,
                ambiguous=True,
            ) from None

        document = _decode(raw)
        if 200 <= status < 300:
            if not isinstance(document, Mapping) or "data" not in document:
                raise Retryable(
                    ServerError(f"{method} {path}: HTTP {status} without a JSON data member", status=status),
                    retry_after=None,
                    ambiguous=True,
                )
            return document["data"]
        raise self._error_for(method, path, status, document, retry_after_header, redact)

    def _error_for(
        self,
        method: str,
        path: str,
        status: int,
        document: Any,
        retry_after_header: str | None,
        redact: tuple[str, ...],
    ) -> Exception:
        error = document.get("error") if isinstance(document, Mapping) else None
        error = error if isinstance(error, Mapping) else {}
        code = str(error["code"]) if error.get("code") else None
        message = self._scrub(str(error.get("message") or f"HTTP {status}"), redact)
        suggestion = self._scrub(str(error["suggestion"]), redact) if error.get("suggestion") else None
        said = f"{message}" + (f" ({suggestion})" if suggestion else "")
        where = f"Lambda Cloud {method} {path}"
        common: dict[str, Any] = {"code": code, "status": status, "suggestion": suggestion}

        if status == 429:
            return Retryable(
                RateLimitedError(f"{where} was rate limited (HTTP 429): {said}", **common),
                retry_after=_parse_retry_after(retry_after_header),
                ambiguous=False,
            )
        if status >= 500:
            return Retryable(
                ServerError(f"{where} failed on Lambda's side (HTTP {status}): {said}", **common),
                retry_after=_parse_retry_after(retry_after_header),
                ambiguous=True,
            )
        return error_for(where, status, code, said, suggestion)
