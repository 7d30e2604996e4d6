"""The demo's anchors: a witness beside the demo home, pinned with the audit key in a policy
that loads; `--clean` stops the witness."""

from __future__ import annotations

import os
from pathlib import Path

from riskctl.audit.anchors import anchors_from_policy
from riskctl.config import load_config
from riskctl.demo.anchors import WITNESS_NAME, anchor_policy, stop_witness
from riskctl.demo.policy import demo_policy

ROOT = Path(__file__).resolve().parents[3]


def test_demo_pins_its_audit_key_and_a_running_witness(tmp_path: Path) -> None:
    """The policy pins the home's audit key and the witness's key; the witness answers, lives
    outside the home, and is stopped by its pid file."""
    work, home = tmp_path / "work", tmp_path / "work" / "home"
    section = anchor_policy(work, home)
    pid = int((work / "witness" / "witness.pid").read_text(encoding="utf-8"))
    try:
        policy = tmp_path / "policy.toml"
        policy.write_text(demo_policy(ROOT / "delivery.toml") + section, encoding="utf-8")
        pins = anchors_from_policy(load_config(policy).config.audit)
        assert pins.anchored
        (witness,) = pins.witnesses
        assert witness.name == WITNESS_NAME
        assert (home / "keys" / "audit.key").exists()
        assert not list(home.rglob("witness.key"))  # the witness's key is not in the home
        os.kill(pid, 0)  # running
    finally:
        stop_witness(work)
    try:
        os.kill(pid, 0)
    except OSError:
        return
    raise AssertionError("the witness still runs after stop_witness")
