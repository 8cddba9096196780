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


# What another account's nodes need to pull an image by digest, and nothing more.
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def cross_account_pull_policy(account_ids: tuple[str, ...]) -> dict[str, Any]:
    """Images are built once, here; the accounts that run them pull the same digest from here.

    Pulls only: no push, tag, list or delete, so a compromised consumer cannot alter or
    enumerate what the build account promotes.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullByDigestFromTheRunningAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(account_ids)]},
                "Action": list(PULL_ACTIONS),
            }
        ],
    }


@dataclass(frozen=True, kw_only=True)
class ImageRepositoriesArgs:
    prefix: str
    account_id: str
    dr_region: str | None  # every image is copied there on push
    key_admins: KeyAdmins
    tags: dict[str, str]
    # Accounts whose clusters pull this account's images (the build registry's consumers).
    pull_account_ids: tuple[str, ...] = ()


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
            if args.pull_account_ids:
                aws.ecr.RepositoryPolicy(
                    f"{name}-{image}-pull",
                    repository=repo.name,
                    policy=json.dumps(cross_account_pull_policy(args.pull_account_ids)),
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
