"""The sophia-guardrails policy pack, as the Pulumi CLI runs it.

The CLI starts `python -u -m pulumi.policy <engine-address> .` in this directory, which runs this file as a
script (runpy.run_path), so only this directory is on sys.path. The rules share the project's domain rules:
a staged or published pack (`make policy-pack`, scripts/stage_policy_pack.py) carries the `domain/` modules
it needs in this directory, so nothing is added to sys.path; in the repository they are in the project root
(this directory's parent), which goes on sys.path before the rules are imported.
Constructing PolicyPack starts the Analyzer gRPC server, prints its port and serves until the CLI stops it.
"""

import sys
from pathlib import Path

_PACK_DIR = Path(__file__).resolve().parent
if not (_PACK_DIR / "domain").is_dir():
    sys.path.insert(0, str(_PACK_DIR.parent))

# The rules import domain/, so they come after the lines that make it importable.
from guardrails import PACK_DESCRIPTION, PACK_NAME, POLICIES  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
)
