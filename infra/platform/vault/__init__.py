"""Vault: the server, its TLS, its post-init configuration and Vault Secrets Operator."""

from infra.platform.vault.component import Vault, VaultArgs

__all__ = ["Vault", "VaultArgs"]
