"""API keys and access control: hashed keys re-read on change, scopes, per-key rate limits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from starlette.requests import Request

from app.http.errors import ApiError
from app.http.rate_limit import RateLimiter, retry_after_header
from app.metrics import ApiMetrics

log = logging.getLogger("mlsys.api.auth")

Scope = Literal["predict", "admin"]
SCOPES: frozenset[str] = frozenset(get_args(Scope))
KEY_PREFIX = "mlsk_"
_CHECK_EVERY_SECONDS = 1.0


class KeyFileError(ValueError):
    """The key file has a malformed line; the message names the line."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    digest: bytes
    scopes: frozenset[str]


ANONYMOUS = ApiKey(key_id="anonymous", digest=b"", scopes=SCOPES)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_line(key_id: str, key: str, scopes: list[str]) -> str:
    return f"{key_id} {hash_key(key)} {','.join(sorted(scopes))}"


def parse_scopes(text: str) -> frozenset[str]:
    """``predict,admin`` as the key file spells it; ValueError names scopes that do not exist."""
    scopes = frozenset(text.split(","))
    unknown = scopes - SCOPES
    if unknown:
        raise ValueError(f"unknown scope(s) {sorted(unknown)}; known {sorted(SCOPES)}")
    return scopes


def parse_keys(text: str, source: str = "key file") -> list[ApiKey]:
    """``<key-id> <sha256-hex> <scope[,scope]>`` per line; blank lines and ``#`` comments skip."""
    keys: list[ApiKey] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{source} line {number}"
        if len(parts) != 3:
            raise KeyFileError(f"{where}: expected '<key-id> <sha256-hex> <scopes>'")
        key_id, digest, scope_text = parts
        if key_id in seen:
            raise KeyFileError(f"{where}: key id {key_id!r} appears twice")
        try:
            raw_digest = bytes.fromhex(digest)
        except ValueError:
            raw_digest = b""
        if len(raw_digest) != 32:
            raise KeyFileError(f"{where}: the hash must be 64 hex characters of SHA-256")
        try:
            scopes = parse_scopes(scope_text)
        except ValueError as exc:
            raise KeyFileError(f"{where}: {exc}") from None
        seen.add(key_id)
        keys.append(ApiKey(key_id=key_id, digest=raw_digest, scopes=scopes))
    return keys


class KeyStore:
    """Holds the parsed key file; a bad rewrite keeps the last good keys and logs why."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: list[ApiKey] = []
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = 0.0
        self.reload_errors = 0
        self._load(initial=True)

    def _stat(self) -> tuple[int, int, int]:
        # Kubernetes swaps a symlink when a Secret changes; stat follows it to the new file.
        info = self.path.stat()
        return (info.st_mtime_ns, info.st_ino, info.st_size)

    def _load(self, initial: bool = False) -> None:
        try:
            signature = self._stat()
            if signature == self._signature:
                return
            keys = parse_keys(self.path.read_text(), str(self.path))
            if not keys:
                # Editors and `>` truncate before writing: an empty file is a rewrite caught
                # halfway, never a wish to refuse every caller.
                raise KeyFileError(f"{self.path} holds no keys")
        except (OSError, KeyFileError) as exc:
            if initial:
                raise KeyFileError(f"cannot load API keys: {exc}") from exc
            self.reload_errors += 1
            log.error(
                "API key file not reloaded; keeping the previous keys", extra={"error": str(exc)}
            )
            return
        self._keys, self._signature = keys, signature
        if not initial:
            log.info("API keys reloaded", extra={"keys": len(keys)})

    def refresh_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked_at >= _CHECK_EVERY_SECONDS:
            self._checked_at = now
            self._load()

    def lookup(self, presented: str) -> ApiKey | None:
        """The key whose hash matches; every stored hash is compared, without early exit."""
        self.refresh_if_changed()
        digest = hashlib.sha256(presented.encode()).digest()
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def __len__(self) -> int:
        return len(self._keys)


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key``, if any."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


class AccessControl:
    """Decides whether a request may use a route: 401 without a known key, 403 without the
    scope, 429 past the key's rate. ``keys=None`` means authentication is off."""

    def __init__(
        self,
        keys: KeyStore | None,
        limiter: RateLimiter,
        metrics: ApiMetrics,
        row_limiter: RateLimiter | None = None,
    ) -> None:
        self.keys = keys
        self.limiter = limiter
        self.row_limiter = row_limiter
        self.metrics = metrics

    def _refuse_rate(self, key: ApiKey, wait: float, what: str) -> ApiError:
        self.metrics.rate_limited.labels(key.key_id).inc()
        return ApiError(
            429,
            "rate_limited",
            f"too many {what} for this key",
            headers={"Retry-After": retry_after_header(wait)},
        )

    def charge_rows(self, key: ApiKey, rows: int) -> None:
        """The cost half of the rate limit: a key's rows per second, not only its requests."""
        if self.row_limiter is not None:
            wait = self.row_limiter.take(key.key_id, rows)
            if wait > 0:
                raise self._refuse_rate(key, wait, "rows")

    def identify(self, request: Request) -> ApiKey | None:
        """The caller's key, if it presents a known one; never refuses, counts or charges."""
        if self.keys is None:
            return ANONYMOUS
        headers = request.headers
        presented = presented_key(headers.get("authorization"), headers.get("x-api-key"))
        return self.keys.lookup(presented) if presented else None

    def admit(self, request: Request, scope: Scope) -> ApiKey:
        if self.keys is None:
            key = ANONYMOUS
        else:
            headers = request.headers
            presented = presented_key(headers.get("authorization"), headers.get("x-api-key"))
            found = self.keys.lookup(presented) if presented else None
            if found is None:
                reason = "missing" if presented is None else "unknown"
                self.metrics.auth_refused.labels(reason).inc()
                raise ApiError(
                    401,
                    "unauthenticated",
                    "send a valid API key as 'Authorization: Bearer <key>' or 'X-API-Key'",
                    headers={"WWW-Authenticate": 'Bearer realm="mlsys"'},
                )
            key = found
        request.scope.setdefault("state", {})["key_id"] = key.key_id
        if scope not in key.scopes:
            self.metrics.auth_refused.labels("scope").inc()
            raise ApiError(403, "forbidden", f"this key lacks the '{scope}' scope")
        wait = self.limiter.take(key.key_id)
        if wait > 0:
            raise self._refuse_rate(key, wait, "requests")
        return key
