"""A real ``riskctl witness serve`` process on a free loopback port, in its own directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.riskctl.conftest import distinct_ports


@dataclass
class WitnessProcess:
    """A running witness: its URL, directory and verifier key (printed on stdout)."""

    url: str
    home: Path
    vkey: str
    process: subprocess.Popen[str]
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_witness(home: Path, logs: list[str], port: int | None = None) -> WitnessProcess:
    """Start a witness for ``logs`` (verifier keys) and wait until it accepts connections."""
    port = port or distinct_ports(["witness"])["witness"]
    args = [sys.executable, "-m", "riskctl", "witness", "serve", "--port", str(port)]
    args += ["--home", str(home), "--name", "test-witness"]
    for log in logs:
        args += ["--log", log]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKCTL_")}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert process.stdout is not None
    vkey = process.stdout.readline().strip()  # printed once the key is loaded
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the witness did not start") from None
            time.sleep(0.05)
    return WitnessProcess(f"http://127.0.0.1:{port}", home, vkey, process, port)


@pytest.fixture
def witness_factory(tmp_path: Path) -> Iterator[Callable[..., WitnessProcess]]:
    """Start witnesses; every one is stopped at the end of the test."""
    started: list[WitnessProcess] = []

    def make(logs: list[str], name: str = "witness", port: int | None = None) -> WitnessProcess:
        w = start_witness(tmp_path / name, logs, port)
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop()
