"""The Fleet boundary: the local target and the fake implement it; the fake keeps its promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskctl.config import load_config
from riskctl.targets.fake import FakeFleet, RoutingViolationError, SimulatedCrash
from riskctl.targets.fleet import Fleet
from riskctl.targets.local import LocalTarget

REPO = Path(__file__).resolve().parents[3]


def _start(fleet: FakeFleet, slot: str, release: str, port: int) -> bool:
    return fleet.start("prod", slot, release=release, release_dir=Path("."), wheel="w",
                       port=port, variables={})  # fmt: skip


def test_local_target_and_fake_fleet_implement_the_fleet_protocol(tmp_path: Path) -> None:
    """Both implementations have every method of the Fleet interface (nothing is started)."""
    local = LocalTarget(tmp_path, load_config(REPO / "delivery.toml").config)
    assert isinstance(local, Fleet)
    assert isinstance(FakeFleet(), Fleet)


def test_fake_refuses_weight_on_a_slot_without_a_running_instance() -> None:
    """Routing weight to a slot whose instance crashed on start is a RoutingViolationError."""
    fleet = FakeFleet(crashing=frozenset({"bad"}))
    _start(fleet, "blue", "good", 8001)
    fleet.route("prod", {"blue": 8001}, {"blue": 100})
    _start(fleet, "green", "bad", 8002)
    fleet.route("prod", {"blue": 8001, "green": 8002}, {"blue": 100, "green": 0})  # allowed
    with pytest.raises(RoutingViolationError, match="slot green"):
        fleet.route("prod", {"blue": 8001, "green": 8002}, {"blue": 90, "green": 10})
    assert fleet.routed[-1] == ("prod", {"blue": 100, "green": 0})


def test_fake_refuses_stopping_a_weighted_instance_and_start_replaces_the_occupant() -> None:
    """Stopping an instance that still has weight is refused; at weight 0 it leaves the door;
    starting another release in a slot replaces the old one."""
    fleet = FakeFleet()
    assert _start(fleet, "blue", "r1", 8001)
    assert not _start(fleet, "blue", "r1", 8001)
    fleet.route("prod", {"blue": 8001}, {"blue": 100})
    with pytest.raises(RoutingViolationError, match="while it has weight 100"):
        fleet.stop("prod", "blue", "r1")
    fleet.route("prod", {"blue": 8001}, {"blue": 0})
    fleet.stop("prod", "blue", "r1")
    assert fleet.weights("prod") == {"blue": 0, "green": 0}
    assert fleet.running("prod") == {}
    _start(fleet, "green", "r1", 8002)
    _start(fleet, "green", "r2", 8002)
    assert fleet.running("prod") == {"green": "r2"}
    assert fleet.remove_orphans("prod", {"green": "r1"}) == ["riskctl-prod-green-r2"]


def test_fake_crash_injection_fires_once_before_the_chosen_call() -> None:
    """crash_at=N raises at the N-th mutating call without doing it; later calls run."""
    fleet = FakeFleet(crash_at=2)
    _start(fleet, "blue", "r1", 8001)
    with pytest.raises(SimulatedCrash):
        fleet.route("prod", {"blue": 8001}, {"blue": 100})
    assert fleet.weights("prod") == {"blue": 0, "green": 0}
    fleet.route("prod", {"blue": 8001}, {"blue": 100})
    assert fleet.weights("prod")["blue"] == 100
