"""CI identities from OIDC tokens (SPEC §6a): verified against a locally generated issuer (an RSA
key, its JWKS served on 127.0.0.1), then mapped to one policy identity by claims."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from riskctl.config import DeliveryConfig, Identity, OidcSpec
from riskctl.model import Role
from riskctl.trust.oidc import OidcError, identity_from_token
from tests.riskctl.conftest import Built, Cli

ISSUER = "https://token.actions.githubusercontent.com"
CLAIMS = {
    "iss": ISSUER,
    "aud": "riskctl",
    "sub": "repo:org/risk-service:environment:production",
    "repository": "org/risk-service",
    "ref": "refs/heads/main",
    "environment": "production",
    "jti": "abc",
}


class _Issuer:
    """An OIDC issuer's signing key and its JWKS endpoint on a free loopback port."""

    def __init__(self) -> None:
        self.key: RSAPrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, algorithm: str = "RS256", **changes: Any) -> str:
        now = int(time.time())
        claims = {**CLAIMS, "iat": now, "nbf": now, "exp": now + 300, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": "k1"})


@pytest.fixture
def issuer() -> Iterator[_Issuer]:
    """A local issuer, stopped afterwards."""
    made = _Issuer()
    yield made
    made.server.shutdown()
    made.server.server_close()


def _config(issuer: _Issuer) -> DeliveryConfig:
    ci = Identity(
        roles=(Role.ENGINEER,),
        oidc=({"repository": "org/risk-service", "ref": "refs/heads/main"},),
    )
    return DeliveryConfig(
        identities={"ci-deployer": ci, "eng-1": Identity(roles=(Role.ENGINEER,))},
        environments={},
        oidc=OidcSpec(issuer=ISSUER, audience="riskctl", jwks_url=issuer.url),
    )


def test_verified_token_maps_to_its_identity(issuer: _Issuer) -> None:
    """A token signed by the issuer, for riskctl, unexpired, maps to the identity whose matcher
    fits; only the kept claims are stored, never the token."""
    found = identity_from_token(issuer.token(), _config(issuer))
    assert found.name == "ci-deployer"
    assert found.claims["repository"] == "org/risk-service"
    assert found.token_digest.startswith("sha256:")
    assert all(isinstance(v, str) for v in found.claims.values())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, "expired"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"ref": "refs/heads/feature"}, "maps to no identity"),
        ({"sub": None}, "sub missing"),
    ],
)
def test_bad_tokens_refused(issuer: _Issuer, change: dict[str, Any], why: str) -> None:
    """Expired, wrong audience or issuer, unmapped claims, missing sub: refused."""
    with pytest.raises(OidcError):
        identity_from_token(issuer.token(**change), _config(issuer))


def test_token_signed_by_another_key_refused(issuer: _Issuer) -> None:
    """A token whose kid names the issuer's key but is signed by another RSA key is refused."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(OidcError, match="does not verify"):
        identity_from_token(issuer.token(key=other), _config(issuer))


def test_symmetric_algorithm_refused(issuer: _Issuer) -> None:
    """An HS256 token (keyed with anything public) is refused: asymmetric algorithms only."""
    with pytest.raises(OidcError):
        identity_from_token(issuer.token(key="x" * 32, algorithm="HS256"), _config(issuer))


def test_plain_http_jwks_refused_off_loopback(issuer: _Issuer) -> None:
    """The JWKS is fetched over https (plain http only on loopback, for tests)."""
    config = _config(issuer)
    assert config.oidc is not None
    remote = config.model_copy(
        update={"oidc": config.oidc.model_copy(update={"jwks_url": "http://example.com/jwks"})}
    )
    with pytest.raises(OidcError, match="must be https"):
        identity_from_token(issuer.token(), remote)


def test_ci_identity_acts_through_the_cli(built: Built, cli: Cli, issuer: _Issuer) -> None:
    """With a pinned policy naming the issuer, a CI job without any private key deploys to dev
    as the mapped identity; --as another person with that token is refused."""
    text = (built.repo / "delivery.toml").read_text(encoding="utf-8")
    text = text.replace(
        "[identities.eng-1]",
        '[identities.ci-deployer]\nroles = ["engineer"]\n'
        'oidc = [{ repository = "org/risk-service", ref = "refs/heads/main" }]\n'
        "[identities.eng-1]",
        1,
    )
    text += f'\n[oidc]\nissuer = "{ISSUER}"\naudience = "riskctl"\njwks_url = "{issuer.url}"\n'
    policy = built.repo.parent / "ci.toml"
    policy.write_text(text, encoding="utf-8")
    assert cli("policy", "pin", "--as", "admin", "--config", str(policy)).code == 0
    env = {
        "RISKCTL_OIDC_TOKEN": issuer.token(),
        "RISKCTL_KEYRING": "",
        "RISKCTL_CONFIG": str(policy),
    }
    out = cli("deploy", built.release, "--env", "dev", "--check", "--json", **env)
    assert out.code == 0, out.stderr
    impostor = cli("deploy", built.release, "--env", "dev", "--check", "--as", "sre-1", **env)
    assert impostor.code == 3
    assert "the OIDC token proves ci-deployer" in impostor.stderr
    checked = [a for a in cli.audit_actions() if a == "deploy.checked"]
    assert len(checked) == 1


def test_token_not_the_commit_author_decides_who_builds(issuer: _Issuer) -> None:
    """`build`/`gates` default to the commit author's identity only when no OIDC token is given:
    in CI the token's identity acts."""
    from pathlib import Path  # noqa: PLC0415

    from riskctl.config import LoadedConfig  # noqa: PLC0415
    from riskctl.trust.context import TrustContext  # noqa: PLC0415

    loaded = LoadedConfig(_config(issuer), Path("policy.toml"), "sha256:" + "0" * 64)
    for environ, expected in (({"RISKCTL_OIDC_TOKEN": issuer.token()}, "ci-deployer"), ({}, None)):
        ctx = TrustContext(loaded, None, None, None, None, environ)
        ctx.default_actor("eng-1")
        if expected:
            assert ctx.actor is None
            assert ctx.prove().name == expected
        else:
            assert ctx.actor == "eng-1"
