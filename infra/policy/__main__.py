"""CrossGuard entry point (`pulumi preview --policy-pack infra/policy`), or the plan CLI.

`python -m infra.policy build/plan/prod/resources.json` checks an offline plan instead.
"""

from __future__ import annotations

import sys

if len(sys.argv) > 1 and sys.argv[1].endswith(".json"):
    from infra.policy.check import main

    sys.exit(main(sys.argv[1:]))

from pulumi_policy import EnforcementLevel, PolicyPack

from infra.policy.pack import PACK_NAME, build_policies

# Constructing the pack starts the analyzer server the Pulumi CLI talks to.
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies())
