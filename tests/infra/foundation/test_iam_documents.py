"""IAM documents: trust pinned to repo and environment, "*" only where AWS offers no ARN."""

from __future__ import annotations

from infra.foundation.iam_documents import (
    access_log_bucket_policy,
    bucket_read,
    github_oidc_trust,
    pod_identity_trust,
    tls_only_bucket_policy,
    velero,
)


def test_github_trust_is_pinned_to_repo_and_environment():
    trust = github_oidc_trust("arn:p", "org/repo", "prod")
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:org/repo:environment:prod",
    }


def test_velero_may_use_star_only_for_describe_calls():
    doc = velero("arn:aws:s3:::b", "arn:k", "eu-west-1", "111122223333")
    star = [s for s in doc["Statement"] if s["Resource"] == ["*"]]
    assert len(star) == 1 and all(a.startswith("ec2:Describe") for a in star[0]["Action"])


def test_bucket_read_cannot_write():
    actions = {a for s in bucket_read("arn:aws:s3:::b", "arn:k") for a in s["Action"]}
    assert "s3:GetObject" in actions and not any("Put" in a or "Delete" in a for a in actions)


def test_pod_identity_trust_is_one_service_account_of_one_cluster():
    cluster = "arn:aws:eks:eu-west-1:111122223333:cluster/c"
    (statement,) = pod_identity_trust("111122223333", cluster, "ns", "sa")["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": "111122223333",
            "aws:RequestTag/kubernetes-namespace": "ns",
            "aws:RequestTag/kubernetes-service-account": "sa",
        },
        "ArnEquals": {"aws:SourceArn": cluster},
    }


def test_the_access_log_bucket_admits_only_this_accounts_log_delivery():
    statements = access_log_bucket_policy("arn:aws:s3:::logs", "111122223333", "mlsys-dev")[
        "Statement"
    ]
    assert statements[0]["Effect"] == "Deny"  # TLS only, like every bucket
    delivery = statements[1]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}


def test_tls_only_policy_denies_plain_http_on_bucket_and_objects():
    (statement,) = tls_only_bucket_policy("arn:aws:s3:::b")["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
