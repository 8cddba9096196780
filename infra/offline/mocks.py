"""Pulumi mocks that answer like AWS: realistic ids, ARNs, endpoints and data sources."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pulumi

ACCOUNT_ID = "111122223333"
_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
}


# Types whose physical name Pulumi generates when the program gives none: the input key that
# holds it, and whether AWS wants it lower-case (RDS group names must be).
AUTO_NAMED: dict[str, tuple[str, bool]] = {
    "aws:rds/subnetGroup:SubnetGroup": ("name", True),
    "aws:rds/parameterGroup:ParameterGroup": ("name", True),
    "aws:ec2/securityGroup:SecurityGroup": ("name", False),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", False),
    "aws:iam/rolePolicy:RolePolicy": ("name", False),
    "aws:eks/nodeGroup:NodeGroup": ("nodeGroupName", False),
}
_COMPASS = (("north", "n"), ("south", "s"), ("east", "e"), ("west", "w"), ("central", "c"))


def restore_integers(value: Any) -> Any:
    """Integral floats back to ints, all the way down.

    Property values travel as protobuf Structs, whose only number type is a double, so the
    mocks receive 70.0 where the program wrote 70. The real providers read the schema and
    send 70; every field here that holds a whole number is an integer field.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: restore_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_integers(v) for v in value]
    return value


def zone_ids(region: str, count: int = 3) -> list[str]:
    """AWS zone ids for ``region``: eu-west-1 -> euw1-az1, us-gov-west-1 -> usgw1-az1."""
    area, *partition, direction, number = region.split("-")
    short = area + "".join(word[0] for word in partition)
    rest = direction
    while rest:
        found = [(w, c) for w, c in _COMPASS if rest.startswith(w)]
        if not found:
            raise ValueError(f"{region!r} does not look like an AWS region name")
        word, letter = found[0]
        short, rest = short + letter, rest.removeprefix(word)
    return [f"{short}{number}-az{i}" for i in range(1, count + 1)]


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def physical_name(name: str, inputs: dict[str, Any], key: str = "name") -> str:
    """What Pulumi would call the resource: its explicit name, else name plus a suffix."""
    explicit = inputs.get(key)
    return str(explicit) if explicit else f"{name}-{_digest(name, length=7)}"


def auto_name(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, str]:
    """The generated name of an auto-named resource, under the key its type keeps it."""
    if typ not in AUTO_NAMED:
        return {}
    key, lower = AUTO_NAMED[typ]
    generated = physical_name(name, inputs, key)
    return {key: generated.lower() if lower else generated}


class UnmockedDataSourceError(LookupError):
    """The program asked for a data source the mocks do not answer, so the plan would lie."""


class PlanMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        region = self.region
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{suffix}" for suffix in "abc"]
            return {
                "names": names,
                "zoneIds": zone_ids(region),
                "id": region,
                "state": "available",
            }, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            # The credentials of the account the stack names, as a correct setup would have.
            account = self.account_id
            return {
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:role/deployer",
                "userId": "AROAEXAMPLE",
                "id": account,
            }, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region}, []
        raise UnmockedDataSourceError(
            f"the program calls {args.token}, which the offline plan does not answer; "
            "add it to PlanMocks.call with a realistic result"
        )

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        typ, name, inputs = args.typ, args.name, restore_integers(dict(args.inputs))
        region = str(inputs.get("region") or self.region)
        rid = _ID_PREFIXES.get(typ, "") + _digest(typ, name)
        state: dict[str, Any] = {
            **inputs,
            **auto_name(typ, name, inputs),
            **self._computed(typ, name, inputs, rid, region),
        }
        return state.pop("__id", rid), state

    def _computed(
        self, typ: str, name: str, inputs: dict[str, Any], rid: str, region: str
    ) -> dict[str, Any]:
        account = self.account_id
        if typ == "aws:iam/policy:Policy":
            policy = physical_name(name, inputs)
            return {"name": policy, "arn": f"arn:aws:iam::{account}:policy/{policy}"}
        if typ == "aws:iam/role:Role":
            role = physical_name(name, inputs)
            return {"name": role, "arn": f"arn:aws:iam::{account}:role/{role}", "__id": role}
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{account}:oidc-provider/{host}"}
        if typ == "aws:kms/key:Key":
            key_id = f"{_digest(name, length=8)}-1234-4abc-8def-{_digest(name, 'k', length=12)}"
            return {
                "keyId": key_id,
                "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}",
                "__id": key_id,
            }
        if typ == "aws:s3/bucket:Bucket":
            bucket = physical_name(name, inputs, "bucket")
            return {
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "__id": bucket,
                "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            }
        if typ == "aws:eks/cluster:Cluster":
            cluster = physical_name(name, inputs)
            ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n")
            vpc = dict(inputs.get("vpcConfig") or {})
            vpc["clusterSecurityGroupId"] = "sg-" + _digest(cluster, "cluster-sg")
            return {
                "name": cluster,
                "__id": cluster,
                "vpcConfig": vpc,
                "arn": f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
                "endpoint": (
                    f"https://{_digest(cluster, length=32).upper()}.gr7.{region}.eks.amazonaws.com"
                ),
                "certificateAuthority": {"data": ca.decode()},
                "identities": [
                    {"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/MOCK"}]}
                ],
            }
        if typ == "aws:rds/instance:Instance":
            ident = physical_name(name, inputs, "identifier")
            address = f"{ident}.c{_digest(ident, length=11)}.{region}.rds.amazonaws.com"
            secret = f"rds!db-{_digest(ident, length=8)}-{_digest(ident, 'id', length=4)}"
            managed = inputs.get("manageMasterUserPassword") is True
            return {
                "address": address,
                "endpoint": f"{address}:{inputs.get('port', 5432)}",
                "arn": f"arn:aws:rds:{region}:{account}:db:{ident}",
                "resourceId": f"db-{_digest(ident, 'resource', length=26).upper()}",
                "masterUserSecrets": [
                    {
                        "secretArn": (
                            f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-AbCdEf"
                        ),
                        "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                        "secretStatus": "active",
                    }
                ]
                if managed
                else [],
                "__id": ident,
            }
        if typ == "aws:secretsmanager/secret:Secret":
            secret = f"{inputs.get('namePrefix', name)}{_digest(name, length=6)}"
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
            return {"arn": arn, "name": secret, "__id": arn}
        if typ == "aws:ecr/repository:Repository":
            repo = physical_name(name, inputs)
            return {
                "repositoryUrl": f"{account}.dkr.ecr.{region}.amazonaws.com/{repo}",
                "arn": f"arn:aws:ecr:{region}:{account}:repository/{repo}",
                "registryId": account,
                "__id": repo,
            }
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {
                "latestVersion": 1,
                "arn": f"arn:aws:ec2:{region}:{account}:launch-template/{rid}",
            }
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            group = physical_name(name, inputs)
            return {"name": group, "arn": f"arn:aws:logs:{region}:{account}:log-group:{group}"}
        if typ == "random:index/randomPassword:RandomPassword":
            # Deterministic and obviously fake; the plan masks it as the secret it is.
            return {
                "result": f"mock-password-{_digest(name, length=16)}",
                "bcryptHash": "$2a$10$mock",
            }
        if typ.startswith("kubernetes:"):
            return {}
        service = typ.split(":")[1].split("/")[0]
        return {"arn": f"arn:aws:{service}:{region}:{account}:{name}"}
