"""CrossGuard policy pack: `pulumi preview --policy-pack infra/policy` enforces the rules."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

from infra.policy.pack import PACK_NAME, build_policies

# Constructing the pack starts the analyzer server the Pulumi CLI talks to.
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies())
