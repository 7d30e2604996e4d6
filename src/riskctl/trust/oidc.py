"""CI identities from the platform's OIDC token (GitHub Actions), verified, then mapped to a
policy identity by its claims.

A workflow job with ``permissions: id-token: write`` asks GitHub for an ID token with the
policy's ``[oidc] audience`` and hands it to riskctl in ``RISKCTL_OIDC_TOKEN``. riskctl verifies
the JWT's signature with the issuer's published JWKS (RS256/ES256 only), its issuer, audience,
expiry and issue time, then finds the one identity whose ``oidc`` matchers it satisfies (every
claim a matcher lists must equal the token's, e.g. ``repository``, ``ref``, ``environment``).
Every matcher must pin the repository (``repository`` or ``repository_id``): the issuer signs
tokens for every repository on the platform, with any audience its workflows ask for, so a
matcher without it would let any repository's workflow act as that identity.

A token is spent by the first command that proves with it (:mod:`riskctl.trust.replay`): its
``jti`` is remembered under ``$RISKCTL_HOME/oidc/`` until it expires, so the same token cannot
decide twice. Tokens are never logged or stored; only their SHA-256 is.

What such an identity may do is what its roles allow; its statements carry the verified claims,
not a personal signature, so they never count as a person's review or approval (those need the
person's own key).

::

    OidcError (IdentityError, exit 3)   a token that does not verify or maps to no one
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from riskctl.config import DeliveryConfig, OidcSpec
from riskctl.trust.keys import IdentityError

__all__ = ["OidcError", "OidcIdentity", "identity_from_token"]

#: Asymmetric algorithms only: an HMAC "signature" would be keyed with public material.
ALGORITHMS = ("RS256", "ES256")
#: Claims copied into statements (never the token itself: it is a bearer credential until exp).
KEPT_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "jti",
    "repository",
    "repository_id",
    "ref",
    "sha",
    "workflow_ref",
    "event_name",
    "environment",
    "run_id",
    "run_attempt",
    "actor",
    "runner_environment",
)
#: A matcher must pin one of these: the issuer signs tokens for every repository it hosts.
REPOSITORY_CLAIMS = ("repository", "repository_id")


class OidcError(IdentityError):
    """The OIDC token does not prove an identity."""


@dataclass(frozen=True)
class OidcIdentity:
    """The identity a verified token maps to, and the claims kept as evidence."""

    name: str
    claims: Mapping[str, Any]
    token_digest: str
    expires: int = 0  # the token's ``exp`` (Unix seconds): how long its jti is remembered


def _jwks_url(spec: OidcSpec) -> str:
    url = spec.jwks_url or spec.issuer.rstrip("/") + "/.well-known/jwks"
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise OidcError(f"the JWKS address {url} must be https (http only on loopback, in tests)")
    return url


def verify_token(token: str, spec: OidcSpec) -> dict[str, Any]:
    """The token's claims, after checking signature (issuer's JWKS), iss, aud, exp, iat, nbf,
    and that it carries ``sub`` and ``jti`` (the id that makes it single-use)."""
    import jwt  # noqa: PLC0415 - only when a token is presented (keeps `riskctl abort` light)

    try:
        signing_key = jwt.PyJWKClient(_jwks_url(spec), timeout=10).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key.key,
            algorithms=list(ALGORITHMS),
            audience=spec.audience,
            issuer=spec.issuer,
            leeway=spec.leeway_s,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise OidcError(f"the OIDC token does not verify: {exc}") from None
    return claims


def _matches(claims: Mapping[str, Any], matcher: Mapping[str, str]) -> bool:
    """Every claim the matcher lists is present in the token, a string, and equal."""
    return bool(matcher) and all(
        isinstance(claims.get(k), str) and claims[k] == v for k, v in matcher.items()
    )


def _check_matchers(config: DeliveryConfig) -> None:
    for name, ident in config.identities.items():
        for matcher in ident.oidc:
            if not any(matcher.get(k) for k in REPOSITORY_CLAIMS):
                raise OidcError(
                    f"identities.{name}.oidc: every matcher must pin `repository` (or "
                    "`repository_id`): the issuer signs tokens for any repository it hosts"
                )


def identity_from_token(token: str, config: DeliveryConfig) -> OidcIdentity:
    """The one policy identity the verified ``token`` maps to."""
    if config.oidc is None:
        raise OidcError("RISKCTL_OIDC_TOKEN is set but the policy has no [oidc] issuer")
    _check_matchers(config)
    claims = verify_token(token, config.oidc)
    names = [
        name
        for name, ident in config.identities.items()
        if any(_matches(claims, m) for m in ident.oidc)
    ]
    if len(names) != 1:
        found = ", ".join(names) or "no identity"
        raise OidcError(
            f"the OIDC token (sub {claims.get('sub')!r}) maps to {found}: exactly one identity's "
            "oidc matchers must fit it"
        )
    kept = {k: claims[k] for k in KEPT_CLAIMS if k in claims}
    digest = "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    return OidcIdentity(names[0], kept, digest, int(claims["exp"]))
