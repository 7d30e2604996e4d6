"""Rendering Kubernetes manifests stays free of the local target's machinery."""

from __future__ import annotations

import subprocess
import sys

LOCAL_MACHINERY = (
    "riskctl.rollout.controller",
    "riskctl.targets.local",
    "riskctl.targets.supervisor",
    "riskctl.router.haproxy",
)


def test_render_k8s_does_not_import_the_local_controller() -> None:
    """Importing the render module loads neither the rollout controller nor HAProxy/supervisord."""
    probe = (
        "import sys, riskctl.render.k8s as k; "
        "assert k.plan_steps.__module__ == 'riskctl.rollout.plan'; "
        f"print(','.join(m for m in {LOCAL_MACHINERY!r} if m in sys.modules))"
    )
    # A fresh interpreter: this test process may already hold those modules from other tests.
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
