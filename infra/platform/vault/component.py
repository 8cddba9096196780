"""Vault: HA raft server with KMS auto-unseal and TLS, its configure Job, and VSO deliveries."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.platform.charts import helm_release
from infra.platform.kube import custom_resource, with_deps
from infra.platform.vault import objects as obj
from infra.platform.vault.policies import CONFIGURER_ROLE, NAMESPACE, ROLES
from infra.platform.vault.values import build_secrets_operator_values, build_vault_values


@dataclass(frozen=True, kw_only=True)
class VaultArgs:
    replicas: int
    volume_gb: int
    operator_replicas: int
    region: str
    kms_key_arn: pulumi.Input[str]  # the unseal key the vault Pod Identity role may use
    # The vault role's Pod Identity association: pods started before it get no credentials,
    # and a Vault without KMS access stays sealed.
    identity: pulumi.Resource
    configure_image: str  # the vault CLI, pinned by digest
    cert_manager: pulumi.Resource  # installs the Issuer and Certificate CRDs
    namespaces: dict[str, k8s.core.v1.Namespace]
    k8s_provider: k8s.Provider


# Why a Job and not the Pulumi Vault provider: Vault has no listener outside the cluster,
# and the provider would need a network path from the deploy runner plus a long-lived
# admin token in the stack config. The Job runs beside Vault, logs in with a ten-minute
# service account token, and its script (a pure function, unit-tested) is also the one the
# init runbook runs by hand, so there is one definition of the configuration.
class Vault(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: VaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlsys:platform:Vault", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        ns = args.namespaces
        # cert-manager's chart brings the CRDs: the CA chain waits for it.
        ca_chain: list[pulumi.Resource] = []
        for ca_object in obj.build_ca_objects():
            ca_chain.append(
                custom_resource(
                    f"{name}-{ca_object['kind'].lower()}-{ca_object['metadata']['name']}",
                    ca_object,
                    with_deps(child, args.cert_manager, ns[NAMESPACE], *ca_chain),
                )
            )
        certificate = custom_resource(
            f"{name}-server-certificate",
            obj.build_server_certificate(args.replicas),
            with_deps(child, *ca_chain),
        )
        values = pulumi.Output.from_input(args.kms_key_arn).apply(
            lambda arn: build_vault_values(
                replicas=args.replicas,
                volume_gb=args.volume_gb,
                region=args.region,
                kms_key_id=arn,
            )
        )
        server = helm_release(
            f"{name}-server",
            "vault",
            NAMESPACE,
            values,
            with_deps(child, certificate, args.identity),
        )
        # The operator's connection trusts the CA in the TLS Secret: it waits for both.
        operator = helm_release(
            f"{name}-secrets-operator",
            "vault-secrets-operator",
            NAMESPACE,
            build_secrets_operator_values(replicas=args.operator_replicas),
            with_deps(child, server),
        )
        self._configure_job(name, args, child, server)
        accounts: dict[str, pulumi.Resource] = {}
        for role, spec in ROLES.items():
            account = obj.build_service_account(spec.service_account, spec.namespace)
            accounts[role] = k8s.core.v1.ServiceAccount(
                f"{name}-sa-{role}",
                metadata=account["metadata"],
                automount_service_account_token=False,
                opts=with_deps(child, ns[spec.namespace]),
            )
        auths = {
            role: custom_resource(
                f"{name}-auth-{role}",
                obj.build_vault_auth(role),
                with_deps(child, operator, accounts[role]),
            )
            for role in ROLES
        }
        for delivery in obj.DELIVERIES:
            custom_resource(
                f"{name}-secret-{delivery.secret}",
                obj.build_static_secret(delivery),
                with_deps(child, auths[delivery.role]),
            )
        self.register_outputs({})

    def _configure_job(
        self,
        name: str,
        args: VaultArgs,
        child: pulumi.ResourceOptions,
        server: pulumi.Resource,
    ) -> None:
        account = obj.build_service_account(CONFIGURER_ROLE.service_account, NAMESPACE)
        configurer = k8s.core.v1.ServiceAccount(
            f"{name}-sa-configurer",
            metadata=account["metadata"],
            automount_service_account_token=False,
            opts=with_deps(child, args.namespaces[NAMESPACE]),
        )
        script = obj.build_configure_script_map()
        script_map = k8s.core.v1.ConfigMap(
            f"{name}-configure-script",
            metadata=script["metadata"],
            data=script["data"],
            opts=with_deps(child, args.namespaces[NAMESPACE]),
        )
        job = obj.build_configure_job(args.configure_image)
        k8s.batch.v1.Job(
            f"{name}-configure",
            metadata=job["metadata"],
            spec=job["spec"],
            opts=with_deps(child, server, configurer, script_map),
        )
