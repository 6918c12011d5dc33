"""The sophia-guardrails policy pack, as the Pulumi CLI runs it.

The CLI starts `python -u -m pulumi.policy <engine-address> .` in this directory, which runs this file as a
script (runpy.run_path), so only this directory is on sys.path. The rules share the project's domain rules,
so the project root (this directory's parent) goes on sys.path before they are imported.
Constructing PolicyPack starts the Analyzer gRPC server, prints its port and serves until the CLI stops it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from guardrails import PACK_DESCRIPTION, PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
)
