"""Network: a VPC over three AZs with public, private and isolated database subnets."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.foundation.iam_documents import allow, document, service_trust
from infra.foundation.kms import KeyAdmins, KeyUse, customer_key
from infra.foundation.subnets import plan_subnets
from infra.renames import with_former_type

# Pulls, Pod Identity credentials (eks-auth), keys, secrets and logs stay inside the VPC.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs", "eks-auth", "kms", "secretsmanager")


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    cidr: str
    availability_zones: tuple[str, ...]
    region: str
    nat_per_az: bool
    interface_endpoints: bool
    cluster_name: str
    key_admins: KeyAdmins
    boundary_arn: pulumi.Input[str]
    tags: dict[str, str]
    flow_log_retention_days: int = 90


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    database_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            "mlsys:foundation:Network", name, None, with_former_type("mlsys:network:Network", opts)
        )
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        layout = plan_subnets(args.cidr, len(args.availability_zones))
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**args.tags, "Name": f"{name}-vpc"},
            opts=self._child,
        )
        # AWS opens the default security group to all traffic within it; close it entirely.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=args.tags,
            opts=self._child,
        )
        self._public(layout.public)
        self._private(layout.private)
        self._database(layout.database)
        self._endpoints()
        self._flow_logs()
        self.vpc_id = self.vpc.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "database_subnet_ids": self.database_subnet_ids,
            }
        )

    def _subnet(self, tier: str, index: int, cidr: str, extra: dict[str, str]) -> aws.ec2.Subnet:
        zone = self._args.availability_zones[index]
        return aws.ec2.Subnet(
            f"{self._name}-{tier}-{index}",
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={**self._args.tags, **extra, "Name": f"{self._name}-{tier}-{zone}", "tier": tier},
            opts=self._child,
        )

    def _route(
        self, tier: str, index: int, subnet: aws.ec2.Subnet, table: aws.ec2.RouteTable
    ) -> None:
        aws.ec2.RouteTableAssociation(
            f"{self._name}-{tier}-rta-{index}",
            subnet_id=subnet.id,
            route_table_id=table.id,
            opts=self._child,
        )

    def _public(self, cidrs: tuple[str, ...]) -> None:
        igw = aws.ec2.InternetGateway(
            f"{self._name}-igw", vpc_id=self.vpc.id, tags=self._args.tags, opts=self._child
        )
        table = aws.ec2.RouteTable(
            f"{self._name}-public-rt",
            vpc_id=self.vpc.id,
            tags=self._args.tags,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=self._child,
        )
        # Public subnets hold only NAT gateways and internet-facing load balancers.
        elb = {"kubernetes.io/role/elb": "1"}
        self.public_subnets = [self._subnet("public", i, c, elb) for i, c in enumerate(cidrs)]
        for i, subnet in enumerate(self.public_subnets):
            self._route("public", i, subnet, table)
        self.public_subnet_ids = [s.id for s in self.public_subnets]

    def _private(self, cidrs: tuple[str, ...]) -> None:
        nat_count = len(cidrs) if self._args.nat_per_az else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(
                f"{self._name}-nat-eip-{i}", domain="vpc", tags=self._args.tags, opts=self._child
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[i].id,
                    tags=self._args.tags,
                    opts=self._child,
                )
            )
        tags = {
            "kubernetes.io/role/internal-elb": "1",
            f"kubernetes.io/cluster/{self._args.cluster_name}": "shared",
        }
        self.private_subnets = [self._subnet("private", i, c, tags) for i, c in enumerate(cidrs)]
        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            nat = nats[i if self._args.nat_per_az else 0]
            table = aws.ec2.RouteTable(
                f"{self._name}-private-rt-{i}",
                vpc_id=self.vpc.id,
                tags=self._args.tags,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                opts=self._child,
            )
            self._route("private", i, subnet, table)
            self.private_route_tables.append(table)
        self.private_subnet_ids = [s.id for s in self.private_subnets]

    def _database(self, cidrs: tuple[str, ...]) -> None:
        # No route out of the database tier at all; RDS needs none.
        table = aws.ec2.RouteTable(
            f"{self._name}-database-rt", vpc_id=self.vpc.id, tags=self._args.tags, opts=self._child
        )
        self.database_subnets = [self._subnet("database", i, c, {}) for i, c in enumerate(cidrs)]
        for i, subnet in enumerate(self.database_subnets):
            self._route("database", i, subnet, table)
        self.database_route_table = table
        self.database_subnet_ids = [s.id for s in self.database_subnets]

    def _endpoints(self) -> None:
        region = self._args.region
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in self.private_route_tables],
            tags=self._args.tags,
            opts=self._child,
        )
        if not self._args.interface_endpoints:
            return
        group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[self._args.cidr],
                    description="HTTPS from the VPC",
                )
            ],
            egress=[],
            tags=self._args.tags,
            opts=self._child,
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{self._name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[group.id],
                tags=self._args.tags,
                opts=self._child,
            )

    def _flow_logs(self) -> None:
        key = customer_key(
            f"{self._name}-flow-logs-key",
            f"{self._args.cluster_name} VPC flow logs",
            self._args.tags,
            self._child,
            admins=self._args.key_admins,
            use=KeyUse(log_service_region=self._args.region),
        )
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            retention_in_days=self._args.flow_log_retention_days,
            kms_key_id=key.arn,
            tags=self._args.tags,
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs-role",
            assume_role_policy=json.dumps(service_trust("vpc-flow-logs.amazonaws.com")),
            permissions_boundary=self._args.boundary_arn,
            tags=self._args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs-policy",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    document(
                        allow(
                            [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            [arn, f"{arn}:*"],
                        )
                    )
                )
            ),
            opts=self._child,
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            tags=self._args.tags,
            opts=self._child,
        )
