"""Customer managed KMS keys, all with the same safety settings."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def customer_key(
    name: str,
    description: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    region: str | None = None,
) -> aws.kms.Key:
    """Yearly rotation, and a 30-day window in which a scheduled deletion can be cancelled."""
    return aws.kms.Key(
        name,
        description=description,
        region=region,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags,
        opts=opts,
    )
