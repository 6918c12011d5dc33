"""Lambda Cloud firewall rulesets as Pulumi resources, through a Python dynamic provider.

`LambdaFirewallRuleset` is one ruleset (OpenAPI 1.10.0: `POST firewall-rulesets` with
`FirewallRulesetCreateRequest` `{name, region, rules}`, `PATCH firewall-rulesets/{id}` for the name and rules,
`DELETE firewall-rulesets/{id}`).
Instances reference it at launch (`InstanceLaunchRequest.firewall_rulesets: [{id}]`), which is why it is a
resource of its own: its id must exist before the first instance launches.

`LambdaFirewallRulesetRules` then sets a ruleset's rules once addresses known only after launch are known
(the pool's own instances, which must reach each other too), and puts the ruleset's first rules back when it
is deleted.

Life cycle: `region` replaces (a ruleset lives in one region); `name` and `rules` are patched in place, so a
new peer or server address reaches running instances without replacing them; the API key and base URL only
steer the provider. Deleting a ruleset still attached to an instance is refused by the API
(`firewall-rulesets/firewall-ruleset-in-use`); the instances depend on the ruleset, so Pulumi deletes them
first, and the delete waits while the only instances still holding it are terminating. One held by an
instance that is alive (launched outside this stack, or protected in it) fails at once, naming that instance.
Like `components.lambda_instance`, the provider is stateless (dill pickles it into the state by module path),
reads the API key from the inputs at call time, and the key is a secret input and output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.provider_inputs import unwrap_secret
from lambda_cloud import DEFAULT_BASE_URL, LambdaCloudClient

MAX_RULESET_NAME_LENGTH = 64  # FirewallRulesetCreateRequest.name maxLength
MAX_DESCRIPTION_LENGTH = 128  # FirewallRule.description maxLength
PROTOCOLS = ("tcp", "udp", "icmp", "all")  # NetworkProtocol
REPLACE_PROPERTIES = ("region",)
IN_PLACE_PROPERTIES = ("name", "rules", "api_key", "base_url")
OUTPUT_PROPERTIES = ("ruleset_id",)
# How long a delete waits for instances that are still terminating to let go of the ruleset.
RULESET_RELEASE_TIMEOUT_S = 600.0


def _port_range(value: Any) -> Any:
    # The engine carries every number as a protobuf double, so a provider's check sees 10250 as 10250.0.
    if isinstance(value, list):
        return [int(port) if isinstance(port, float) and port.is_integer() else port for port in value]
    return value


def _rules(value: Any) -> list[dict[str, Any]]:
    return [
        {
            key: _port_range(unwrap_secret(item)) if key == "port_range" else unwrap_secret(item)
            for key, item in dict(unwrap_secret(rule)).items()
        }
        for rule in unwrap_secret(value) or []
        if isinstance(unwrap_secret(rule), Mapping)
    ]


def rule_problems(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the API would refuse in these rules (OpenAPI 1.10.0 `FirewallRule`), one line per problem."""
    problems: list[str] = []
    for index, rule in enumerate(rules):
        protocol = rule.get("protocol")
        ports = rule.get("port_range")
        if protocol not in PROTOCOLS:
            problems.append(f"rules[{index}].protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if protocol == "icmp" and ports is not None:
            problems.append(f"rules[{index}].port_range is not allowed for icmp")
        if protocol in ("tcp", "udp", "all"):
            valid = (
                isinstance(ports, list)
                and len(ports) == 2
                and all(isinstance(port, int) and 1 <= port <= 65535 for port in ports)
                and ports[0] <= ports[1]
            )
            if not valid:
                problems.append(f"rules[{index}].port_range {ports!r} must be [min, max] within 1-65535")
        if not isinstance(rule.get("source_network"), str) or not rule["source_network"]:
            problems.append(f"rules[{index}].source_network is required (an IPv4 CIDR block)")
        description = rule.get("description")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            problems.append(
                f"rules[{index}].description is required and at most {MAX_DESCRIPTION_LENGTH} characters"
            )
    return problems


def _changed(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    if key == "rules":
        return _rules(olds.get(key)) != _rules(news.get(key))
    return bool(unwrap_secret(olds.get(key)) != unwrap_secret(news.get(key)))


@dataclass(frozen=True)
class _Settings:
    api_key: str
    base_url: str
    name: str
    region: str
    rules: list[dict[str, Any]]

    def __repr__(self) -> str:
        return f"_Settings(name={self.name!r}, region={self.region!r})"

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> _Settings:
        return cls(
            api_key=str(unwrap_secret(props.get("api_key")) or ""),
            base_url=str(unwrap_secret(props.get("base_url")) or DEFAULT_BASE_URL),
            name=str(unwrap_secret(props.get("name"))),
            region=str(unwrap_secret(props.get("region"))),
            rules=_rules(props.get("rules")),
        )

    def client(self) -> LambdaCloudClient:
        return LambdaCloudClient(self.api_key, base_url=self.base_url)


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in REPLACE_PROPERTIES + IN_PLACE_PROPERTIES if key in props}


class LambdaFirewallRulesetProvider(dynamic.ResourceProvider):
    """CRUD for one Lambda firewall ruleset. Stateless: see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = []
        name = unwrap_secret(news.get("name"))
        if isinstance(name, str) and not 1 <= len(name) <= MAX_RULESET_NAME_LENGTH:
            failures.append(
                dynamic.CheckFailure("name", f"name must be 1 to {MAX_RULESET_NAME_LENGTH} characters")
            )
        rules = unwrap_secret(news.get("rules"))
        if isinstance(rules, list) and all(isinstance(unwrap_secret(rule), Mapping) for rule in rules):
            failures += [dynamic.CheckFailure("rules", problem) for problem in rule_problems(_rules(rules))]
        return dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        settings = _Settings.from_props(props)
        ruleset = settings.client().create_firewall_ruleset(settings.name, settings.region, settings.rules)
        ruleset_id = str(ruleset["id"])
        return dynamic.CreateResult(ruleset_id, {**_inputs_of(props), "ruleset_id": ruleset_id})

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        if _Settings.from_props(props).client().get_firewall_ruleset(id_) is None:
            return dynamic.ReadResult("", {})
        return dynamic.ReadResult(id_, {**_inputs_of(props), "ruleset_id": id_})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [
            key for key in REPLACE_PROPERTIES if unwrap_secret(olds.get(key)) != unwrap_secret(news.get(key))
        ]
        changed = [key for key in IN_PLACE_PROPERTIES if _changed(key, olds, news)]
        return dynamic.DiffResult(changes=bool(replaces or changed), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        old, new = _Settings.from_props(olds), _Settings.from_props(news)
        if (old.name, old.rules) != (new.name, new.rules):
            new.client().update_firewall_ruleset(
                id_,
                name=new.name if new.name != old.name else None,
                rules=new.rules if new.rules != old.rules else None,
            )
        return dynamic.UpdateResult({**_inputs_of(news), "ruleset_id": id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _Settings.from_props(props).client().delete_firewall_ruleset(id_, wait_s=RULESET_RELEASE_TIMEOUT_S)


@dataclass
class LambdaFirewallRulesetArgs:
    """One ruleset: its name, region and `FirewallRule` entries (`protocol`, `port_range`, `source_network`,
    `description`)."""

    api_key: pulumi.Input[str]
    name: pulumi.Input[str]
    region: pulumi.Input[str]
    rules: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]]
    base_url: pulumi.Input[str] = DEFAULT_BASE_URL


class LambdaFirewallRuleset(dynamic.Resource, module="lambdacloud", name="FirewallRuleset"):
    """One Lambda firewall ruleset (type `pulumi-python:dynamic/lambdacloud:FirewallRuleset`)."""

    ruleset_id: pulumi.Output[str]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(
        self, resource_name: str, args: LambdaFirewallRulesetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "api_key": pulumi.Output.secret(args.api_key),
            "name": args.name,
            "region": args.region,
            "rules": args.rules,
            "base_url": args.base_url,
            "ruleset_id": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["api_key"])
        super().__init__(
            LambdaFirewallRulesetProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_outputs),
        )


class LambdaFirewallRulesetRulesProvider(dynamic.ResourceProvider):
    """Sets an existing ruleset's rules to `rules`, and back to `base_rules` on delete. Stateless."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        settings = _Settings.from_props(props)
        ruleset_id = str(unwrap_secret(props.get("ruleset_id")))
        settings.client().update_firewall_ruleset(ruleset_id, rules=settings.rules)
        return dynamic.CreateResult(f"{ruleset_id}-rules", dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = (
            ["ruleset_id"]
            if unwrap_secret(olds.get("ruleset_id")) != unwrap_secret(news.get("ruleset_id"))
            else []
        )
        changed = [key for key in ("rules", "api_key", "base_url") if _changed(key, olds, news)]
        if _rules(olds.get("base_rules")) != _rules(news.get("base_rules")):
            changed.append("base_rules")
        return dynamic.DiffResult(changes=bool(replaces or changed), replaces=replaces)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        settings = _Settings.from_props(news)
        settings.client().update_firewall_ruleset(
            str(unwrap_secret(news.get("ruleset_id"))), rules=settings.rules
        )
        return dynamic.UpdateResult(dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        settings = _Settings.from_props(props)
        client = settings.client()
        ruleset_id = str(unwrap_secret(props.get("ruleset_id")))
        if client.get_firewall_ruleset(ruleset_id) is not None:
            client.update_firewall_ruleset(ruleset_id, rules=_rules(props.get("base_rules")))


@dataclass
class LambdaFirewallRulesetRulesArgs:
    """The rules an existing ruleset should hold once more is known (e.g. the pool's own addresses), and
    the rules it had before."""

    api_key: pulumi.Input[str]
    ruleset_id: pulumi.Input[str]
    rules: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]]
    base_rules: pulumi.Input[Sequence[pulumi.Input[Mapping[str, Any]]]]
    base_url: pulumi.Input[str] = DEFAULT_BASE_URL


class LambdaFirewallRulesetRules(dynamic.Resource, module="lambdacloud", name="FirewallRulesetRules"):
    """The rules of a ruleset that had to exist before the addresses they name (instances reference their
    rulesets at launch): `pulumi-python:dynamic/lambdacloud:FirewallRulesetRules`."""

    def __init__(
        self,
        resource_name: str,
        args: LambdaFirewallRulesetRulesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "api_key": pulumi.Output.secret(args.api_key),
            "ruleset_id": args.ruleset_id,
            "rules": args.rules,
            "base_rules": args.base_rules,
            "base_url": args.base_url,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["api_key"])
        super().__init__(
            LambdaFirewallRulesetRulesProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_outputs),
        )
