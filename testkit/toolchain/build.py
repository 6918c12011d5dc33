"""`make toolchain`: the real Pulumi CLI, its Python language host and the resource plugins, from Go modules.

Everything is built with the Go module proxy as the only source (CGO_ENABLED=0, -mod=readonly against the
committed go.sum files), into a cache outside the repository keyed by component, version and a digest of the
recipe, so a second run only finds the binaries and re-links them:

    ${SOPHIA_TOOLCHAIN_CACHE:-~/.cache/sophia-ai-toolchain}/<component>-<version>-<digest>/<binary>

The CLI and the two scripts that ship in the sdk/v3 module are put in one bin directory, the resource plugins
are installed with `pulumi plugin install resource NAME VERSION --file BINARY` into the PULUMI_HOME the tests
use, and `.tools/pulumi.env` (export lines) and `.tools/pulumi-toolchain.json` (the same, for tests) are
written last. A `pulumi` already on PATH, and plugins already installed in its PULUMI_HOME, are used as they
are. A plugin whose own version cannot be built from the proxy is listed with the reason; where a recipe
builds something else in its place (terraform-provider-snowflake v1.2.3 bridged; the command stand-in), that
binary is recorded under `project_plugins` with its own version, for the tests to name in their project copy's
Pulumi.yaml, and is never installed under the version the SDK asks for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = ROOT / "testkit" / "toolchain"
TOOLS = ROOT / ".tools"
ENV_FILE = TOOLS / "pulumi.env"
INFO_FILE = TOOLS / "pulumi-toolchain.json"

NO_DOWNLOADS = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
# The two scripts of the sdk/v3 module that the CLI runs beside the language host: the program's exec shim
# and the dynamic-provider host (the Lambda instances are dynamic resources).
SDK_SCRIPTS = ("python/cmd/pulumi-language-python-exec", "python/dist/pulumi-resource-pulumi-python")


@dataclass(frozen=True)
class GoBinary:
    """One binary built by `go build` in its own small module under toolchain/."""

    component: str
    binary: str
    module_dir: str
    package: str
    version: str
    ldflags: tuple[str, ...] = ()
    # Files copied from a dependency module next to main.go before building: (module path, file in it).
    staged: tuple[tuple[str, str], ...] = ()

    # A build step before `go build`: another binary of the same module run with these arguments in the
    # staged source (toolchain/snowflake's tfgen writes the schema.json its provider embeds).
    generator: GoBinary | None = None
    generator_args: tuple[str, ...] = ()

    def digest(self) -> str:
        module = TOOLCHAIN / self.module_dir
        recipe = hashlib.sha256()
        for name in ("go.mod", "go.sum", "main.go"):
            path = module / name
            if path.exists():
                recipe.update(path.read_bytes())
        # The module's other Go files (packages beside main.go); none in the single-file modules, whose
        # digests (and cache entries) stay what they were.
        for path in sorted(module.rglob("*.go")):
            if path != module / "main.go":
                recipe.update(path.relative_to(module).as_posix().encode() + path.read_bytes())
        recipe.update(repr((self.package, self.ldflags, self.staged)).encode())
        if self.generator is not None:
            recipe.update(repr((self.generator.package, self.generator_args)).encode())
        return recipe.hexdigest()[:10]


@dataclass(frozen=True)
class Plugin:
    """A resource plugin the pinned Python SDK asks for, and how (or why not) it is built."""

    name: str
    # Plugin version -> the Go build of exactly that version. A version missing here cannot be built.
    builds: dict[str, GoBinary] = field(default_factory=dict)
    blocked: str = ""
    # A build of another version (or another implementation) that the tests load as a project plugin
    # (`plugins: providers: - name, path` in the test copy's Pulumi.yaml) instead of installing it under the
    # version the SDK asks for: it never pretends to be that version.
    project_build: GoBinary | None = None
    project_build_note: str = ""


CLI_VERSION = "v3.274.1"
# As pulumi's Makefile builds the CLI: the version it reports and checks plugins' requirements against; the
# language host reports the same one.
SDK_VERSION_LDFLAGS = (f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={CLI_VERSION}",)
CLI = GoBinary(
    component="pulumi",
    binary="pulumi",
    module_dir="pulumi",
    package="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    version=CLI_VERSION,
    ldflags=SDK_VERSION_LDFLAGS,
)
# Pulumi's own language host module (sdk/python/cmd/pulumi-language-python/v3) is refused by the proxy at
# every version, so toolchain/python-host is a host of this project's own, built against the CLI's sdk/v3
# (its main.go says what it implements and why).
PYTHON_HOST = GoBinary(
    component="pulumi-language-python",
    binary="pulumi-language-python",
    module_dir="python-host",
    package=".",
    version=CLI_VERSION,
    ldflags=SDK_VERSION_LDFLAGS,
)
KUBERNETES_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
# The Terraform provider release toolchain/snowflake bridges (docs/real-engine.md says why this one), and the
# version the command stand-in reports: its own, so nothing claims to be pulumi-command 1.2.1.
SNOWFLAKE_TF_VERSION = "1.2.3"
COMMAND_TESTKIT_VERSION = "0.1.0"
PLUGINS = (
    Plugin(
        name="kubernetes",
        builds={
            # The provider module has no tags of its own; the proxy serves it only at the pseudo-version of
            # the v4.25.0 release commit (f47bc2d6f199), so the Python SDK is pinned to 4.25.0 with it.
            "4.25.0": GoBinary(
                component="pulumi-resource-kubernetes",
                binary="pulumi-resource-kubernetes",
                module_dir="kubernetes",
                package=".",
                version="4.25.0",
                ldflags=(f"-X {KUBERNETES_MODULE}/pkg/version.Version=4.25.0",),
                staged=(
                    (KUBERNETES_MODULE, "cmd/pulumi-resource-kubernetes/schema.json"),
                    (KUBERNETES_MODULE, "cmd/pulumi-resource-kubernetes/terraform-mapping.json"),
                ),
            )
        },
    ),
    Plugin(
        name="command",
        blocked=(
            "the proxy serves no version of the provider's module: github.com/pulumi/pulumi-command/provider "
            "(v1.2.1's layout) and the root module github.com/pulumi/pulumi-command at the commits after the "
            "provider moved there answer 403 'This module version is not available'; the root module at "
            "v1.2.1 is served but holds no Go code"
        ),
        # command:local:Command with the 1.2.1 SDK's inputs and outputs, on the pulumi-go-provider version
        # pulumi-command 1.2.1 is built on (toolchain/command/main.go says what it does and does not do).
        project_build=GoBinary(
            component="pulumi-resource-command-testkit",
            binary="pulumi-resource-command",
            module_dir="command",
            package=".",
            version=COMMAND_TESTKIT_VERSION,
            ldflags=(f"-X main.version={COMMAND_TESTKIT_VERSION}",),
        ),
        project_build_note="test stand-in for command:local:Command (toolchain/command)",
    ),
    Plugin(
        name="snowflake",
        blocked=(
            "the proxy serves no version of github.com/pulumi/pulumi-snowflake/provider/v2 (the list and "
            "every pseudo-version tried answer 403 'This module version is not available'), and its upstream "
            "github.com/Snowflake-Labs/terraform-provider-snowflake is served only at v1.x tags, not at the "
            "v2.x commits the provider bridges"
        ),
        # terraform-provider-snowflake v1.2.3 bridged by pulumi-terraform-bridge (toolchain/snowflake): the
        # schema is generated by the module's tfgen at build time and embedded.
        project_build=GoBinary(
            component="pulumi-resource-snowflake-tf",
            binary="pulumi-resource-snowflake",
            module_dir="snowflake",
            package=".",
            version=SNOWFLAKE_TF_VERSION,
            ldflags=(f"-X main.version={SNOWFLAKE_TF_VERSION}",),
            generator=GoBinary(
                component="pulumi-tfgen-snowflake",
                binary="pulumi-tfgen-snowflake",
                module_dir="snowflake",
                package="./tfgen",
                version=SNOWFLAKE_TF_VERSION,
                ldflags=(f"-X main.version={SNOWFLAKE_TF_VERSION}",),
            ),
            generator_args=("schema", "--skip-docs", "--out", "."),
        ),
        project_build_note=f"terraform-provider-snowflake v{SNOWFLAKE_TF_VERSION} (toolchain/snowflake)",
    ),
)


def log(message: str) -> None:
    print(f"toolchain: {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    configured = os.environ.get("SOPHIA_TOOLCHAIN_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "sophia-ai-toolchain"


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        GOFLAGS="-mod=readonly -buildvcs=false -trimpath",
        # The machine's Go builds every module here; never fetch another toolchain.
        GOTOOLCHAIN="local",
    )
    return env


def module_dir(work_dir: Path, module: str) -> Path:
    out = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", module],
        cwd=work_dir,
        env=go_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not out:
        subprocess.run(["go", "mod", "download", module], cwd=work_dir, env=go_env(), check=True)
        return module_dir(work_dir, module)
    return Path(out)


def build(spec: GoBinary) -> Path:
    """The binary of `spec` in the cache, built now unless an earlier run left it there."""
    target_dir = cache_root() / f"{spec.component}-{spec.version}-{spec.digest()}"
    target = target_dir / spec.binary
    if target.is_file():
        log(f"{spec.component} {spec.version}: cached at {target}")
        return target
    if shutil.which("go") is None:
        raise SystemExit(
            f"toolchain: {spec.component} {spec.version} is not in {cache_root()} and `go` is not on PATH; "
            "install Go 1.26 (the build uses only the Go module proxy) or a pulumi CLI with its plugins"
        )
    # Build from a staged copy of the recipe so nothing generated lands in the repository.
    source = cache_root() / "src" / target_dir.name
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(TOOLCHAIN / spec.module_dir, source)
    for module, relative in spec.staged:
        shutil.copyfile(module_dir(source, module) / relative, source / Path(relative).name)
    if spec.generator is not None:
        generator = build(spec.generator)
        log(f"{spec.component} {spec.version}: {generator.name} {' '.join(spec.generator_args)}")
        subprocess.run([str(generator), *spec.generator_args], cwd=source, env=go_env(), check=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{spec.binary}.partial"
    log(f"{spec.component} {spec.version}: building (go build -p 2) ...")
    started = time.monotonic()
    subprocess.run(
        [
            "go",
            "build",
            "-p",
            "2",
            "-ldflags",
            " ".join(("-s", "-w", *spec.ldflags)),
            "-o",
            str(partial),
            spec.package,
        ],
        cwd=source,
        env=go_env(),
        check=True,
    )
    partial.replace(target)
    shutil.rmtree(source, ignore_errors=True)
    log(f"{spec.component} {spec.version}: built in {time.monotonic() - started:.0f}s")
    return target


def link(source: Path, bin_dir: Path, name: str) -> None:
    """A hard link, not a symlink: the CLI and the host find their companions beside os.Executable()."""
    dest = bin_dir / name
    if dest.exists() and dest.samefile(source):
        return
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def installed_cli() -> Path | None:
    """A `pulumi` on PATH that is not ours, as on a user's machine."""
    found = shutil.which("pulumi")
    if not found or str(cache_root()) in str(Path(found).resolve()):
        return None
    return Path(found)


def cli_bin_dir() -> Path:
    """The CLI, its language host and the sdk scripts, side by side in one directory."""
    cli = build(CLI)
    host = build(PYTHON_HOST)
    bin_dir = cache_root() / f"bin-{CLI.version}-{CLI.digest()}-{PYTHON_HOST.digest()}"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link(cli, bin_dir, "pulumi")
    link(host, bin_dir, "pulumi-language-python")
    sdk_dir = module_dir(TOOLCHAIN / CLI.module_dir, SDK_MODULE)
    for script in SDK_SCRIPTS:
        dest = bin_dir / Path(script).name
        if not dest.exists():
            shutil.copyfile(sdk_dir / script, dest)
            dest.chmod(0o755)
    return bin_dir


def requested_version(plugin: str) -> str:
    """The plugin version the installed Python SDK declares in its pulumi-plugin.json."""
    spec = importlib.util.find_spec(f"pulumi_{plugin}")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"toolchain: pulumi_{plugin} is not installed in {sys.executable}; run make first")
    declared = json.loads((Path(spec.submodule_search_locations[0]) / "pulumi-plugin.json").read_text())
    return str(declared["version"])


def installed_plugins(pulumi: Path, env: dict[str, str]) -> set[tuple[str, str]]:
    listing = subprocess.run(
        [str(pulumi), "plugin", "ls", "--json"], env=env, check=True, capture_output=True, text=True
    ).stdout
    return {
        (p["name"], p["version"]) for p in json.loads(listing or "[]") or [] if p.get("kind") == "resource"
    }


def main() -> int:
    started = time.monotonic()
    env = dict(os.environ, **NO_DOWNLOADS)
    user_cli = installed_cli()
    if user_cli is not None:
        pulumi, bin_dir = user_cli, user_cli.parent
        home = os.environ.get("PULUMI_HOME", str(Path.home() / ".pulumi"))
        log(f"using the installed {pulumi}")
    else:
        bin_dir = cli_bin_dir()
        pulumi = bin_dir / "pulumi"
        home = os.environ.get("PULUMI_HOME", str(cache_root() / "pulumi-home"))
    env.update(PULUMI_HOME=home, PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")

    present = installed_plugins(pulumi, env)
    plugins: dict[str, str] = {}
    missing: dict[str, str] = {}
    project_plugins: dict[str, dict[str, str]] = {}
    for plugin in PLUGINS:
        version = requested_version(plugin.name)
        if (plugin.name, version) in present:
            plugins[plugin.name] = version
            continue
        recipe = plugin.builds.get(version)
        if recipe is None and plugin.project_build is not None:
            binary = build(plugin.project_build)
            project_plugins[plugin.name] = {
                "path": str(binary.parent),
                "version": plugin.project_build.version,
                "requested": version,
                "what": plugin.project_build_note,
            }
            log(f"{plugin.name}: the SDK asks for {version}; tests load {binary} as a project plugin")
            continue
        if recipe is None:
            reason = plugin.blocked or f"no recipe builds it; pin the SDK to one of {sorted(plugin.builds)}"
            missing[plugin.name] = f"{version}: {reason}"
            log(f"{plugin.name} {version} NOT available: {reason}")
            continue
        binary = build(recipe)
        subprocess.run(
            [str(pulumi), "plugin", "install", "resource", plugin.name, version, "--file", str(binary)],
            env=env,
            check=True,
        )
        plugins[plugin.name] = version

    TOOLS.mkdir(exist_ok=True)
    exports = {"PATH": f"{bin_dir}:$PATH", "PULUMI_HOME": home, **NO_DOWNLOADS}
    ENV_FILE.write_text(
        "# Written by `make toolchain`: `source .tools/pulumi.env` runs the real Pulumi CLI and plugins.\n"
        + "".join(f'export {key}="{value}"\n' for key, value in exports.items())
    )
    INFO_FILE.write_text(
        json.dumps(
            {
                "pulumi": str(pulumi),
                "bin": str(bin_dir),
                "home": home,
                "plugins": plugins,
                "project_plugins": project_plugins,
                "missing": missing,
            },
            indent=2,
        )
        + "\n"
    )
    log(f"ready in {time.monotonic() - started:.0f}s: {pulumi}; plugins {plugins}; wrote {ENV_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
