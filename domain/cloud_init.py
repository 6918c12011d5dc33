"""The cloud-init document that joins a Lambda GPU instance to the k3s cluster as a labelled, tainted agent.

What the document does on first boot, and why:

* writes the join token to a root-only file and hands k3s only its path (`K3S_TOKEN_FILE`), so the token never
  appears in a process's argv, in `ps`, in the systemd unit or in the install script's environment file (the
  installer copies every `K3S_*` variable into `/etc/systemd/system/k3s-agent.service.env`; k3s install.sh,
  `create_env_file`). `--token-file` / `K3S_TOKEN_FILE` is a documented agent option (docs.k3s.io/cli/agent,
  "Cluster Options");
* makes sure the NVIDIA container runtime is on the PATH before k3s first starts: k3s detects
  `nvidia-container-runtime` at start-up and adds the `nvidia` runtime to its containerd configuration itself,
  so no containerd template is written here (docs.k3s.io/advanced, "Alternative Container Runtime Support" /
  "NVIDIA Container Runtime"). Lambda Stack images ship the NVIDIA driver, and the toolkit package comes from
  the Lambda Stack apt repository when an image lacks it (lambda-stack-dockerfiles README);
* installs the agent with the official installer (https://get.k3s.io), passing the node name, labels and
  taints as flags (docs.k3s.io/cli/agent, "Node"). Labels and taints are only applied when a node registers
  (docs.k3s.io/advanced, "Node Labels and Taints"). The script is saved before it runs (the installer's own
  `ENV_VAR=... ./install.sh` form) rather than piped into `sh`: with a pipe, a failed download hands `sh` an
  empty script, which succeeds, and the boot would look healthy with no agent installed.

* loads the WireGuard kernel module and finds the instance's public IPv4 address, which the agent advertises
  with `--node-external-ip` (docs.k3s.io/cli/agent, "Networking"): the nodes reach the server and each other
  over k3s's WireGuard mesh across networks (domain/k3s_network.py has the design and the port table; k3s
  needs the module on every node, docs.k3s.io/networking/basic-network-options).

  Where the address comes from: Lambda's API reports two addresses per instance, `ip` ("The public IPv4
  address of the instance") and `private_ip` ("The private IPv4 address of the instance", e.g. 10.0.2.100;
  Lambda's OpenAPI document 1.10.0, schema `Instance`), and neither its OpenAPI document nor its docs
  (docs.lambda.ai) say the public one is configured on the instance's interface, nor describe a metadata
  service. An instance with a private address beside a public one is reached through 1:1 NAT, so the
  interface may hold only the private one; and the public address is known only after launch, when the
  user data is already fixed. `PUBLIC_IPV4_SCRIPT` therefore takes a public address from the interfaces
  when one is there, and otherwise asks the cluster for what the API reported: the program writes every
  pool instance's `ip` into a ConfigMap under its node name (`--node-name`) once the instances exist
  (`AddressSource`), and the script reads its own entry with a token allowed to `get` that one ConfigMap and
  nothing else (an RBAC Role with `resourceNames`, kubernetes.io/docs/reference/access-authn-authz/rbac,
  "Referring to resources").
  It waits for the entry up to `AddressSource.wait_s`; with no address by then, the join stops before k3s
  is installed rather than advertising a private address the server cannot reach.

`--with-node-id` appends a random id to the node name: the server keeps each node name's random node password
and refuses a later registration under that name with another one (docs.k3s.io/architecture, "How Agent Node
Registration Works"), which is exactly what a replacement instance would attempt.

The rendered document holds the join token and the address token: treat the return value as a secret.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

TOKEN_FILE = "/etc/rancher/k3s/join-token"  # noqa: S105 - a file path, not a credential
PUBLIC_IPV4_FILE = "/usr/local/sbin/sophia-public-ipv4"
ADDRESS_DIR = "/etc/sophia"
ADDRESS_SOURCE_FILE = f"{ADDRESS_DIR}/address-source.json"
ADDRESS_TOKEN_FILE = f"{ADDRESS_DIR}/address-token"
ADDRESS_CA_FILE = f"{ADDRESS_DIR}/address-ca.crt"
# Python 3 because cloud-init itself is Python 3, so every image that runs this document has it; stdlib only.
# Prints the instance's public IPv4 address: the first public one on an interface, else the one the cluster's
# address ConfigMap lists under this node's name. Exits 1 with the reason when there is none.
PUBLIC_IPV4_SCRIPT = """#!/usr/bin/env python3
import ipaddress
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request


def interface_addresses():
    listed = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=True
    ).stdout
    return [line.split()[3].split("/")[0] for line in listed.splitlines() if len(line.split()) > 3]


# Private (RFC 1918), shared (RFC 6598), loopback and link-local: what an interface behind NAT holds.
NOT_PUBLIC = [
    ipaddress.IPv4Network(network)
    for network in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"
    )
]


def is_public(address):
    try:
        parsed = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return not any(parsed in network for network in NOT_PUBLIC)


def listed_address(source):
    with open(source["token_file"], encoding="utf-8") as token_file:
        token = token_file.read().strip()
    context = ssl.create_default_context(cafile=source["ca_file"])
    request = urllib.request.Request(source["url"], headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        listed = json.load(answer).get("data") or {}
    address = listed.get(source["key"], "")
    return address if is_public(address) else None


def main(source_path):
    addresses = interface_addresses()
    public = [address for address in addresses if is_public(address)]
    if public:
        print(public[0])
        return 0
    with open(source_path, encoding="utf-8") as source_file:
        source = json.load(source_file)
    deadline = time.monotonic() + source["wait_s"]
    why = "it was never asked"
    while time.monotonic() < deadline:
        try:
            found = listed_address(source)
            if found:
                print(found)
                return 0
            why = "it has no public address for " + source["key"]
        except urllib.error.HTTPError as error:
            why = "it answered HTTP %d" % error.code
        except (OSError, ValueError) as error:
            why = "it could not be read: %s" % error
        time.sleep(source["poll_s"])
    print(
        "sophia-public-ipv4: no public IPv4 address on any interface, and the address ConfigMap %s gave none "
        "within %ss (%s); needed for --node-external-ip" % (source["url"], source["wait_s"], why),
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
"""
INSTALLER_URL = "https://get.k3s.io"
INSTALLER_FILE = "/run/k3s-install.sh"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class AddressSource:
    """Where a node behind NAT reads the public address the Lambda API reported for it.

    `url` is the API server's URL of the address ConfigMap (`https://<server>/api/v1/namespaces/<ns>/
    configmaps/<name>`), `token` a bearer token allowed to `get` it, `ca_cert` the PEM CA the API server's
    certificate chains to. The node polls every `poll_s` seconds for up to `wait_s`.
    """

    url: str
    token: str
    ca_cert: str
    wait_s: int = 1200
    poll_s: int = 10


# Kubernetes label syntax (kubernetes.io "Labels and Selectors", "Syntax and character set").
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_URL = re.compile(r"^https://(?P<host>[A-Za-z0-9.-]+)(:(?P<port>\d{1,5}))?/?$")
_TAINT = re.compile(r"^(?P<key>[^=:\s]+)(=(?P<value>[^:\s]*))?:(?P<effect>[A-Za-z]+)$")
_K3S_VERSION = re.compile(r"^v\d+\.\d+\.\d+(-rc\d+)?\+k3s\d+$")
# The NodeRestriction admission plugin lets a kubelet set only these labels in the kubernetes.io and k8s.io
# namespaces; k3s fails to start when asked to register any other (docs.k3s.io/advanced, KEP 279).
_NODE_SETTABLE_KUBERNETES_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    }
)
_NODE_SETTABLE_KUBERNETES_PREFIXES = ("kubelet.kubernetes.io", "node.kubernetes.io")


class InvalidAgentSettings(ValueError):
    """A join setting k3s or Kubernetes would refuse, found before an instance is launched.

    `setting` names the argument at fault (server_url, node_name, labels, taints, k3s_version, join_token), so
    callers can point at the configuration key it came from.
    """

    def __init__(self, message: str, setting: str = "") -> None:
        super().__init__(message)
        self.setting = setting


def _check_label_key(key: str, what: str) -> None:
    prefix, _, name = key.rpartition("/")
    if not name or len(name) > 63 or not _NAME.match(name):
        raise InvalidAgentSettings(
            f"{what} key {key!r}: the name part must be 1-63 characters of letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise InvalidAgentSettings(
            f"{what} key {key!r}: the prefix must be a lowercase DNS subdomain such as sophia.ai"
        )


def _check_label_value(value: str, what: str) -> None:
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise InvalidAgentSettings(
            f"{what} value {value!r}: use at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit"
        )


def _check_node_label(key: str, value: str) -> None:
    _check_label_key(key, "node label")
    _check_label_value(value, "node label")
    prefix = key.rpartition("/")[0]
    kubernetes_namespace = any(
        prefix == domain or prefix.endswith("." + domain) for domain in ("kubernetes.io", "k8s.io")
    )
    settable = key in _NODE_SETTABLE_KUBERNETES_LABELS or any(
        prefix == allowed or prefix.endswith("." + allowed) for allowed in _NODE_SETTABLE_KUBERNETES_PREFIXES
    )
    if kubernetes_namespace and not settable:
        raise InvalidAgentSettings(
            f"node label {key!r}: a node may not give itself labels in the kubernetes.io or k8s.io "
            "namespaces (NodeRestriction), and k3s would fail to start; use your own prefix, e.g. sophia.ai/"
        )


def _check_taint(taint: str) -> None:
    match = _TAINT.match(taint)
    if not match:
        raise InvalidAgentSettings(
            f"node taint {taint!r} is not key[=value]:Effect, e.g. nvidia.com/gpu=present:NoSchedule"
        )
    if match["effect"] not in TAINT_EFFECTS:
        raise InvalidAgentSettings(
            f"node taint {taint!r}: effect {match['effect']!r} is not one of {', '.join(TAINT_EFFECTS)}"
        )
    _check_label_key(match["key"], "node taint")
    _check_label_value(match["value"] or "", "node taint")


def check_agent_settings(
    server_url: str,
    node_name: str,
    labels: Mapping[str, str],
    taints: Sequence[str],
    k3s_version: str | None = None,
) -> None:
    """Refuse, with a readable reason, any join setting that is not secret and that k3s would reject."""
    url = _URL.match(server_url)
    if not url or (url["port"] is not None and not 1 <= int(url["port"]) <= 65535):
        raise InvalidAgentSettings(
            f"k3s server URL {server_url!r} must be https://<host>[:<port>] with a port up to 65535, e.g. "
            "https://k3s.example.internal:6443; the installer accepts only https:// URLs",
            "server_url",
        )
    # The installer appends the node id (a dash and 8 hex digits) and a node name is a DNS subdomain.
    if not node_name or len(node_name) > 244 or not _DNS_SUBDOMAIN.match(node_name):
        raise InvalidAgentSettings(
            f"node name {node_name!r} must be a lowercase DNS subdomain (letters, digits, '-', '.') of at "
            "most 244 characters",
            "node_name",
        )
    try:
        for key, value in labels.items():
            _check_node_label(key, value)
    except InvalidAgentSettings as error:
        raise InvalidAgentSettings(str(error), "labels") from None
    try:
        for taint in taints:
            _check_taint(taint)
    except InvalidAgentSettings as error:
        raise InvalidAgentSettings(str(error), "taints") from None
    if k3s_version is not None and not _K3S_VERSION.match(k3s_version):
        raise InvalidAgentSettings(
            f"k3s version {k3s_version!r} is not a release such as v1.31.4+k3s1; use the server's version",
            "k3s_version",
        )


def _check_token(join_token: str) -> None:
    if not join_token or any(character.isspace() for character in join_token):
        raise InvalidAgentSettings(
            "the k3s join token is empty or contains whitespace; set sophia-ai:clusterK3sJoinToken to the "
            "content of /var/lib/rancher/k3s/server/token on the server",
            "join_token",
        )


def _check_address_source(source: AddressSource) -> None:
    if not source.url.startswith("https://") or "/configmaps/" not in source.url:
        raise InvalidAgentSettings(
            f"address ConfigMap URL {source.url!r} must be the API server's https:// URL of a ConfigMap",
            "address_source",
        )
    if not source.token or any(character.isspace() for character in source.token):
        raise InvalidAgentSettings("the address token is empty or contains whitespace", "address_source")
    if "-----BEGIN CERTIFICATE-----" not in source.ca_cert:
        raise InvalidAgentSettings("the address CA is not a PEM certificate", "address_source")
    if source.wait_s <= 0 or source.poll_s <= 0:
        raise InvalidAgentSettings("the address wait and poll interval must be positive", "address_source")


def _install_command(
    server_url: str, node_name: str, labels: Mapping[str, str], taints: Sequence[str], k3s_version: str | None
) -> str:
    flags = ["agent", "--node-name", node_name, "--with-node-id"]
    for key, value in sorted(labels.items()):
        flags += ["--node-label", f"{key}={value}"]
    for taint in taints:
        flags += ["--node-taint", taint]
    environment = {"K3S_URL": server_url, "K3S_TOKEN_FILE": TOKEN_FILE}
    if k3s_version is not None:
        environment["INSTALL_K3S_VERSION"] = k3s_version
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in environment.items())
    arguments = " ".join(shlex.quote(flag) for flag in flags)
    # The one argument the shell fills in: the address found at boot (the installer writes it into the unit).
    external_ip = '--node-external-ip "$NODE_EXTERNAL_IP"'
    return (
        f"NODE_EXTERNAL_IP=$({PUBLIC_IPV4_FILE} {ADDRESS_SOURCE_FILE}) && "
        f"curl -sfL {INSTALLER_URL} -o {INSTALLER_FILE} && "
        f"{assignments} sh {INSTALLER_FILE} {arguments} {external_ip}"
    )


def k3s_agent_user_data(
    server_url: str,
    join_token: str,
    node_name: str,
    labels: Mapping[str, str],
    taints: Sequence[str],
    address_source: AddressSource,
    k3s_version: str | None = None,
) -> str:
    """Render the `#cloud-config` user data that joins this instance to the cluster as a k3s agent.

    `address_source` is where the node reads its public address when its interfaces hold only private ones.
    `k3s_version` pins the agent (`INSTALL_K3S_VERSION`); a kubelet must not be newer than the API server,
    so it should be the server's version. Without it the installer takes the stable channel.
    """
    check_agent_settings(server_url, node_name, labels, taints, k3s_version)
    _check_token(join_token)
    _check_address_source(address_source)
    source = {
        "url": address_source.url,
        "key": node_name,
        "token_file": ADDRESS_TOKEN_FILE,
        "ca_file": ADDRESS_CA_FILE,
        "wait_s": address_source.wait_s,
        "poll_s": address_source.poll_s,
    }
    ensure_nvidia_runtime = (
        "command -v nvidia-container-runtime >/dev/null || "
        "{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nvidia-container-toolkit; }"
    )
    install = _install_command(server_url, node_name, labels, taints, k3s_version)
    document = {
        "write_files": [
            {
                "path": TOKEN_FILE,
                "owner": "root:root",
                "permissions": "0600",
                "content": join_token,
            },
            {
                "path": PUBLIC_IPV4_FILE,
                "owner": "root:root",
                "permissions": "0755",
                "content": PUBLIC_IPV4_SCRIPT,
            },
            {
                "path": ADDRESS_SOURCE_FILE,
                "owner": "root:root",
                "permissions": "0644",
                "content": json.dumps(source, sort_keys=True),
            },
            {
                "path": ADDRESS_TOKEN_FILE,
                "owner": "root:root",
                "permissions": "0600",
                "content": address_source.token,
            },
            {
                "path": ADDRESS_CA_FILE,
                "owner": "root:root",
                "permissions": "0644",
                "content": address_source.ca_cert,
            },
        ],
        # One command, so a failed step (toolkit, WireGuard module, public address, download) stops the join
        # instead of starting k3s without a GPU runtime or a reachable address.
        "runcmd": [f"{ensure_nvidia_runtime} && modprobe wireguard && {install}"],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)
