"""Image repositories: one ECR repository per container image (not the MLflow model registry)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from infra.foundation.kms import KeyAdmins, customer_key
from infra.renames import with_former_type

IMAGES = ("app", "training")


def lifecycle_policy(keep_tagged: int = 50, untagged_days: int = 7) -> dict[str, Any]:
    """Untagged layers go after a week; only the newest tagged images are kept."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire untagged images",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {keep_tagged} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged,
                },
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass(frozen=True, kw_only=True)
class ImageRepositoriesArgs:
    prefix: str
    account_id: str
    dr_region: str | None  # every image is copied there on push
    key_admins: KeyAdmins
    tags: dict[str, str]


def replication_rules(prefix: str, account_id: str, dr_region: str) -> dict[str, Any]:
    """This stack's repositories, and only those, replicate to the DR region of this account."""
    return {
        "rules": [
            {
                "destinations": [{"region": dr_region, "registry_id": account_id}],
                "repository_filters": [{"filter": f"{prefix}-", "filter_type": "PREFIX_MATCH"}],
            }
        ]
    }


class ImageRepositories(pulumi.ComponentResource):
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ImageRepositoriesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            "mlsys:foundation:ImageRepositories",
            name,
            None,
            with_former_type("mlsys:registry:ContainerRegistry", opts),
        )
        child = pulumi.ResourceOptions(parent=self)
        key = customer_key(
            f"{name}-key",
            f"{args.prefix} container images",
            args.tags,
            child,
            admins=args.key_admins,
        )
        self.repository_urls, self.repository_arns = {}, {}
        for image in IMAGES:
            repo = aws.ecr.Repository(
                f"{name}-{image}",
                name=f"{args.prefix}-{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
                force_delete=False,
                tags=args.tags,
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{image}-lifecycle",
                repository=repo.name,
                policy=json.dumps(lifecycle_policy()),
                opts=pulumi.ResourceOptions(parent=repo),
            )
            self.repository_urls[image] = repo.repository_url
            self.repository_arns[image] = repo.arn
        if args.dr_region:
            # One registry-wide setting per account and region: with one account per
            # environment only prod's stack writes it.
            aws.ecr.ReplicationConfiguration(
                f"{name}-replication",
                replication_configuration=cast(
                    Any, replication_rules(args.prefix, args.account_id, args.dr_region)
                ),
                opts=child,
            )
        self.register_outputs({"repository_urls": self.repository_urls})
