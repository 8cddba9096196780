"""Pulumi entry point: read the typed stack config, wire the components, export outputs."""

from __future__ import annotations

import pulumi

from infra.config import read_pulumi_config

config = read_pulumi_config()

# The AWS and Kubernetes components are wired here as they land; until then the program
# validates the stack configuration and publishes which environment it describes.
pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
