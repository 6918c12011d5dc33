"""Lambda Cloud instances as Pulumi resources, through a Python dynamic provider (no Lambda provider exists).

`LambdaInstance` launches one on-demand instance, waits for it to be `active`, and terminates it on delete.
Life-cycle rules:

* create: launch under a unique name (the input `name` plus a random suffix), wait for `active`; if the wait
  fails or times out, the instance is terminated before the error is raised, so a failed create leaves
  nothing running.
* read (refresh): an instance that is terminated, terminating, preempted or unknown to the API reads as gone,
  so Pulumi drops it from the state and the next `up` launches a replacement.
* diff: `region`, `instance_type`, `ssh_key_name`, `user_data`, `name`, `tags` and `firewall_ruleset_ids`
  replace the instance. Lambda cannot change the first four on a running instance, and tags and rulesets are
  given only at launch (`InstanceLaunchRequest.tags` / `.firewall_rulesets`; the spec's instance modification
  request carries nothing but `name`). The
  API could rename in place, but the name is what a lost launch answer is recovered by, so a new name gets a
  new instance. The API key, base URL and timeouts change in place, since they only steer the provider (a
  rotated key must reach the state so that delete uses it).
* delete: terminate, then wait until the instance is terminated or gone.

The provider object holds no state: `pulumi.dynamic` pickles it with dill into the Pulumi state, so the API
key is read from the resource's inputs at call time and never stored on the provider or in a closure. The
key and `user_data` (which carries the k3s join token) are secret inputs and declared secret outputs. dill
records the class by its module path, so the provider process must be able to import
`components.lambda_instance`, and the module must keep its name while the state holds these resources.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.provider_inputs import number, unwrap_secret
from lambda_cloud import (
    DEFAULT_BASE_URL,
    DEFAULT_LAUNCH_INTERVAL_S,
    DEFAULT_POLL_INTERVAL_S,
    ENDED_STATUSES,
    MAX_INSTANCE_NAME_LENGTH,
    LambdaCloudClient,
    LambdaCloudError,
    ObjectNotFoundError,
    unique_instance_name,
)

DEFAULT_ACTIVE_TIMEOUT_S = 1200.0
DEFAULT_DELETE_TIMEOUT_S = 600.0
DEFAULT_RETRY_BASE_DELAY_S = 1.0
# `unique_instance_name` appends "-" and 8 hex characters.
MAX_NAME_PREFIX_LENGTH = MAX_INSTANCE_NAME_LENGTH - 9

# Rulesets are attached at launch only (`InstanceLaunchRequest.firewall_rulesets`).
REPLACE_PROPERTIES = (
    "region",
    "instance_type",
    "ssh_key_name",
    "user_data",
    "name",
    "tags",
    "firewall_ruleset_ids",
)
IN_PLACE_PROPERTIES = (
    "api_key",
    "base_url",
    "active_timeout_s",
    "delete_timeout_s",
    "poll_interval_s",
    "launch_interval_s",
    "retry_base_delay_s",
)
INPUT_PROPERTIES = REPLACE_PROPERTIES + IN_PLACE_PROPERTIES
OUTPUT_PROPERTIES = ("instance_id", "instance_name", "ip", "private_ip", "hostname", "status")
SECRET_PROPERTIES = ("api_key", "user_data")
_REQUIRED_STRINGS = ("api_key", "region", "instance_type", "ssh_key_name", "name")
_POSITIVE_NUMBERS = ("active_timeout_s", "delete_timeout_s", "poll_interval_s")
_NON_NEGATIVE_NUMBERS = ("launch_interval_s", "retry_base_delay_s")

_log = logging.getLogger(__name__)


class LambdaInstanceError(LambdaCloudError):
    """A create that failed after launching; the message says what happened to the instance."""


def _is_known(value: Any) -> bool:
    return not isinstance(value, pulumi.output.Unknown)


def _normalised(key: str, value: Any) -> Any:
    value = unwrap_secret(value)
    if key == "tags":
        return {str(k): str(unwrap_secret(v)) for k, v in (value or {}).items()}
    if key == "user_data":
        return value or None
    if key == "firewall_ruleset_ids":
        return [str(unwrap_secret(item)) for item in value or []]
    return value


@dataclass(frozen=True)
class _Settings:
    """The inputs of one call, read fresh each time and never kept on the provider."""

    api_key: str
    region: str
    instance_type: str
    ssh_key_name: str
    name: str
    user_data: str | None
    tags: dict[str, str]
    firewall_ruleset_ids: list[str]
    base_url: str
    active_timeout_s: float
    delete_timeout_s: float
    poll_interval_s: float
    launch_interval_s: float
    retry_base_delay_s: float

    def __repr__(self) -> str:
        return f"_Settings(name={self.name!r}, region={self.region!r}, instance_type={self.instance_type!r})"

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> _Settings:
        return cls(
            api_key=str(unwrap_secret(props.get("api_key")) or ""),
            region=str(unwrap_secret(props.get("region"))),
            instance_type=str(unwrap_secret(props.get("instance_type"))),
            ssh_key_name=str(unwrap_secret(props.get("ssh_key_name"))),
            name=str(unwrap_secret(props.get("name"))),
            user_data=_normalised("user_data", props.get("user_data")),
            tags=_normalised("tags", props.get("tags")),
            firewall_ruleset_ids=_normalised("firewall_ruleset_ids", props.get("firewall_ruleset_ids")),
            base_url=str(unwrap_secret(props.get("base_url")) or DEFAULT_BASE_URL),
            active_timeout_s=number(props, "active_timeout_s", DEFAULT_ACTIVE_TIMEOUT_S),
            delete_timeout_s=number(props, "delete_timeout_s", DEFAULT_DELETE_TIMEOUT_S),
            poll_interval_s=number(props, "poll_interval_s", DEFAULT_POLL_INTERVAL_S),
            launch_interval_s=number(props, "launch_interval_s", DEFAULT_LAUNCH_INTERVAL_S),
            retry_base_delay_s=number(props, "retry_base_delay_s", DEFAULT_RETRY_BASE_DELAY_S),
        )

    def client(self) -> LambdaCloudClient:
        return LambdaCloudClient(
            self.api_key,
            base_url=self.base_url,
            launch_interval_s=self.launch_interval_s,
            retry_base_delay_s=self.retry_base_delay_s,
            poll_interval_s=self.poll_interval_s,
        )


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in INPUT_PROPERTIES if key in props}


def _observed(instance: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "instance_id": str(instance["id"]),
        "instance_name": instance.get("name"),
        "ip": instance.get("ip"),
        "private_ip": instance.get("private_ip"),
        "hostname": instance.get("hostname"),
        "status": instance.get("status"),
    }


class LambdaInstanceProvider(dynamic.ResourceProvider):
    """CRUD for one Lambda on-demand instance. Stateless by design: see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = []
        for key in _REQUIRED_STRINGS:
            value = unwrap_secret(news.get(key))
            if _is_known(value) and (not isinstance(value, str) or not value):
                failures.append(
                    dynamic.CheckFailure(key, f"{key} is required and must be a non-empty string")
                )
        name = unwrap_secret(news.get("name"))
        if isinstance(name, str) and len(name) > MAX_NAME_PREFIX_LENGTH:
            failures.append(
                dynamic.CheckFailure(
                    "name",
                    f"name {name!r} is {len(name)} characters; at most {MAX_NAME_PREFIX_LENGTH} fit, because "
                    f"Lambda allows {MAX_INSTANCE_NAME_LENGTH} and a 9-character unique suffix is added",
                )
            )
        for key in _POSITIVE_NUMBERS + _NON_NEGATIVE_NUMBERS:
            value = unwrap_secret(news.get(key))
            if value is None or not _is_known(value):
                continue
            strictly_positive = key in _POSITIVE_NUMBERS
            valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not valid or value < 0 or (strictly_positive and value == 0):
                bound = "greater than 0" if strictly_positive else "0 or more"
                failures.append(
                    dynamic.CheckFailure(key, f"{key} must be a number of seconds {bound}, got {value!r}")
                )
        tags = unwrap_secret(news.get("tags"))
        tags_are_strings = isinstance(tags, Mapping) and all(
            isinstance(k, str) and isinstance(unwrap_secret(v), str) for k, v in tags.items()
        )
        if tags is not None and _is_known(tags) and not tags_are_strings:
            failures.append(dynamic.CheckFailure("tags", "tags must map strings to strings"))
        return dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        settings = _Settings.from_props(props)
        client = settings.client()
        instance_name = unique_instance_name(settings.name)
        # A launch whose answer was lost is resolved inside the client (by name), so an error here means no
        # instance was created, or that the client cannot know (LaunchOutcomeUnknownError names the instance).
        instance_id = client.launch(
            region=settings.region,
            instance_type=settings.instance_type,
            ssh_key_name=settings.ssh_key_name,
            name=instance_name,
            user_data=settings.user_data,
            tags=settings.tags,
            firewall_ruleset_ids=settings.firewall_ruleset_ids,
        )
        try:
            instance = client.wait_for_status(
                instance_id, {"active"}, settings.active_timeout_s, poll_interval_s=settings.poll_interval_s
            )
        except BaseException as error:
            outcome = self._terminate_after_failed_create(client, instance_id)
            if not isinstance(error, Exception):
                raise
            raise LambdaInstanceError(
                f"{error} {outcome}", code=getattr(error, "code", None), status=getattr(error, "status", None)
            ) from None
        return dynamic.CreateResult(str(instance_id), {**_inputs_of(props), **_observed(instance)})

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        client = _Settings.from_props(props).client()
        instance = client.get_instance(id_)
        if instance is None or instance.get("status") in ENDED_STATUSES:
            _log.info(
                "Lambda instance %s is %s; dropping it from the state",
                id_,
                "gone" if instance is None else instance.get("status"),
            )
            return dynamic.ReadResult("", {})
        return dynamic.ReadResult(id_, {**_inputs_of(props), **_observed(instance)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [
            key
            for key in REPLACE_PROPERTIES
            if _normalised(key, olds.get(key)) != _normalised(key, news.get(key))
        ]
        in_place = [
            key for key in IN_PLACE_PROPERTIES if unwrap_secret(olds.get(key)) != unwrap_secret(news.get(key))
        ]
        return dynamic.DiffResult(changes=bool(replaces or in_place), replaces=replaces)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        # Only provider settings change in place; the instance itself is untouched.
        observed = {key: olds[key] for key in OUTPUT_PROPERTIES if key in olds}
        return dynamic.UpdateResult({**_inputs_of(news), **observed})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        settings = _Settings.from_props(props)
        client = settings.client()
        instance = client.get_instance(id_)
        if instance is None or instance.get("status") in {"terminated", "preempted"}:
            return
        if instance.get("status") != "terminating":
            try:
                client.terminate([id_])
            except ObjectNotFoundError:
                return
        client.wait_until_terminated(id_, settings.delete_timeout_s, poll_interval_s=settings.poll_interval_s)

    @staticmethod
    def _terminate_after_failed_create(client: LambdaCloudClient, instance_id: str) -> str:
        try:
            instance = client.get_instance(instance_id)
            if instance is not None and instance.get("status") not in {"terminated", "preempted"}:
                client.terminate([instance_id])
        except ObjectNotFoundError:
            pass
        except LambdaCloudError as cleanup_error:
            return (
                f"Terminating instance {instance_id} after the failed create also failed ({cleanup_error}); "
                "terminate it in the Lambda dashboard, it is not in the Pulumi state and may be billed."
            )
        return f"Instance {instance_id} was terminated, so nothing is left running."


@dataclass
class LambdaInstanceArgs:
    """Inputs of one Lambda instance. `name` is a prefix: the instance is named `<name>-<8 hex>`."""

    api_key: pulumi.Input[str]
    region: pulumi.Input[str]
    instance_type: pulumi.Input[str]
    ssh_key_name: pulumi.Input[str]
    name: pulumi.Input[str]
    user_data: pulumi.Input[str] | None = None
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    firewall_ruleset_ids: pulumi.Input[list[pulumi.Input[str]]] | None = None
    base_url: pulumi.Input[str] = DEFAULT_BASE_URL
    active_timeout_s: pulumi.Input[float] = DEFAULT_ACTIVE_TIMEOUT_S
    delete_timeout_s: pulumi.Input[float] = DEFAULT_DELETE_TIMEOUT_S
    poll_interval_s: pulumi.Input[float] = DEFAULT_POLL_INTERVAL_S
    launch_interval_s: pulumi.Input[float] = DEFAULT_LAUNCH_INTERVAL_S
    retry_base_delay_s: pulumi.Input[float] = DEFAULT_RETRY_BASE_DELAY_S


class LambdaInstance(dynamic.Resource, module="lambdacloud", name="Instance"):
    """One Lambda Cloud on-demand instance (type `pulumi-python:dynamic/lambdacloud:Instance`)."""

    instance_id: pulumi.Output[str]
    instance_name: pulumi.Output[str]
    ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    hostname: pulumi.Output[str]
    status: pulumi.Output[str]
    region: pulumi.Output[str]
    instance_type: pulumi.Output[str]
    tags: pulumi.Output[dict[str, str]]

    def __init__(
        self, resource_name: str, args: LambdaInstanceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        props: dict[str, Any] = {
            "api_key": pulumi.Output.secret(args.api_key),
            "region": args.region,
            "instance_type": args.instance_type,
            "ssh_key_name": args.ssh_key_name,
            "name": args.name,
            "user_data": pulumi.Output.secret(args.user_data) if args.user_data is not None else None,
            "tags": args.tags or {},
            "firewall_ruleset_ids": args.firewall_ruleset_ids or [],
            "base_url": args.base_url,
            "active_timeout_s": args.active_timeout_s,
            "delete_timeout_s": args.delete_timeout_s,
            "poll_interval_s": args.poll_interval_s,
            "launch_interval_s": args.launch_interval_s,
            "retry_base_delay_s": args.retry_base_delay_s,
            **{key: None for key in OUTPUT_PROPERTIES},
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_PROPERTIES))
        super().__init__(
            LambdaInstanceProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs)
        )
