"""The k3s agent cloud-init: a valid #cloud-config joining a labelled, tainted agent, the token off argv."""

from __future__ import annotations

import http.server
import json
import os
import shlex
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from domain.cloud_init import (
    ADDRESS_CA_FILE,
    ADDRESS_SOURCE_FILE,
    ADDRESS_TOKEN_FILE,
    PUBLIC_IPV4_FILE,
    PUBLIC_IPV4_SCRIPT,
    TOKEN_FILE,
    AddressSource,
    InvalidAgentSettings,
    k3s_agent_user_data,
)
from harness.control_plane import make_pki
from lambda_cloud import MAX_USER_DATA_BYTES

SERVER_URL = "https://203.0.113.10:6443"
TOKEN = "K10d41d8cd98f00b204e9800998ecf8427e::server:4f3c2a1b0e9d8c7b"
NODE_NAME = "sophia-lambda-gpu-0"
LABELS = {"sophia.ai/gpu-pool": "lambda-gpu"}
TAINTS = ["nvidia.com/gpu=present:NoSchedule"]
ADDRESSES_URL = (
    "https://203.0.113.10:6443/api/v1/namespaces/kube-system/configmaps/sophia-lambda-gpu-addresses"
)
ADDRESS_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InNvcGhpYSJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl"
)
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2EK\n-----END CERTIFICATE-----\n"
ADDRESS_SOURCE = AddressSource(url=ADDRESSES_URL, token=ADDRESS_TOKEN, ca_cert=CA_PEM)


def _render(**overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "server_url": SERVER_URL,
        "join_token": TOKEN,
        "node_name": NODE_NAME,
        "labels": LABELS,
        "taints": TAINTS,
        "address_source": ADDRESS_SOURCE,
    }
    arguments.update(overrides)
    return k3s_agent_user_data(**arguments)


def _document(user_data: str) -> dict[str, Any]:
    loaded = yaml.safe_load(user_data)
    assert isinstance(loaded, dict)
    return loaded


def _commands(user_data: str) -> list[str]:
    return [str(command) for command in _document(user_data)["runcmd"]]


def _words(user_data: str) -> list[str]:
    return [word for command in _commands(user_data) for word in shlex.split(command)]


def _flag_values(words: list[str], flag: str) -> list[str]:
    return [words[index + 1] for index, word in enumerate(words) if word == flag]


def test_is_a_cloud_config_document() -> None:
    user_data = _render()
    assert user_data.splitlines()[0] == "#cloud-config"
    document = _document(user_data)
    assert set(document) == {"write_files", "runcmd"}


def test_installs_an_agent_with_the_official_installer_against_the_server() -> None:
    words = _words(_render())
    assert "https://get.k3s.io" in words
    installer_arguments = words[words.index("sh") + 1 :]
    assert installer_arguments[1] == "agent"
    assert f"K3S_URL={SERVER_URL}" in words


def test_registers_with_the_pool_label_the_gpu_taint_and_a_unique_node_name() -> None:
    words = _words(_render())
    assert _flag_values(words, "--node-label") == ["sophia.ai/gpu-pool=lambda-gpu"]
    assert _flag_values(words, "--node-taint") == ["nvidia.com/gpu=present:NoSchedule"]
    assert _flag_values(words, "--node-name") == [NODE_NAME]
    # A replacement instance re-registering under a known name would be refused by k3s.
    assert "--with-node-id" in words


def test_every_label_and_taint_becomes_a_flag() -> None:
    labels = {"sophia.ai/gpu-pool": "lambda-gpu", "node.kubernetes.io/instance-type": "gpu_1x_a10"}
    taints = ["nvidia.com/gpu=present:NoSchedule", "sophia.ai/dedicated:NoExecute"]
    words = _words(_render(labels=labels, taints=taints))
    assert sorted(_flag_values(words, "--node-label")) == sorted(f"{k}={v}" for k, v in labels.items())
    assert _flag_values(words, "--node-taint") == taints


def test_token_is_written_to_a_root_only_file_and_never_on_a_command_line() -> None:
    user_data = _render()
    token_file = _document(user_data)["write_files"][0]
    assert token_file == {"path": TOKEN_FILE, "owner": "root:root", "permissions": "0600", "content": TOKEN}
    assert f"K3S_TOKEN_FILE={TOKEN_FILE}" in _words(user_data)
    for command in _commands(user_data):
        assert TOKEN not in command
        assert "K3S_TOKEN=" not in command
        assert "--token" not in shlex.split(command)


_PASSWORD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
)


@given(ca_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), password=_PASSWORD)
def test_any_token_round_trips_through_the_file_and_stays_off_the_commands(
    ca_hash: str, password: str
) -> None:
    # The secure token format (docs.k3s.io/cli/token): K10<CA hash>::<credentials>.
    token = f"K10{ca_hash}::server:{password}"
    user_data = _render(join_token=token)
    assert _document(user_data)["write_files"][0]["content"] == token
    assert all(token not in command for command in _commands(user_data))


def test_the_nvidia_runtime_is_ensured_before_k3s_first_starts() -> None:
    (command,) = _commands(_render())
    assert command.index("nvidia-container-runtime") < command.index("get.k3s.io")
    assert "apt-get install -y nvidia-container-toolkit" in command


def test_a_download_failure_stops_the_join() -> None:
    (command,) = _commands(_render())
    # The installer is saved, then run: piping an empty download into sh would succeed silently.
    assert "get.k3s.io |" not in command
    assert "-o /run/k3s-install.sh &&" in command


def test_the_agent_version_is_pinned_when_given_and_left_to_the_installer_otherwise() -> None:
    assert "INSTALL_K3S_VERSION=v1.31.4+k3s1" in _words(_render(k3s_version="v1.31.4+k3s1"))
    assert not any(word.startswith("INSTALL_K3S_VERSION") for word in _words(_render()))


def test_fits_lambda_user_data_limit_with_room_to_spare() -> None:
    labels = {f"sophia.ai/label-{index}": "x" * 63 for index in range(50)}
    assert len(_render(labels=labels).encode("utf-8")) < MAX_USER_DATA_BYTES // 100


@pytest.mark.parametrize(
    ("overrides", "setting", "fragment"),
    [
        ({"server_url": "http://k3s.sophia-ai.internal:6443"}, "server_url", "https://"),
        ({"server_url": "https://k3s.sophia-ai.internal:6443/join"}, "server_url", "https://"),
        ({"server_url": "https://k3s.sophia-ai.internal:70000"}, "server_url", "65535"),
        ({"server_url": "https://k3s internal:6443"}, "server_url", "https://"),
        ({"node_name": "Sophia_GPU"}, "node_name", "DNS subdomain"),
        ({"node_name": ""}, "node_name", "DNS subdomain"),
        ({"labels": {"kubernetes.io/role": "gpu"}}, "labels", "NodeRestriction"),
        ({"labels": {"node-role.kubernetes.io/gpu": ""}}, "labels", "NodeRestriction"),
        ({"labels": {"sophia.ai/gpu-pool": "lambda gpu"}}, "labels", "value"),
        ({"labels": {"Sophia.AI/gpu-pool": "x"}}, "labels", "prefix"),
        ({"labels": {"sophia.ai/": "x"}}, "labels", "name part"),
        ({"taints": ["nvidia.com/gpu=present"]}, "taints", "key[=value]:Effect"),
        ({"taints": ["nvidia.com/gpu=present:NoRun"]}, "taints", "NoSchedule"),
        ({"taints": ["nvidia.com/gpu=pre sent:NoSchedule"]}, "taints", "key[=value]:Effect"),
        ({"join_token": ""}, "join_token", "clusterK3sJoinToken"),
        ({"join_token": "K10abc\nrm -rf /"}, "join_token", "whitespace"),
        ({"k3s_version": "latest"}, "k3s_version", "v1.31.4+k3s1"),
        (
            {"address_source": AddressSource("http://203.0.113.10:6443/x", ADDRESS_TOKEN, CA_PEM)},
            "address_source",
            "https://",
        ),
        ({"address_source": AddressSource(ADDRESSES_URL, "", CA_PEM)}, "address_source", "token"),
        ({"address_source": AddressSource(ADDRESSES_URL, ADDRESS_TOKEN, "MIIB")}, "address_source", "PEM"),
    ],
)
def test_refuses_settings_k3s_would_reject(overrides: dict[str, Any], setting: str, fragment: str) -> None:
    with pytest.raises(InvalidAgentSettings) as raised:
        _render(**overrides)
    assert raised.value.setting == setting
    assert fragment in str(raised.value)


def test_accepts_the_kubernetes_labels_a_node_may_set_itself() -> None:
    labels = {"node.kubernetes.io/instance-type": "gpu_1x_a10", "topology.kubernetes.io/region": "us-east-1"}
    words = _words(_render(labels=labels))
    assert "node.kubernetes.io/instance-type=gpu_1x_a10" in _flag_values(words, "--node-label")


# --- the network path (domain/k3s_network.py): WireGuard mesh across networks


def test_the_agent_advertises_the_public_address_found_at_boot() -> None:
    (command,) = _commands(_render())
    assert f"NODE_EXTERNAL_IP=$({PUBLIC_IPV4_FILE} {ADDRESS_SOURCE_FILE}) &&" in command
    assert command.endswith('--node-external-ip "$NODE_EXTERNAL_IP"')
    # Found before the installer runs, so a node without a public address never joins with a private one.
    assert command.index(PUBLIC_IPV4_FILE) < command.index("get.k3s.io")
    files = {entry["path"]: entry for entry in _document(_render())["write_files"]}
    assert files[PUBLIC_IPV4_FILE] == {
        "path": PUBLIC_IPV4_FILE,
        "owner": "root:root",
        "permissions": "0755",
        "content": PUBLIC_IPV4_SCRIPT,
    }
    assert json.loads(files[ADDRESS_SOURCE_FILE]["content"]) == {
        "url": ADDRESSES_URL,
        "key": NODE_NAME,
        "token_file": ADDRESS_TOKEN_FILE,
        "ca_file": ADDRESS_CA_FILE,
        "wait_s": 1200,
        "poll_s": 10,
    }
    # The address token reads one ConfigMap, but it is a credential: root only, and never on a command line.
    assert (files[ADDRESS_TOKEN_FILE]["permissions"], files[ADDRESS_TOKEN_FILE]["content"]) == (
        "0600",
        ADDRESS_TOKEN,
    )
    assert files[ADDRESS_CA_FILE]["content"] == CA_PEM
    assert ADDRESS_TOKEN not in command


def test_the_wireguard_module_is_loaded_before_k3s_installs() -> None:
    (command,) = _commands(_render())
    assert "&& modprobe wireguard &&" in command
    assert command.index("modprobe wireguard") < command.index("get.k3s.io")


def test_flannel_flags_are_left_to_the_server() -> None:
    # Flannel options are server-only (docs.k3s.io/networking/basic-network-options); an agent given one
    # fails to start.
    words = _words(_render())
    assert not [word for word in words if word.startswith("--flannel")]


def _public_ipv4(
    tmp_path: Path, ip_output: str, source: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the boot script as cloud-init does, `ip` answering `ip_output`, `source` as its settings."""
    script = tmp_path / "sophia-public-ipv4"
    script.write_text(PUBLIC_IPV4_SCRIPT)
    fake_ip = tmp_path / "bin" / "ip"
    fake_ip.parent.mkdir()
    fake_ip.write_text(f"#!/bin/sh\ncat <<'EOF'\n{ip_output}EOF\n")
    fake_ip.chmod(0o755)
    source_file = tmp_path / "address-source.json"
    source_file.write_text(json.dumps(source or {}))
    environment = {**os.environ, "PATH": f"{fake_ip.parent}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, str(script), str(source_file)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


_PRIVATE_ONLY = (
    "2: eth0    inet 10.0.2.100/24 brd 10.0.2.255 scope global eth0\\       valid_lft forever\n"
    "3: eth1    inet 172.20.1.5/16 brd 172.20.255.255 scope global eth1\\       valid_lft forever\n"
    "4: tail0    inet 100.101.1.2/32 scope global tail0\\       valid_lft forever\n"
)


def test_the_boot_script_prints_the_interfaces_public_address(tmp_path: Path) -> None:
    output = _PRIVATE_ONLY + "5: eth2    inet 198.51.100.2/24 brd 198.51.100.255 scope global eth2\n"
    result = _public_ipv4(tmp_path, output)
    assert (result.returncode, result.stdout) == (0, "198.51.100.2\n")


class _ApiServer:
    """An HTTPS server holding one ConfigMap, answering only its path and only with the reader's token, as
    the API server's RBAC answers a Role limited by resourceNames (403 for anything else)."""

    PATH = "/api/v1/namespaces/kube-system/configmaps/sophia-lambda-gpu-addresses"

    def __init__(self, tmp_path: Path, data: dict[str, str] | None) -> None:
        self.pki = make_pki(tmp_path / "pki")
        self.data = data
        self.asked = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.asked += 1
                if self.headers.get("Authorization") != f"Bearer {ADDRESS_TOKEN}":
                    self._answer(401, {"kind": "Status", "code": 401})
                elif self.path != server.PATH:
                    self._answer(403, {"kind": "Status", "code": 403})
                elif server.data is None:
                    self._answer(404, {"kind": "Status", "code": 404})
                else:
                    self._answer(200, {"kind": "ConfigMap", "data": server.data})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.cert("kube-apiserver"), self.pki.key("kube-apiserver"))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def source(self, tmp_path: Path, path: str = PATH, token: str = ADDRESS_TOKEN) -> dict[str, Any]:
        token_file = tmp_path / "address-token"
        token_file.write_text(token)
        port = self.httpd.server_address[1]
        return {
            "url": f"https://127.0.0.1:{port}{path}",
            "key": NODE_NAME,
            "token_file": str(token_file),
            "ca_file": str(self.pki.ca_cert),
            "wait_s": 3,
            "poll_s": 1,
        }


def test_behind_nat_the_boot_script_takes_the_address_the_api_reported(tmp_path: Path) -> None:
    with _ApiServer(tmp_path, {NODE_NAME: "198.51.100.2", "sophia-lambda-gpu-1": "198.51.100.3"}) as api:
        result = _public_ipv4(tmp_path, _PRIVATE_ONLY, api.source(tmp_path))
    assert (result.returncode, result.stdout) == (0, "198.51.100.2\n"), result.stderr


def test_the_boot_script_waits_for_its_entry_and_then_gives_up_saying_why(tmp_path: Path) -> None:
    with _ApiServer(tmp_path, {"sophia-lambda-gpu-1": "198.51.100.3"}) as api:
        result = _public_ipv4(tmp_path, _PRIVATE_ONLY, api.source(tmp_path))
        asked = api.asked
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no public IPv4 address on any interface" in result.stderr
    assert f"it has no public address for {NODE_NAME}" in result.stderr
    assert asked >= 2, "the script should have asked again before giving up"


@pytest.mark.parametrize(
    ("path", "token", "answer"),
    [
        (_ApiServer.PATH, "eyJ.other.token", "HTTP 401"),
        ("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", ADDRESS_TOKEN, "HTTP 403"),
    ],
    ids=["another token", "another ConfigMap"],
)
def test_an_answer_that_is_not_the_config_map_never_becomes_an_address(
    tmp_path: Path, path: str, token: str, answer: str
) -> None:
    with _ApiServer(tmp_path, {NODE_NAME: "198.51.100.2"}) as api:
        result = _public_ipv4(tmp_path, _PRIVATE_ONLY, api.source(tmp_path, path, token))
    assert (result.returncode, result.stdout) == (1, "")
    assert f"it answered {answer}" in result.stderr


def test_a_server_the_ca_does_not_vouch_for_is_not_believed(tmp_path: Path) -> None:
    with _ApiServer(tmp_path, {NODE_NAME: "198.51.100.2"}) as api:
        source = api.source(tmp_path)
        other = make_pki(tmp_path / "other-pki")
        result = _public_ipv4(tmp_path, _PRIVATE_ONLY, {**source, "ca_file": str(other.ca_cert)})
    assert (result.returncode, result.stdout) == (1, "")
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
