"""Who is acting and under which policy, proven: the signer's key against the pinned policy, and
whether the policy file in use may decide for an environment.

Built once per command at the edge (:func:`riskctl.service.open_session`). The proof is lazy:
commands that only read never need a key; the first thing that would be recorded asks for it,
and without it nothing is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from riskctl.config import DeliveryConfig, LoadedConfig
from riskctl.errors import UsageError
from riskctl.signing import KeyPair
from riskctl.trust.keys import IdentityError, find_private_key, fingerprint, matches
from riskctl.trust.oidc import OidcError, OidcIdentity, identity_from_token
from riskctl.trust.pin import PinError, Pinned
from riskctl.trust.replay import spend_token
from riskctl.trust.statements import Claim, Kind, sign_statement

__all__ = ["Signer", "TrustContext"]


@dataclass(frozen=True)
class Signer:
    """A proven identity: its name and the private key that matched its policy keys, or (in CI)
    the verified OIDC token that mapped to it."""

    name: str
    key: KeyPair | None
    oidc: OidcIdentity | None = None


@dataclass
class TrustContext:
    """The policy file in use, the pinned one (if any), and how to prove the acting identity."""

    loaded: LoadedConfig
    pinned: Pinned | None
    pin_error: str | None
    actor: str | None
    key_path: str | None
    environ: Mapping[str, str]
    # Where spent OIDC tokens are remembered (riskctl.trust.replay); None: $RISKCTL_HOME.
    home: Path | None = None
    _signer: Signer | None = field(default=None, repr=False)

    @property
    def identities(self) -> DeliveryConfig:
        """Where identities, roles and keys come from: the pinned policy, else the file in use."""
        return self.pinned.loaded.config if self.pinned else self.loaded.config

    def prove(self) -> Signer:
        """The acting identity, proven by its private key; :class:`IdentityError` otherwise."""
        if self._signer is not None:
            return self._signer
        if self.pin_error:
            raise PinError(self.pin_error)
        token = self.environ.get("RISKCTL_OIDC_TOKEN")
        if token and not (self.key_path or self.environ.get("RISKCTL_SIGNING_KEY")):
            self._signer = self._prove_oidc(token)
            return self._signer
        name = self.actor
        if not name:
            raise UsageError("no acting identity: pass --as NAME or set RISKCTL_ACTOR")
        config = self.identities
        if name not in config.identities:
            raise IdentityError(f"unknown identity {name!r}: not in the policy, nothing recorded")
        keys = config.public_keys(name)
        if not keys:
            raise IdentityError(
                f'{name} has no signing keys in the policy: add `keys = ["ssh-ed25519 …"]` '
                f"(riskctl keygen --as {name} prints one)"
            )
        key = find_private_key(name, self.key_path, self.environ)
        if not matches(key.public, keys):
            raise IdentityError(
                f"the signing key given ({fingerprint(key.public)}) is not one of {name}'s keys "
                "in the policy: --as only names who signs, nothing recorded"
            )
        self._signer = Signer(name, key)
        return self._signer

    def default_actor(self, name: str | None) -> None:
        """Act as ``name`` when no one was named and no OIDC token says who acts (in CI the
        token, not a default, decides)."""
        if self.actor is None and not self.environ.get("RISKCTL_OIDC_TOKEN"):
            self.actor = name

    def _prove_oidc(self, token: str) -> Signer:
        found = identity_from_token(token, self.identities)
        # In GitHub Actions GITHUB_ACTOR (whoever triggered the run) is always set; the token,
        # not that name, says who acts. An explicit --as must agree with it.
        named = self.actor
        if named and named not in (found.name, self.environ.get("GITHUB_ACTOR")):
            raise IdentityError(
                f"--as {named}, but the OIDC token proves {found.name}: nothing recorded"
            )
        home = self.home or (Path(h) if (h := self.environ.get("RISKCTL_HOME")) else None)
        if home is None:
            raise OidcError(
                "RISKCTL_OIDC_TOKEN needs RISKCTL_HOME, where used tokens are remembered "
                "(a token proves one command only): nothing recorded"
            )
        oidc = self.identities.oidc
        spend_token(home, found, leeway_s=oidc.leeway_s if oidc else 0.0)
        self.actor = found.name
        return Signer(found.name, None, found)

    def require_pinned(self, env: str | None) -> None:
        """Refuse a decision for ``env`` (None: no single environment, e.g. a review) unless the
        file in use is the pinned policy, or the pinned policy marks ``env`` experimental."""
        if self.pin_error:
            raise PinError(self.pin_error)
        what = f"decisions for {env}" if env else "this decision"
        if self.pinned is None:
            raise PinError(
                f"no policy is pinned in RISKCTL_HOME: {what} need one; an admin pins it with "
                "`riskctl policy pin --as ADMIN`"
            )
        if self.pinned.digest == self.loaded.digest:
            return
        spec = self.pinned.loaded.config.environments.get(env) if env else None
        if spec is not None and spec.experimental:
            return
        raise PinError(
            f"{self.loaded.path} ({self.loaded.digest[:19]}…) is not the pinned policy "
            f"({self.pinned.digest[:19]}…): {what} use only the pinned policy; an admin of it "
            "pins a new one with `riskctl policy pin`"
        )

    def sign(
        self,
        kind: Kind,
        subject: str,
        env: str | None,
        now: datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A statement by the proven signer, as a DSSE envelope (text)."""
        signer = self.prove()
        if signer.key is None:
            # A CI identity: its statement is the verified claims, which never count as a
            # person's signed review or approval (riskctl.trust.oidc).
            oidc = signer.oidc
            return json.dumps(
                {
                    "kind": str(kind),
                    "signer": signer.name,
                    "subject": subject,
                    "env": env,
                    "oidc": dict(oidc.claims) if oidc else {},
                    "token_digest": oidc.token_digest if oidc else None,
                },
                sort_keys=True,
            )
        claim = Claim(
            kind=kind,
            signer=signer.name,
            subject=subject,
            env=env,
            time=now.isoformat(),
            policy_digest=self.loaded.digest,
            extra=dict(extra or {}),
        )
        return sign_statement(claim, signer.key)
