"""The policy file (``delivery.toml``): pydantic models, loading and the file digest.

Every model forbids unknown keys, so a typo is an error rather than a silently ignored policy.

Size: over ~500 lines on purpose — one pydantic model per policy table, their validators and the
loader, so the whole policy schema (a compliance contract) reads in one place, beside SPEC §4.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from riskctl.errors import ConfigError
from riskctl.model import Role, Strategy
from riskctl.riskclient import HEALTHZ, READYZ, VERSION
from riskctl.trust.keys import parse_public_key

__all__ = [
    "Analysis",
    "ApprovalRule",
    "AuditAnchors",
    "AuditWitness",
    "BreakGlass",
    "DeliveryConfig",
    "Environment",
    "GateSpec",
    "Identity",
    "LoadedConfig",
    "OidcSpec",
    "Shadow",
    "TargetSpec",
    "Window",
    "load_config",
]

#: What an environment may be called (issue 8, finding 10).
ENV_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,31}")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Model):
    """A person or bot: its roles, the git author e-mails that are theirs, the public keys that
    sign its statements (OpenSSH ``ssh-ed25519 …`` lines) and, for CI, the OIDC claims that
    identify it (:mod:`riskctl.trust.oidc`)."""

    roles: tuple[Role, ...] = Field(min_length=1)
    emails: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    oidc: tuple[dict[str, str], ...] = ()

    @field_validator("keys")
    @classmethod
    def _ssh_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for line in value:
            parse_public_key(line)
        return value


class Window(_Model):
    """A change window in local time: on ``days``, from ``start`` to ``end`` (end exclusive)."""

    days: tuple[Weekday, ...] = WEEKDAYS
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} must be after start {self.start}")
        return self


class Freeze(_Model):
    """The risk-run freeze: no prod deploys from ``start`` to ``end`` local time on sessions."""

    start: time = time(4, 0)
    end: time = time(7, 0)
    sessions_only: bool = True


class CalendarSpec(_Model):
    """Where local time and exchange sessions come from."""

    timezone: str = "America/New_York"
    exchange: str = "XNYS"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class ApprovalRule(_Model):
    """An approval a deploy needs: by one of ``roles``, recorded for ``env``."""

    id: str
    env: str
    roles: tuple[Role, ...] = Field(min_length=1)
    applies_to: Literal["all", "calculation"] = "all"
    waivable_on_fast_track: bool = False


class BreakGlass(_Model):
    """Emergency deploys outside the window: ``approvers`` distinct approvals and a reason."""

    allowed: bool = True
    approvers: int = Field(default=2, ge=2)
    roles: tuple[Role, ...] = (Role.SRE, Role.RELEASE_MANAGER, Role.RISK)


class Shadow(_Model):
    """The shadow comparison before a release takes traffic (SPEC §4, risk-aware gate).

    ``golden_set`` is relative to the policy file's directory.
    """

    enabled: bool = False
    abs_tolerance: float = Field(default=1e-6, ge=0)
    rel_tolerance: float = Field(default=1e-4, ge=0)
    golden_set: str = "delivery/golden-set.json"
    timeout_s: float = Field(default=30.0, gt=0)
    # Besides the golden set, replay up to this many recent real requests sampled by the stable
    # release (0: golden set only).
    replay_recent: int = Field(default=50, ge=0, le=500)


class Analysis(_Model):
    """Canary analysis per step (and blue-green pre-promotion): baseline comparison.

    Synthetic load from the golden set tops real traffic up to what ``min_samples`` needs
    within ``seconds``, never above ``max_load_rate`` requests per second; ``probe_rate`` is
    always sent so latency has samples. A failure is acted on as soon as it shows (checked every
    ``interval_s``); success needs the whole window.
    """

    seconds: float = Field(default=10.0, gt=0)
    interval_s: float = Field(default=1.0, gt=0)
    min_samples: int = Field(default=100, ge=1)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    max_error_increase: float = Field(default=0.01, ge=0, le=1)
    max_latency_ratio: float = Field(default=1.5, gt=1)
    min_latency_increase_ms: float = Field(default=10.0, ge=0)
    max_p99_seconds: float = Field(default=2.0, gt=0)
    # The smallest defects worth catching and the chance to catch them: they size the canary's
    # sample ("Inconclusive: n of m samples" until it is reached; riskctl.analysis.sample_size).
    detect_error_increase: float = Field(default=0.10, gt=0, le=1)
    detect_latency_ratio: float = Field(default=1.5, gt=1)
    power: float = Field(default=0.9, ge=0.5, lt=1)
    max_load_rate: float = Field(default=300.0, gt=0, le=2000)
    probe_rate: float = Field(default=20.0, ge=0, le=2000)
    pause_seconds: float = Field(default=0.0, ge=0)
    # Golden-set requests sent straight to a new instance for this long before it is shadowed
    # or analysed, so every worker's first-request costs stay out of the verdict (0: none).
    warmup_s: float = Field(default=2.0, ge=0, le=30)
    manual_pause_after: tuple[int, ...] = ()  # canary weights after which to wait for promote
    # A Prometheus server (HTTP API base URL) scraping the instances: when set, each window also
    # queries it for both slots' requests, 5xx and latency quantiles (SPEC §4: optional provider).
    prometheus_url: str | None = None


class Environment(_Model):
    """One environment and its enforced policy (SPEC §4, environments table)."""

    url: str
    port: int = Field(ge=1, le=65535)
    deployers: tuple[Role, ...] = Field(min_length=1)
    strategy: Strategy = Strategy.RECREATE
    required_gates: tuple[str, ...] = ()
    allow_unavailable: tuple[str, ...] = ()
    review_required: bool = False
    requires_deployed: tuple[str, ...] = ()
    approvals: tuple[ApprovalRule, ...] = ()
    deployer_not_author: bool = False
    deployer_not_approver: bool = False
    rollback_plan_required: bool = False
    windows: tuple[Window, ...] = ()
    freeze: bool = False
    break_glass: BreakGlass | None = None
    canary_steps: tuple[int, ...] = ()
    shadow: Shadow = Shadow()
    analysis: Analysis = Analysis()
    # Ports of the two instance slots (blue, green); default: port and port + 1.
    slot_ports: tuple[int, int] | None = None
    # Blue-green keeps the previous colour running this long, so rollback is one weight change.
    keep_previous_s: float = Field(default=0.0, ge=0)
    # The environment's store (default: a SQLite file under $RISKCTL_HOME/envs/ENV).
    database_url: str | None = None
    # /v1/* needs a bearer token here (SPEC §3): riskctl creates one for shadow and load traffic.
    bearer_token: bool = False
    monitoring: tuple[Literal["health", "metrics", "alerting"], ...] = ("health",)
    rollback: Literal["none", "manual", "automatic"] = "none"
    # Mechanisms the deployer may pick (SPEC §6a): strategies besides ``strategy`` itself, and
    # whether ``deploy --via COMMAND`` may stand in for this host's target.
    strategies: tuple[Strategy, ...] = ()
    allow_via: bool = False
    # Experimental (dev): decisions may run under an unpinned policy file, dirty releases deploy.
    experimental: bool = False

    @property
    def allowed_strategies(self) -> tuple[Strategy, ...]:
        """``strategy`` and the listed ``strategies``."""
        return (self.strategy, *(s for s in self.strategies if s != self.strategy))

    @model_validator(mode="after")
    def _sane(self) -> Environment:
        steps = self.canary_steps
        if steps and (any(not 0 < w <= 100 for w in steps) or list(steps) != sorted(set(steps))):
            raise ValueError("canary_steps must rise strictly within 1..100")
        if self.slot_ports is not None and len(set(self.slot_ports)) != 2:
            raise ValueError("slot_ports must be two different ports")
        return self

    @property
    def front_door_port(self) -> int:
        """The port of the environment's HAProxy front door (from ``url``)."""
        port = urlsplit(self.url).port
        if port is None:
            raise ConfigError(f"environment url {self.url!r} needs an explicit port")
        return port

    @property
    def ports(self) -> tuple[int, int]:
        """Instance ports of the blue and green slots."""
        return self.slot_ports or (self.port, self.port + 1)


class GateSpec(_Model):
    """A gate: commands run in the release's source tree; ``kind`` says how to judge them.

    Placeholders in commands and env: ``{python}``, ``{src}``, ``{work}``, ``{report}``, ``{lock}``.
    """

    kind: Literal["command", "coverage", "performance", "dependency-audit"] = "command"
    commands: tuple[tuple[str, ...], ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    min_coverage: float = Field(default=80.0, ge=0, le=100)
    budget_ms: float = Field(default=100.0, gt=0)
    database_url: str = "https://api.osv.dev/v1/querybatch"
    timeout_s: float = Field(default=1800.0, gt=0)
    optional_files: tuple[str, ...] = ()
    # Gate commands run sandboxed without a network; "host" shares the host's (e.g. tests that
    # need the local PostgreSQL). The performance gate always has it (it is measured over HTTP).
    network: Literal["none", "host"] = "none"

    @model_validator(mode="after")
    def _has_commands(self) -> GateSpec:
        if self.kind != "dependency-audit" and not self.commands:
            raise ValueError(f"a {self.kind} gate needs at least one command")
        return self


class FastTrack(_Model):
    """The fast track for non-calculation changes: fewer manual steps, never fewer gates."""

    enabled: bool = True
    canary_steps: tuple[int, ...] = (50, 100)


class ChangeClasses(_Model):
    """Paths (fnmatch patterns, ``*`` crosses ``/``) whose changes are calculation changes."""

    calculation_paths: tuple[str, ...] = ()
    fast_track: FastTrack = FastTrack()


class BuildSpec(_Model):
    """What ``riskctl build`` packages."""

    lock_file: str = "requirements/runtime.lock"
    builder_id: str = "https://github.com/risk-service/riskctl/build@v1"


class TargetSpec(_Model):
    """The local deploy target: how to start one instance of a release."""

    kind: Literal["local"] = "local"
    service_command: tuple[str, ...] = (
        "risk-service",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    )
    db_upgrade_command: tuple[str, ...] = ("risk-service", "db", "upgrade")
    token_command: tuple[str, ...] = (
        "risk-service",
        "token",
        "create",
        "--name",
        "{name}",
        "--scope",
        # admin (which includes compute): the shadow comparison also reads the stable release's
        # sampled requests (GET /v1/admin/request-samples). riskctl already runs every command of
        # the environment's store, so this grants it nothing it could not do.
        "admin",
    )
    health_path: str = HEALTHZ.path
    ready_path: str = READYZ.path
    version_path: str = VERSION.path
    start_timeout_s: float = Field(default=60.0, gt=0)
    # HAProxy health-check interval: a dead instance leaves the pool after two failed checks.
    check_interval_ms: int = Field(default=1000, ge=100)


class Channel(_Model):
    """A notification channel. Its URL (a secret) is read from the environment variable
    ``url_env`` at send time, never from this file; ``secret_env`` signs generic webhooks."""

    kind: Literal["slack", "webhook"]
    url_env: str
    secret_env: str | None = None
    events: tuple[str, ...] = ()  # empty: every event


class Notifications(_Model):
    """Where people are told about deploys, approvals needed and risk runs (SPEC §4)."""

    channels: tuple[Channel, ...] = ()
    attempts: int = Field(default=3, ge=1, le=10)


class AuditWitness(_Model):
    """A witness that cosigns the audit trail's checkpoints (``riskctl witness serve``); its
    ``public_key`` is its C2SP verifier key ``NAME+KEYID+BASE64`` (printed when it starts)."""

    name: str = Field(min_length=1, max_length=200)
    url: str
    public_key: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
            raise ValueError("a witness url is http(s)://HOST[:PORT]")
        return value


class AuditAnchors(_Model):
    """What anchors the audit trail outside ``$RISKCTL_HOME`` (issue 8, finding 4): the audit
    public key (``riskctl audit public-key`` prints it) and the witnesses whose cosignatures
    ``riskctl audit verify`` requires (``witness_quorum`` of them; default all)."""

    public_key: str | None = None
    witnesses: tuple[AuditWitness, ...] = ()
    witness_quorum: int | None = Field(default=None, ge=1)
    witness_timeout_s: float = Field(default=3.0, gt=0, le=30)

    @model_validator(mode="after")
    def _quorum(self) -> AuditAnchors:
        if self.witness_quorum is not None and self.witness_quorum > len(self.witnesses):
            raise ValueError("audit.witness_quorum is larger than the number of witnesses")
        names = [w.name for w in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("audit.witnesses: names must be unique")
        return self


class OidcSpec(_Model):
    """The CI platform's OIDC issuer whose tokens may prove an identity (riskctl.trust.oidc)."""

    issuer: str = "https://token.actions.githubusercontent.com"
    audience: str = "riskctl"
    # Default: the issuer's /.well-known/jwks.
    jwks_url: str | None = None
    leeway_s: float = Field(default=30.0, ge=0, le=300)


class ModelJudgeSpec(_Model):
    """The model-change judge (:mod:`riskctl.shadow.modeljudge`): before risk approves a declared
    model change, both releases backtest the environment's last ``days`` sessions."""

    enabled: bool = False
    days: int = Field(default=250, ge=20, le=2500)
    window: int = Field(default=250, ge=100, le=5000)
    timeout_s: float = Field(default=600.0, gt=0)


class DeliveryConfig(_Model):
    """The whole policy file."""

    identities: dict[str, Identity]
    environments: dict[str, Environment]
    gates: dict[str, GateSpec] = Field(default_factory=dict)
    review_roles: tuple[Role, ...] = (Role.ENGINEER, Role.QA, Role.RISK, Role.SRE)
    calendar: CalendarSpec = CalendarSpec()
    freeze: Freeze = Freeze()
    change_classes: ChangeClasses = ChangeClasses()
    build: BuildSpec = BuildSpec()
    target: TargetSpec = TargetSpec()
    declarations_file: str = "delivery/release.toml"
    clock_override: bool = False
    notifications: Notifications = Notifications()
    audit: AuditAnchors = AuditAnchors()
    oidc: OidcSpec | None = None
    model_judge: ModelJudgeSpec = ModelJudgeSpec()

    @field_validator("environments")
    @classmethod
    def _safe_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        # Names become HAProxy backend and supervisord program names and file names (finding 10).
        bad = [name for name in value if not ENV_NAME.fullmatch(name)]
        if bad:
            raise ValueError(
                f"environment names must match {ENV_NAME.pattern} (lowercase letters, digits and "
                f"inner hyphens, at most 32 characters): {', '.join(map(repr, bad))}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeliveryConfig:
        problems: list[str] = []
        seen: dict[int, str] = {}
        for name, env in self.environments.items():
            try:
                used = [env.front_door_port, *env.ports]
            except ConfigError as exc:
                problems.append(f"environments.{name}: {exc}")
                used = []
            for port in used:
                if port in seen:
                    problems.append(
                        f"environments.{name}: port {port} already used by {seen[port]}"
                    )
                seen[port] = name
            for gate in (*env.required_gates, *env.allow_unavailable):
                if gate not in self.gates:
                    problems.append(f"environments.{name}: unknown gate {gate!r}")
            for other in env.requires_deployed:
                if other not in self.environments:
                    problems.append(f"environments.{name}.requires_deployed: unknown {other!r}")
            for rule in env.approvals:
                if rule.env not in self.environments:
                    problems.append(f"environments.{name}.approvals.{rule.id}: unknown env")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def roles_of(self, actor: str) -> frozenset[Role]:
        """The roles of ``actor`` (empty when unknown)."""
        ident = self.identities.get(actor)
        return frozenset(ident.roles) if ident else frozenset()

    def public_keys(self, actor: str) -> tuple[Ed25519PublicKey, ...]:
        """The public keys that sign ``actor``'s statements (none when unknown)."""
        ident = self.identities.get(actor)
        return tuple(parse_public_key(k) for k in ident.keys) if ident else ()

    def identity_for_email(self, email: str) -> str | None:
        """The identity whose e-mails include ``email`` (case-insensitive)."""
        wanted = email.lower()
        for name, ident in self.identities.items():
            if wanted in (e.lower() for e in ident.emails):
                return name
        return None

    def environment(self, name: str) -> Environment:
        """The named environment, or a usage error listing the known ones."""
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(f"unknown environment {name!r} (known: {known})") from None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated policy file with where it came from and its digest."""

    config: DeliveryConfig
    path: Path
    digest: str


def _format_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def resolve_config_path(explicit: str | None, repo_root: Path | None) -> Path:
    """``--config``, else ``RISKCTL_CONFIG``, else ``delivery.toml`` at the repository root."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("RISKCTL_CONFIG")
    if env:
        return Path(env)
    base = repo_root if repo_root is not None else Path.cwd()
    return base / "delivery.toml"


def load_config(path: Path) -> LoadedConfig:
    """Read and validate ``path``; any problem is a one-line :class:`ConfigError`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = DeliveryConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid policy: {_format_error(exc)}") from None
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return LoadedConfig(config=config, path=path, digest=digest)
