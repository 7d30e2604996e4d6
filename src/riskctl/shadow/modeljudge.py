"""The model-change judge: before risk management approves a declared model change, both the
stable release and the new one replay the same history, side by side.

Each release runs its own ``risk-service backtest`` (riskctl treats the service as a black box:
the release's virtualenv and command line) against the environment's store, so both models
forecast the same last ``days`` sessions from the same data. The evidence, bank book first:
VaR 99 % exceptions and the Basel traffic-light zone, Kupiec and Christoffersen p-values, the
Acerbi–Székely Z2 test, the PLA test of each model's risk-theoretical P&L against the hypothetical
P&L, the desks outside MAR32's limits — and the PLA statistics (Spearman, KS) of the new model's
RTPL against the stable one's.

Verdict (:func:`judge`, pure): **blocked** when the new model moves the bank into a worse
traffic-light zone, fails PLA (bank book in the red zone, or more desks in it than before), or
when the evidence cannot be formed (a replay failed: fail closed); **passed** otherwise. A blocked
change is approved only when risk management accepts it explicitly, with a reason; the evidence
and the acceptance go into the audit trail (``model_change.judged``, ``model_change.approved``)
and the compliance report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskctl.errors import RiskctlError
from riskctl.policy import Check

if TYPE_CHECKING:
    from riskctl.model import Release
    from riskctl.usecases.context import Context as Session

__all__ = [
    "JUDGED",
    "Judgement",
    "Row",
    "approval_check",
    "evaluate",
    "judge",
    "render",
    "rtpl_comparison",
    "run_backtest",
]

#: Audit action of a judgement.
JUDGED = "model_change.judged"
_ZONES = ("green", "yellow", "red")
_PLA_ZONES = ("green", "amber", "red")
_OUTPUT_LIMIT = 2_000  # characters of a failed replay's stderr kept as evidence


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side table."""

    metric: str
    stable: str
    new: str


@dataclass(frozen=True)
class Judgement:
    """The evidence and the verdict on one declared model change."""

    release: str
    baseline: str | None
    verdict: str  # "passed" | "blocked"
    reasons: tuple[str, ...]
    rows: tuple[Row, ...] = ()
    window: dict[str, Any] = field(default_factory=dict)
    rtpl_vs_stable: dict[str, float] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        """The change may not be approved without an explicit acceptance."""
        return self.verdict == "blocked"

    def summary(self) -> str:
        """One line for messages."""
        if not self.blocked:
            return "model-change judge: passed (" + "; ".join(self.reasons) + ")"
        return "model-change judge: BLOCKED — " + "; ".join(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (audit details, ``--json``)."""
        return {
            "release": self.release,
            "baseline": self.baseline,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "rows": [[r.metric, r.stable, r.new] for r in self.rows],
            "window": dict(self.window),
            "rtpl_vs_stable": dict(self.rtpl_vs_stable),
        }


def run_backtest(
    venv: Path, variables: Mapping[str, str], *, days: int, window: int, timeout: float
) -> tuple[dict[str, Any] | None, str]:
    """The release's own ``risk-service backtest`` on the environment's store: (JSON, "") or
    (None, why it failed). Bounded by ``timeout``; never raises for what the release does."""
    command = [
        str(venv / "bin" / "risk-service"),
        "backtest",
        "--days",
        str(days),
        "--window",
        str(window),
    ]
    try:
        done = subprocess.run(  # noqa: S603 - the release's own CLI, fixed arguments
            command,
            env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", **variables},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"risk-service backtest did not finish within {timeout:g} s"
    except OSError as exc:
        return None, f"risk-service backtest could not start: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-_OUTPUT_LIMIT:]
        return None, f"risk-service backtest exited {done.returncode}: {detail}"
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return None, "risk-service backtest did not print JSON (a release without the command?)"
    if not isinstance(data, dict) or not isinstance(data.get("bank"), dict):
        return None, "risk-service backtest printed no bank figures"
    return data, ""


def rtpl_comparison(stable: Sequence[float], new: Sequence[float]) -> dict[str, float]:
    """Spearman correlation and KS distance of the new model's RTPL against the stable one's
    (scipy's tested statistics, as the engine's PLA test uses)."""
    from scipy import stats  # noqa: PLC0415 - only the judge needs scipy

    if len(stable) != len(new) or len(stable) < 3:
        return {}
    if len(set(stable)) < 2 or len(set(new)) < 2:
        return {}
    return {
        "spearman": float(stats.spearmanr(stable, new).statistic),
        "ks": float(stats.ks_2samp(stable, new).statistic),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _desks(data: Mapping[str, Any], key: str, bad: Sequence[Any]) -> int:
    return sum(1 for d in (data.get("desks") or {}).values() if d.get(key) in bad)


def _rows(stable: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[Row, ...]:
    def side(data: Mapping[str, Any] | None, pick: Any) -> str:
        return "—" if data is None else _fmt(pick(data))

    def bank(key: str) -> Any:
        return lambda d: d["bank"].get(key)

    spec: list[tuple[str, Any]] = [
        ("bank: VaR 99 % exceptions", bank("exceptions_99")),
        ("bank: traffic-light zone", bank("traffic_light")),
        ("bank: Kupiec POF p-value", bank("kupiec_p_value")),
        ("bank: Christoffersen independence p", bank("christoffersen_p_value_ind")),
        ("bank: Christoffersen cond. coverage p", bank("christoffersen_p_value_cc")),
        ("bank: Acerbi–Székely Z2", bank("z2")),
        ("bank: Z2 p-value", bank("z2_p_value")),
        ("bank: VaR 97.5 % exceptions", bank("exceptions_975")),
        ("bank: PLA Spearman (RTPL vs HPL)", bank("pla_spearman")),
        ("bank: PLA KS (RTPL vs HPL)", bank("pla_ks")),
        ("bank: PLA zone", bank("pla_zone")),
        ("desks in the yellow or red zone", lambda d: _desks(d, "traffic_light", _ZONES[1:])),
        ("desks over MAR32 exception limits", lambda d: _desks(d, "desk_eligible", (False,))),
        ("desks in the PLA red zone", lambda d: _desks(d, "pla_zone", ("red",))),
    ]
    return tuple(Row(metric, side(stable, pick), side(new, pick)) for metric, pick in spec)


def _rank(order: Sequence[str], value: Any) -> int:
    return order.index(value) if value in order else len(order)  # unknown: worst


def judge(
    release: str,
    baseline: str | None,
    stable: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    errors: Mapping[str, str] | None = None,
) -> Judgement:
    """The verdict on ``new`` against ``stable`` (``None`` with no stable release: judged against
    a green bank with no PLA failure); ``errors`` say why a replay is missing."""
    problems = [f"{who}: {why}" for who, why in (errors or {}).items() if why]
    if new is None or (baseline is not None and stable is None) or problems:
        missing = problems or ["no backtest evidence could be formed"]
        return Judgement(release, baseline, "blocked", ("no evidence: " + missing[0], *missing[1:]))
    old_zone = stable["bank"].get("traffic_light") if stable else "green"
    new_zone = new["bank"].get("traffic_light")
    old_red = _desks(stable, "pla_zone", ("red",)) if stable else 0
    new_red = _desks(new, "pla_zone", ("red",))
    reasons: list[str] = []
    if _rank(_ZONES, new_zone) > _rank(_ZONES, old_zone):
        amber = " (amber)" if new_zone == "yellow" else ""
        reasons.append(f"the bank's traffic light would move from {old_zone} to {new_zone}{amber}")
    if _rank(_PLA_ZONES, new["bank"].get("pla_zone")) >= _rank(_PLA_ZONES, "red"):
        reasons.append("the new model fails PLA on the bank book (red zone)")
    if new_red > old_red:
        reasons.append(f"desks in the PLA red zone would rise from {old_red} to {new_red}")
    verdict = "blocked" if reasons else "passed"
    if not reasons:
        reasons = [f"traffic light {old_zone} → {new_zone}, PLA {new['bank'].get('pla_zone')}"]
    window = {k: new.get(k) for k in ("days", "window", "first_day", "as_of", "positions_date")}
    rtpl = (
        rtpl_comparison(stable["bank"].get("rtpl") or [], new["bank"].get("rtpl") or [])
        if stable
        else {}
    )
    return Judgement(release, baseline, verdict, tuple(reasons), _rows(stable, new), window, rtpl)


def render(details: Mapping[str, Any]) -> list[str]:
    """A judgement's JSON form (as audited) as Markdown lines: verdict, window, the table."""
    lines = [f"Verdict: **{str(details.get('verdict', '?')).upper()}** — "
             + "; ".join(str(r) for r in details.get("reasons", []))]  # fmt: skip
    window = details.get("window") or {}
    if window:
        lines.append(
            f"Both models replayed the same {window.get('days')} sessions "
            f"({window.get('first_day')} … {window.get('as_of')}, scenario window "
            f"{window.get('window')} days, positions of {window.get('positions_date')})."
        )
    rows = details.get("rows") or []
    if rows:
        baseline = details.get("baseline") or "no stable release"
        lines += ["", f"| metric | stable ({baseline}) | new ({details.get('release')}) |"]
        lines.append("|---|---|---|")
        lines += [f"| {m} | {s} | {n} |" for m, s, n in rows]
    rtpl = details.get("rtpl_vs_stable") or {}
    if rtpl:
        lines += [
            "",
            f"New RTPL against the stable model's: Spearman {rtpl['spearman']:.4f}, "
            f"KS {rtpl['ks']:.4f}.",
        ]
    return lines


def evaluate(session: Session, release: Release, env: str) -> Judgement | None:
    """Judge ``release``'s declared model change in ``env`` when the policy enables the judge:
    both releases replay the environment's store; the judgement is recorded (``JUDGED``).
    ``None`` when the judge is disabled."""
    from riskctl.targets.releasedir import ensure_venv  # noqa: PLC0415
    from riskctl.usecases.deploys import service_variables  # noqa: PLC0415 - not at import

    spec = session.config.model_judge
    if not spec.enabled:
        return None
    ledger = session.ledger()
    stable_id = ledger.current.get(env)
    stable = ledger.release(stable_id) if stable_id and stable_id != release.id else None
    (session.home / "envs" / env).mkdir(parents=True, exist_ok=True)
    replays: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for label, rel in (("stable", stable), ("new", release)):
        if rel is None:
            continue
        who = f"{label} release {rel.id}"
        try:
            venv = ensure_venv(session.home / "releases" / rel.id, rel.wheel, digest=rel.digest)
        except (RiskctlError, OSError) as exc:
            errors[who] = f"no environment to run it: {exc}"
            continue
        data, why = run_backtest(
            venv,
            service_variables(session, env, rel),
            days=spec.days,
            window=spec.window,
            timeout=spec.timeout_s,
        )
        if data is None:
            errors[who] = why
        else:
            replays[label] = data
    judgement = judge(
        release.id,
        stable.id if stable else None,
        replays.get("stable"),
        replays.get("new"),
        errors=errors,
    )
    entry = session.record(JUDGED, release=release.digest, env=env, details=judgement.as_dict())
    # The evidence goes to stderr (stdout may be JSON) before any refusal message.
    print(
        f"model-change judge, {env} (audit #{entry.get('seq', '?')}):\n"
        + "\n".join(render(judgement.as_dict())),
        file=sys.stderr,
    )
    return judgement


def approval_check(judgement: Judgement | None, accepted: str | None) -> Check:
    """The judge's line in a model-change approval: it passes unless the change is blocked and
    risk management has not accepted it explicitly (``accepted``: their reason)."""
    if judgement is None:
        return Check("model-judge", True, "the model-change judge is disabled by the policy")
    if not judgement.blocked:
        return Check("model-judge", True, judgement.summary())
    if accepted:
        return Check("model-judge", True, f"{judgement.summary()}; accepted by risk: {accepted}")
    return Check(
        "model-judge",
        False,
        f"{judgement.summary()}; risk may accept it explicitly with --accept-judgement REASON",
    )
