"""CI identities from OIDC tokens (SPEC §6a): verified against a locally generated issuer (an RSA
key, its JWKS served on 127.0.0.1), then mapped to one policy identity by claims."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from riskctl.config import DeliveryConfig, Identity, OidcSpec
from riskctl.model import Role
from riskctl.trust.oidc import OidcError, identity_from_token
from riskctl.trust.replay import spend_token
from tests.riskctl.conftest import Built, Cli

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://token.actions.githubusercontent.com"
CLAIMS = {
    "iss": ISSUER,
    "aud": "riskctl",
    "sub": "repo:org/risk-service:environment:production",
    "repository": "org/risk-service",
    "ref": "refs/heads/main",
    "environment": "production",
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
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def token(self, key: Any = None, algorithm: str = "RS256", **changes: Any) -> str:
        now = int(time.time())
        claims = {**CLAIMS, "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        claims.update(changes)
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
        ({"jti": None}, "jti missing: the token could not be used once only"),
        ({"repository": "mallory/risk-service"}, "another repository's workflow, same issuer"),
        ({"repository": None}, "no repository claim at all"),
    ],
)
def test_bad_tokens_refused(issuer: _Issuer, change: dict[str, Any], why: str) -> None:
    """Expired, wrong audience or issuer, unmapped claims, missing sub or jti, a token of
    another repository (the issuer signs for every repository, any audience): refused."""
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
    policy = _ci_policy(built, issuer)
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


def test_token_not_the_commit_author_decides_who_builds(issuer: _Issuer, tmp_path: Path) -> None:
    """`build`/`gates` default to the commit author's identity only when no OIDC token is given:
    in CI the token's identity acts."""
    from riskctl.config import LoadedConfig  # noqa: PLC0415
    from riskctl.trust.context import TrustContext  # noqa: PLC0415

    loaded = LoadedConfig(_config(issuer), Path("policy.toml"), "sha256:" + "0" * 64)
    for environ, expected in (({"RISKCTL_OIDC_TOKEN": issuer.token()}, "ci-deployer"), ({}, None)):
        ctx = TrustContext(loaded, None, None, None, None, environ, home=tmp_path)
        ctx.default_actor("eng-1")
        if expected:
            assert ctx.actor is None
            assert ctx.prove().name == expected
        else:
            assert ctx.actor == "eng-1"


def test_matcher_without_repository_is_refused(issuer: _Issuer) -> None:
    """A matcher that does not pin the repository would let any repository's workflow act as
    that identity: such a policy proves no one, even with a token that fits it."""
    config = _config(issuer)
    loose = config.identities["ci-deployer"].model_copy(
        update={"oidc": ({"ref": "refs/heads/main"},)}
    )
    risky = config.model_copy(update={"identities": {**config.identities, "ci-deployer": loose}})
    with pytest.raises(OidcError, match="must pin `repository`"):
        identity_from_token(issuer.token(), risky)


# --- replay: a token proves one command ---------------------------------------------------------


def test_a_token_is_spent_by_its_first_use(issuer: _Issuer, tmp_path: Path) -> None:
    """The same token cannot prove a second command; a fresh one can. The record holds the
    token's hash, never the token, and is forgotten once the token has expired."""
    token = issuer.token()
    found = identity_from_token(token, _config(issuer))
    record = spend_token(tmp_path, found, leeway_s=30)
    with pytest.raises(OidcError, match="already used"):
        spend_token(tmp_path, identity_from_token(token, _config(issuer)), leeway_s=30)
    spend_token(tmp_path, identity_from_token(issuer.token(), _config(issuer)), leeway_s=30)
    stored = record.read_text(encoding="utf-8")
    assert token not in stored
    assert found.token_digest in stored
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    later = found.expires + 31
    spend_token(tmp_path, identity_from_token(issuer.token(), _config(issuer)), leeway_s=30,
                now=later)  # fmt: skip
    assert not record.exists()  # expired records are dropped; the token itself no longer verifies


def _ci_policy(built: Built, issuer: _Issuer, roles: str = '["engineer"]') -> Path:
    text = (built.repo / "delivery.toml").read_text(encoding="utf-8")
    text = text.replace(
        "[identities.eng-1]",
        f"[identities.ci-deployer]\nroles = {roles}\n"
        'oidc = [{ repository = "org/risk-service", ref = "refs/heads/main" }]\n'
        "[identities.eng-1]",
        1,
    )
    text += f'\n[oidc]\nissuer = "{ISSUER}"\naudience = "riskctl"\njwks_url = "{issuer.url}"\n'
    policy = built.repo.parent / "ci.toml"
    policy.write_text(text, encoding="utf-8")
    return policy


def test_replayed_token_is_refused_through_the_cli(built: Built, cli: Cli, issuer: _Issuer) -> None:
    """A token that proved one recording command is refused for the next (exit 3, nothing
    recorded); reading commands never spend it; the token is in no file of the home."""
    policy = _ci_policy(built, issuer)
    assert cli("policy", "pin", "--as", "admin", "--config", str(policy)).code == 0
    token = issuer.token()
    env = {"RISKCTL_OIDC_TOKEN": token, "RISKCTL_KEYRING": "", "RISKCTL_CONFIG": str(policy)}
    assert cli("history", **env).code == 0  # only reads: the token is not spent
    first = cli("deploy", built.release, "--env", "dev", "--check", **env)
    assert first.code == 0, first.stderr
    before = cli.audit_actions()
    again = cli("deploy", built.release, "--env", "dev", "--check", **env)
    assert again.code == 3
    assert "already used" in again.stderr
    assert cli.audit_actions() == before
    fresh = cli("deploy", built.release, "--env", "dev", "--check",
                **{**env, "RISKCTL_OIDC_TOKEN": issuer.token()})  # fmt: skip
    assert fresh.code == 0, fresh.stderr
    for path in built.home.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert token not in first.stdout + first.stderr + again.stderr


def test_ci_identity_approval_never_counts(built: Built, cli: Cli, issuer: _Issuer) -> None:
    """A CI identity holding the release-manager role may record an approval, but it carries
    verified claims, not a person's signature: prod still misses its release approval."""
    policy = _ci_policy(built, issuer, roles='["release-manager"]')
    assert cli("policy", "pin", "--as", "admin", "--config", str(policy)).code == 0
    env = {
        "RISKCTL_OIDC_TOKEN": issuer.token(),
        "RISKCTL_KEYRING": "",
        "RISKCTL_CONFIG": str(policy),
    }
    approved = cli("approve", built.release, "--env", "prod", **env)
    assert approved.code == 0, approved.stderr
    assert "approval.recorded" in cli.audit_actions()
    check = cli("deploy", built.release, "--env", "prod", "--as", "sre-1", "--check", "--json",
                RISKCTL_CONFIG=str(policy))  # fmt: skip
    assert check.code == 3
    assert "release-approval" in check.stdout
    with sqlite3.connect(built.home / "audit.sqlite") as db:
        bodies = [b for (b,) in db.execute("SELECT body FROM riskctl_audit_entry")]
    recorded = [json.loads(b) for b in bodies if '"approval.recorded"' in b]
    assert recorded[-1]["actor"] == "ci-deployer"
    statement = json.loads(recorded[-1]["details"]["statement"])
    assert "signatures" not in statement  # no DSSE envelope: verified claims only
    assert statement["oidc"]["repository"] == "org/risk-service"


def test_repository_policy_maps_each_delivery_job_to_its_ci_identity(issuer: _Issuer) -> None:
    """delivery.toml's CI identities, fed tokens shaped like GitHub's for each delivery job of
    ci-cd.yml, map each to exactly one identity; a pull request, another branch, another
    workflow file or a job outside those environments maps to no one."""
    from riskctl.config import load_config  # noqa: PLC0415

    config = load_config(ROOT / "delivery.toml").config
    assert config.oidc is not None
    config = config.model_copy(
        update={"oidc": config.oidc.model_copy(update={"jwks_url": issuer.url})}
    )
    repo = "example-org/risk-service"
    job = {
        "repository": repo,
        "ref": "refs/heads/main",
        "event_name": "push",
        "workflow_ref": f"{repo}/.github/workflows/ci-cd.yml@refs/heads/main",
        "sub": f"repo:{repo}:environment:production",
    }
    for environment, name in (("release", "ci-release"), ("staging", "ci-staging"),
                              ("production", "ci-prod"),
                              ("production-rollback", "ci-prod-rollback")):  # fmt: skip
        token = issuer.token(**job, environment=environment)
        assert identity_from_token(token, config).name == name
    for change in (
        {"event_name": "pull_request", "ref": "refs/pull/7/merge"},
        {"ref": "refs/heads/feature"},
        {"workflow_ref": f"{repo}/.github/workflows/other.yml@refs/heads/main"},
        {"environment": None},
        {"environment": "dev"},
        {"repository": "mallory/risk-service"},
    ):
        token = issuer.token(**{**job, "environment": "production", **change})
        with pytest.raises(OidcError, match="maps to no identity"):
            identity_from_token(token, config)


# --- riskctl.trust.github: the job asks GitHub for its token ------------------------------------


class _Runtime:
    """The Actions runtime's token endpoint on loopback: checks the request's bearer, answers
    with the queued responses (status, body), the last one repeated."""

    BEARER = "runtime-request-token"

    def __init__(self, responses: list[tuple[int, bytes]]) -> None:
        self.responses = responses
        self.seen: list[tuple[str, str | None]] = []
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                runtime.seen.append((self.path, self.headers.get("Authorization")))
                status, body = runtime.responses[min(len(runtime.seen), len(runtime.responses)) - 1]
                if self.headers.get("Authorization") != f"Bearer {runtime.BEARER}":
                    status, body = 401, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/idtoken?api-version=2.0"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def env(self) -> dict[str, str]:
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": self.url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.BEARER}  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(token: str) -> bytes:
    return json.dumps({"count": 1, "value": token}).encode()


def test_request_token_asks_for_the_audience_with_the_runtime_bearer(issuer: _Issuer) -> None:
    """The token is requested with the runtime's bearer and the policy's audience added to the
    URL's own query; plain http is refused off loopback; a missing permission is explained."""
    from riskctl.trust import github  # noqa: PLC0415

    token = issuer.token()
    runtime = _Runtime([(200, _value(token))])
    try:
        assert github.request_token(runtime.env(), "riskctl") == token
    finally:
        runtime.close()
    path, bearer = runtime.seen[0]
    assert path == "/idtoken?api-version=2.0&audience=riskctl"
    assert bearer == f"Bearer {runtime.BEARER}"
    with pytest.raises(github.TokenRequestError, match="must be https"):
        github.token_url("http://runtime.example/idtoken?api-version=2.0", "riskctl")
    with pytest.raises(github.TokenRequestError, match="id-token: write"):
        github.request_token({}, "riskctl")


def test_request_token_retries_server_errors_only(
    issuer: _Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx is retried (bounded); a 4xx is not; a value that is not a JWT (a newline that could
    inject into $GITHUB_ENV) is refused."""
    from riskctl.trust import github  # noqa: PLC0415

    monkeypatch.setattr(github, "_BACKOFF_S", 0.0)
    token = issuer.token()
    cases = [
        ([(503, b"{}"), (200, _value(token))], token, 2),
        ([(403, b"{}"), (200, _value(token))], "refused: HTTP 403", 1),
        ([(500, b"{}")], "no token after 3 attempts", 3),
        ([(200, _value(token + "\nEVIL=1"))], "not a JWT", 1),
        ([(200, b'{"count": 0}')], "no `value`", 1),
    ]
    for responses, expected, requests in cases:
        runtime = _Runtime(responses)
        try:
            if expected == token:
                assert github.request_token(runtime.env(), "riskctl") == token
            else:
                with pytest.raises(github.TokenRequestError, match=expected):
                    github.request_token(runtime.env(), "riskctl")
        finally:
            runtime.close()
        assert len(runtime.seen) == requests, expected


def test_github_run_hands_a_fresh_token_to_one_command_only(
    issuer: _Issuer, tmp_path: Path
) -> None:
    """`python -m riskctl.trust.github run -- CMD` gives CMD the token in RISKCTL_OIDC_TOKEN
    (never on stdout; masked on stderr), without the runtime's request credentials, and exits
    with CMD's status; `token` appends it to $GITHUB_ENV only."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    token = issuer.token()
    runtime = _Runtime([(200, _value(token))])
    github_env = tmp_path / "github_env"
    env = {"PATH": "/usr/bin:/bin", **runtime.env(), "GITHUB_ENV": str(github_env)}
    probe = (
        "import hashlib, os, sys; t = os.environ['RISKCTL_OIDC_TOKEN']; "
        "print(hashlib.sha256(t.encode()).hexdigest()); "
        "print('ACTIONS_ID_TOKEN_REQUEST_TOKEN' in os.environ); sys.exit(7)"
    )
    try:
        ran = subprocess.run(
            [sys.executable, "-m", "riskctl.trust.github", "--audience", "riskctl", "run", "--",
             sys.executable, "-c", probe],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        exported = subprocess.run(
            [sys.executable, "-m", "riskctl.trust.github", "--audience", "riskctl", "token"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        runtime.close()
    import hashlib  # noqa: PLC0415

    assert ran.returncode == 7, ran.stderr
    assert ran.stdout.split() == [hashlib.sha256(token.encode()).hexdigest(), "False"]
    assert token not in ran.stdout
    assert ran.stderr.splitlines()[0] == f"::add-mask::{token}"
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == f"::add-mask::{token}\n"
    assert github_env.read_text(encoding="utf-8") == f"RISKCTL_OIDC_TOKEN={token}\n"
    outside = subprocess.run(
        [sys.executable, "-m", "riskctl.trust.github", "--audience", "riskctl", "run", "--",
         "true"],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert outside.returncode == 1
    assert "id-token: write" in outside.stderr


def test_github_audience_comes_from_the_pinned_policy(
    built: Built, cli: Cli, issuer: _Issuer
) -> None:
    """The audience asked for is the pinned policy's, not a file the job could swap."""
    from riskctl.trust import github  # noqa: PLC0415

    policy = _ci_policy(built, issuer)
    assert cli("policy", "pin", "--as", "admin", "--config", str(policy)).code == 0
    other = built.repo.parent / "other.toml"
    other.write_text(policy.read_text().replace('audience = "riskctl"', 'audience = "x"'))
    environ = {"RISKCTL_HOME": str(built.home), "RISKCTL_CONFIG": str(other)}
    assert github.audience_from_policy(environ, built.repo) == "riskctl"
    assert github.audience_from_policy({"RISKCTL_CONFIG": str(other)}, built.repo) == "x"


def test_token_without_a_home_to_remember_it_is_refused(issuer: _Issuer) -> None:
    """With nowhere to remember used tokens (no home, no RISKCTL_HOME), a token proves no one:
    single use cannot be enforced, so nothing is recorded."""
    from riskctl.config import LoadedConfig  # noqa: PLC0415
    from riskctl.trust.context import TrustContext  # noqa: PLC0415

    loaded = LoadedConfig(_config(issuer), Path("policy.toml"), "sha256:" + "0" * 64)
    ctx = TrustContext(loaded, None, None, None, None, {"RISKCTL_OIDC_TOKEN": issuer.token()})
    with pytest.raises(OidcError, match="needs RISKCTL_HOME"):
        ctx.prove()
