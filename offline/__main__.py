"""`python -m offline preview --stack production [--policy-pack policies] [--json PLAN]`.

Exit codes: 0 clean, 1 a mandatory policy violation, 2 an invalid stack (one paragraph, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from offline import report
from offline.engine import InvalidStack, preview

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
    run.add_argument("--quiet", action="store_true", help="print only the summary lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        plan = preview(args.project_dir, args.stack)
    except InvalidStack as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID_STACK
    previewed = time.perf_counter()

    if not args.quiet:
        print(report.resource_tree(plan))
        print("\nResources:")
        print(report.resource_counts(plan))
        for title, section in (
            ("GPU plan", report.gpu_plan_summary(plan)),
            ("Estuary catalog", report.estuary_summary(plan)),
        ):
            if section:
                print(f"\n{title}:\n{section}")

    policy_section = None
    exit_code = EXIT_CLEAN
    gate_seconds = 0.0
    if args.policy_pack is not None:
        from offline import policy_gate

        config_path = args.policy_pack_config or args.policy_pack / "config" / f"{args.stack}.json"
        gate_started = time.perf_counter()
        try:
            policy_config = policy_gate.load_policy_config(config_path) if config_path.exists() else None
            result = policy_gate.run_policy_pack(plan, args.policy_pack, policy_config)
        except policy_gate.PolicyConfigError as error:
            print(f"error: policy configuration {config_path}: {error}", file=sys.stderr)
            return EXIT_INVALID_STACK
        except policy_gate.PolicyPackError as error:
            # A pack that cannot judge the plan must never let it through.
            print(f"error: the policy pack could not evaluate the plan: {error}", file=sys.stderr)
            return EXIT_VIOLATIONS
        gate_seconds = time.perf_counter() - gate_started
        print("\n" + policy_gate.format_violations(result))
        policy_section = {
            "violations": [
                {"policy": v.policy, "level": v.level, "urn": v.urn, "message": v.message}
                for v in result.violations
            ]
        }
        if result.mandatory_count:
            exit_code = EXIT_VIOLATIONS

    if args.json_path is not None:
        args.json_path.write_text(report.plan_json(plan, policy_section))
    gate_note = f", policy gate {gate_seconds:.2f}s" if args.policy_pack is not None else ""
    print(
        f"\n{len(plan.resources)} resources planned for {plan.project}/{plan.stack} "
        f"in {previewed - started:.2f}s{gate_note}"
    )
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
