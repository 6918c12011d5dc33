"""`python -m offline preview --stack production [--policy-pack policies] [--json PLAN] [--markdown FILE
[--compare BASE_PLAN]]`.

Exit codes: 0 clean, 1 a mandatory policy violation, 2 an invalid stack (one paragraph, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

from offline import policy_gate, provider_check, report
from offline.engine import InvalidStack, run_program
from offline.markdown import markdown_summary
from offline.plan import Plan
from offline.policy_config import PolicyConfigError, load_policy_config
from offline.stack_files import load_stack_settings

EXIT_CLEAN = 0
EXIT_VIOLATIONS = 1
EXIT_INVALID_STACK = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("preview", help="run the program (and the policy pack) with no cloud access")
    run.add_argument("--stack", required=True, help="stack name, e.g. production")
    run.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    run.add_argument("--policy-pack", type=Path, help="policy pack directory to run as the CLI would")
    run.add_argument(
        "--policy-pack-config",
        type=Path,
        help="policy config JSON (default: <pack>/config/<stack>.json when it exists)",
    )
    run.add_argument("--json", dest="json_path", type=Path, help="write the plan as JSON, secrets redacted")
    run.add_argument(
        "--markdown", type=Path, help="write a Markdown summary (per component, GPU plan, verdicts)"
    )
    run.add_argument(
        "--compare",
        type=Path,
        metavar="BASE_PLAN",
        help="a --json plan of the base; the Markdown then shows what is added, changed and removed",
    )
    run.add_argument(
        "--no-provider-check",
        action="store_true",
        help="do not send the resources to their providers' Check even where the plugins are installed",
    )
    run.add_argument("--quiet", action="store_true", help="print only the summary lines")
    return parser


def _base_plan(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidStack(f"--compare {path}: cannot read a JSON plan from it ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise InvalidStack(f"--compare {path}: not a plan written by `--json` (no `resources` list)")
    return document


def _print_plan(plan: Plan) -> None:
    print(report.resource_tree(plan))
    print("\nResources:")
    print(report.resource_counts(plan))
    for title, section in (
        ("GPU plan", report.gpu_plan_summary(plan)),
        ("Objectives watched", report.objectives_summary(plan)),
        ("Estuary catalog", report.estuary_summary(plan)),
    ):
        if section:
            print(f"\n{title}:\n{section}")
    if plan.unrendered:
        print("\nNot rendered offline (the provider renders their children; the gate refuses them):")
        print("\n".join(f"  {item.type} {item.name}: {item.reason}" for item in plan.unrendered))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        settings = load_stack_settings(args.project_dir, args.stack)
        base = _base_plan(args.compare) if args.compare is not None else None
    except InvalidStack as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID_STACK

    with ExitStack() as cleanup:
        pack_started: Future[None] | None = None
        if args.policy_pack is not None:
            # The pack process boots (imports, gRPC server) on the other core while the program runs here.
            pack = cleanup.enter_context(
                closing(
                    policy_gate.PolicyPackSession(
                        args.policy_pack, project=settings.project, stack=args.stack
                    )
                )
            )
            pack_started = cleanup.enter_context(ThreadPoolExecutor(max_workers=1)).submit(pack.start)
        try:
            plan = run_program(settings)
        except InvalidStack as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INVALID_STACK
        previewed = time.perf_counter()
        if not args.quiet:
            _print_plan(plan)
        checks: provider_check.ProviderCheckResult | None = None
        if not args.no_provider_check:
            try:
                checks = provider_check.check_plan(plan, args.project_dir)
            except provider_check.ProviderPluginError as error:
                print(f"error: {error}", file=sys.stderr)
                return EXIT_INVALID_STACK
            print("\n" + report.format_provider_checks(checks))

        policy_section = None
        result = None
        exit_code = EXIT_CLEAN
        if pack_started is not None:
            config_path = args.policy_pack_config or args.policy_pack / "config" / f"{args.stack}.json"
            try:
                policy_config = load_policy_config(config_path) if config_path.exists() else None
                pack_started.result()
                result = pack.evaluate(plan, policy_config)
            except PolicyConfigError as error:
                print(f"error: policy configuration {config_path}: {error}", file=sys.stderr)
                return EXIT_INVALID_STACK
            except policy_gate.PolicyPackError as error:
                # A pack that cannot judge the plan must never let it through.
                print(f"error: the policy pack could not evaluate the plan: {error}", file=sys.stderr)
                return EXIT_VIOLATIONS
            print("\n" + report.format_violations(result))
            policy_section = report.violations_document(result)
            if result.mandatory_count:
                exit_code = EXIT_VIOLATIONS
        # As a real preview, a provider's refusal fails the run whatever the pack said.
        if checks is not None and checks.failures:
            exit_code = EXIT_INVALID_STACK

    if args.json_path is not None:
        args.json_path.write_text(
            report.plan_json(plan, policy_section, report.provider_check_document(checks))
        )
    if args.markdown is not None:
        args.markdown.write_text(markdown_summary(plan, result, base), encoding="utf-8")
    finished = time.perf_counter()
    gate_note = (
        f", policy gate done {finished - previewed:.2f}s later" if args.policy_pack is not None else ""
    )
    print(
        f"\n{len(plan.resources)} resources planned for {plan.project}/{plan.stack} "
        f"in {previewed - started:.2f}s{gate_note}"
    )
    return exit_code


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and closed by now. Tearing down the provider SDKs' tens of thousands of classes
    # takes the interpreter over a second, which every CI run would pay for nothing.
    os._exit(exit_code)
