"""Running the real Pulumi CLI on a copy of this project, with a local backend and generated test secrets.

`make toolchain` (testkit/toolchain/build.py) writes .tools/pulumi-toolchain.json: where the CLI is, the
PULUMI_HOME holding the plugins, and which plugins could not be had. Each preview runs in a fresh copy of the
project (the program, its components and domain rules, and the policy pack) so nothing the CLI writes (stack
files with their encryption salt, state) touches the checkout:

* the backend is a directory (`PULUMI_BACKEND_URL=file://...`, what `pulumi login file://...` stores);
* Pulumi.production.yaml is the committed one without `environment:` (the local backend cannot open ESC
  environments), and each key the ESC environment supplies (esc/sophia-ai-production.yaml, as
  offline/stack_files.py reads it) is set with `pulumi config set-all`: secrets as secrets, with generated
  values (real RSA keys, a kubeconfig for a cluster that is not there);
* every HTTP(S) client the CLI, the providers or the program use is sent to a closed loopback port through
  HTTP(S)_PROXY, so a lookup the preview tries (a remote Helm chart, a Snowflake login) fails at once on this
  machine instead of leaving it;
* the plugins the toolchain built in place of the ones the SDKs ask for (terraform-provider-snowflake bridged
  at its own version, the command stand-in) are named in the copy's Pulumi.yaml the documented way for local
  plugins (`plugins: providers: - name, path`), so the engine loads them without any of them claiming the
  SDK's version; the project's own Pulumi.yaml stays as users need it. The Snowflake provider runs with
  SOPHIA_TEST_ONLY_SNOWFLAKE_OFFLINE_CONFIGURE=1: it signs in to no account, checks every input, and refuses
  any create, read, update or delete (testkit/toolchain/snowflake/providerinfo).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.stack_files import load_stack_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
TOOLCHAIN_INFO = PROJECT_DIR / ".tools" / "pulumi-toolchain.json"
STACK = "production"
PASSPHRASE = "engine-tests-only"
# Nothing listens on port 1 of the loopback interface: a connection there is refused immediately.
CLOSED_LOOPBACK = "127.0.0.1:1"
# The cluster half of the program, for previews and ups that need neither Snowflake nor flowctl.
CLUSTER_PROGRAM = Path(__file__).with_name("cluster_program.py")
# The GPU Operator's chart repository is not reachable here, and the kubernetes provider looks a release's
# chart up during Check, so the previews that must pass run as on a cluster that already has the operator.
OPERATOR_INSTALLED = {"sophia-ai:clusterGpuOperatorInstalled": True}
PREVIEW_TIMEOUT_S = 900
# Test-only switch of testkit/toolchain/snowflake: Configure opens no Snowflake connection.
SNOWFLAKE_OFFLINE_CONFIGURE = {"SOPHIA_TEST_ONLY_SNOWFLAKE_OFFLINE_CONFIGURE": "1"}

# Everything the program, its components and the policy pack import or read; not the checkout's own state.
NOT_COPIED = (
    ".git",
    ".venv",
    ".tools",
    "tests",
    "testkit",
    "venv",
    "__pycache__",
    ".*_cache",
    "Pulumi.*.yaml",
)


@dataclass(frozen=True)
class Toolchain:
    pulumi: Path
    bin_dir: Path
    home: Path
    plugins: dict[str, str]
    missing: dict[str, str]
    # name -> directory of a plugin the tests load as a project plugin (build.py's project builds).
    project_plugins: dict[str, Path]


def load_toolchain() -> Toolchain | None:
    """The toolchain `make toolchain` wrote down, or None when it is not built."""
    if not TOOLCHAIN_INFO.exists():
        return None
    info = json.loads(TOOLCHAIN_INFO.read_text())
    return Toolchain(
        pulumi=Path(info["pulumi"]),
        bin_dir=Path(info["bin"]),
        home=Path(info["home"]),
        plugins=dict(info["plugins"]),
        missing=dict(info["missing"]),
        project_plugins={name: Path(p["path"]) for name, p in info.get("project_plugins", {}).items()},
    )


def toolchain_or_skip() -> Toolchain:
    """The toolchain `make toolchain` wrote down; without it the test skips, except in CI where it fails."""
    toolchain = load_toolchain()
    if toolchain is None:
        reason = f"the real Pulumi toolchain is not built ({TOOLCHAIN_INFO} is missing): run `make toolchain`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI runs `make test`, which builds it first")
        pytest.skip(reason)
    return toolchain


def project_plugin_or_skip(toolchain: Toolchain, name: str) -> Path:
    """The directory of the plugin `make toolchain` built for `name` in place of the SDK's version. Where the
    released plugin is installed instead (a runner that can download), tests that need ours skip: the released
    Snowflake provider signs in during Configure, which needs an account."""
    path = toolchain.project_plugins.get(name)
    if path is None:
        pytest.skip(
            f"the {name} plugin is the installed release ({toolchain.plugins.get(name)}), not the kit's build"
        )
    return path


def _openssl(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True, text=True).stdout


def rsa_key_pair() -> tuple[str, str]:
    """A fresh 2048-bit RSA key: (PEM private key, public key body as Snowflake's RSA_PUBLIC_KEY takes it)."""
    private = _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
    public_pem = _openssl("pkey", "-pubout", stdin=private)
    body = "".join(line for line in public_pem.splitlines() if not line.startswith("-----"))
    return private, body


def unreachable_kubeconfig() -> str:
    """A well-formed kubeconfig whose API server is a closed loopback port."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "k3s", "cluster": {"server": f"https://{CLOSED_LOOPBACK}"}}],
            "users": [{"name": "deployer", "user": {"token": "engine-test-token"}}],
            "contexts": [{"name": "k3s", "context": {"cluster": "k3s", "user": "deployer"}}],
            "current-context": "k3s",
        }
    )


def generated_token(purpose: str) -> str:
    """A fresh random token, shaped like an API key, for one test run."""
    return f"engine-test-{purpose}-{secrets.token_hex(16)}"


def esc_test_values(stack: str = STACK) -> dict[str, str]:
    """A value for every key the stack's ESC environment supplies, shaped as the real ones are."""
    keys: dict[str, tuple[str, str]] = {
        "snowflakeEstuary": rsa_key_pair(),
        "snowflakeMcp": rsa_key_pair(),
        "snowflakeDeployer": rsa_key_pair(),
    }
    values = {
        "sophia-ai:snowflakeDeployerPrivateKey": keys["snowflakeDeployer"][0],
        "sophia-ai:snowflakeEstuaryPrivateKey": keys["snowflakeEstuary"][0],
        "sophia-ai:snowflakeEstuaryPublicKey": keys["snowflakeEstuary"][1],
        "sophia-ai:snowflakeMcpPrivateKey": keys["snowflakeMcp"][0],
        "sophia-ai:snowflakeMcpPublicKey": keys["snowflakeMcp"][1],
        "sophia-ai:clusterKubeconfig": unreachable_kubeconfig(),
        "sophia-ai:clusterK3sJoinToken": "K10" + "0" * 64 + "::server:engine-test-join-token",
        "sophia-ai:lambdaApiKey": generated_token("lambda"),
    }
    settings = load_stack_settings(PROJECT_DIR, stack)
    for key in settings.esc_keys:
        values.setdefault(key, f"engine-test-{key.split(':', 1)[1]}")
    unknown = set(values) - set(settings.esc_keys)
    assert not unknown, f"test values for keys the ESC environment no longer supplies: {sorted(unknown)}"
    return values


@dataclass
class Preview:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class EngineProject:
    """A copy of the project with a local backend and one stack (production unless told) initialised in it."""

    def __init__(
        self, toolchain: Toolchain, root: Path, main: Path | None = None, stack: str = STACK
    ) -> None:
        """`main` replaces the copy's __main__.py (a program made of the same components)."""
        self.toolchain = toolchain
        self.stack = stack
        self.dir = root / "project"
        self.state = root / "state"
        self.state.mkdir(parents=True)
        shutil.copytree(PROJECT_DIR, self.dir, ignore=shutil.ignore_patterns(*NOT_COPIED))
        if main is not None:
            shutil.copyfile(main, self.dir / "__main__.py")
        # Pulumi.yaml and PulumiPolicy.yaml name their virtualenvs relative to themselves.
        venv = PROJECT_DIR / ".venv"
        (self.dir / ".venv").symlink_to(venv)
        (self.dir / "policies" / "venv").symlink_to(venv)
        if toolchain.project_plugins:
            project_file = self.dir / "Pulumi.yaml"
            project = yaml.safe_load(project_file.read_text())
            plugins = sorted(toolchain.project_plugins.items())
            project["plugins"] = {"providers": [{"name": name, "path": str(path)} for name, path in plugins]}
            project_file.write_text(yaml.safe_dump(project, sort_keys=False))

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULUMI_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"))
        }
        proxy = f"http://{CLOSED_LOOPBACK}"
        env.update(
            PATH=os.pathsep.join(
                [str(self.toolchain.bin_dir), str(PROJECT_DIR / ".venv" / "bin"), env["PATH"]]
            ),
            PULUMI_HOME=str(self.toolchain.home),
            PULUMI_BACKEND_URL=f"file://{self.state}",
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_SKIP_CONFIRMATIONS="true",
            HTTP_PROXY=proxy,
            HTTPS_PROXY=proxy,
            http_proxy=proxy,
            https_proxy=proxy,
            # The engine, the plugins and the program talk gRPC on loopback, which gRPC also proxies.
            NO_PROXY="127.0.0.1,localhost,::1",
            no_proxy="127.0.0.1,localhost,::1",
            **SNOWFLAKE_OFFLINE_CONFIGURE,
        )
        return env

    def pulumi(self, *args: str, check: bool = True, timeout: float = 120) -> Preview:
        done = subprocess.run(
            [str(self.toolchain.pulumi), *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = Preview(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {done.returncode}:\n{result.output}")
        return result

    def init_stack(self, config_overrides: dict[str, Any] | None = None) -> None:
        stack_file = yaml.safe_load((PROJECT_DIR / f"Pulumi.{self.stack}.yaml").read_text())
        stack_file.pop("environment", None)
        for key, value in (config_overrides or {}).items():
            if value is None:
                stack_file["config"].pop(key, None)
            else:
                stack_file["config"][key] = value
        (self.dir / f"Pulumi.{self.stack}.yaml").write_text(yaml.safe_dump(stack_file, sort_keys=False))
        self.pulumi("stack", "init", self.stack, "--secrets-provider", "passphrase")
        secret_keys = set(load_stack_settings(PROJECT_DIR, self.stack).secret_keys)
        args: list[str] = []
        for key, value in esc_test_values(self.stack).items():
            args += ["--secret" if key in secret_keys else "--plaintext", f"{key}={value}"]
        self.pulumi("config", "set-all", "--stack", self.stack, *args)
        # The CLI rewrites the stack file and quotes every top-level number ("100"); it reads both forms, the
        # offline gate only the committed one, so the committed values go back in beside the encrypted ones.
        written_path = self.dir / f"Pulumi.{self.stack}.yaml"
        written = yaml.safe_load(written_path.read_text())
        written["config"].update(stack_file["config"])
        written_path.write_text(yaml.safe_dump(written, sort_keys=False))

    def preview(self, *extra: str) -> Preview:
        return self.pulumi(
            "preview",
            "--stack",
            self.stack,
            "--policy-pack",
            str(self.dir / "policies"),
            "--policy-pack-config",
            str(self.dir / "policies" / "config" / f"{self.stack}.json"),
            *extra,
            check=False,
            timeout=PREVIEW_TIMEOUT_S,
        )

    def offline_preview(self, *extra: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """The offline gate (`python -m offline preview`) on this copy's production stack and policy pack."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "offline",
                "preview",
                "--stack",
                self.stack,
                "--project-dir",
                str(self.dir),
                "--policy-pack",
                str(self.dir / "policies"),
                *extra,
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=PREVIEW_TIMEOUT_S,
            check=check,
        )


@dataclass(frozen=True)
class Verdict:
    """How a stack edit was judged: clean, refused by the configuration, by a provider's Check, or by
    mandatory policies."""

    kind: str  # "clean" | "config" | "check" | "policy"
    mandatory: frozenset[str] = frozenset()


def offline_verdict(project: EngineProject) -> Verdict:
    """The offline gate's verdict on the project's stack file (`python -m offline preview`)."""
    report = project.dir.parent / "offline-plan.json"
    report.unlink(missing_ok=True)
    done = project.offline_preview("--json", str(report))
    if done.returncode == 2:
        # Written only when the program ran: then the refusal came from a provider's Check.
        checked = json.loads(report.read_text()).get("providerCheck") if report.exists() else None
        return Verdict("check" if checked and checked["failures"] else "config")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    violations = json.loads(report.read_text())["policy"]["violations"]
    mandatory = frozenset(v["policy"] for v in violations if v["level"] == "mandatory")
    return Verdict("policy" if done.returncode == 1 else "clean", mandatory)
