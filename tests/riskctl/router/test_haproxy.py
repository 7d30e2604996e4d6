"""Real HAProxy: weights, drain and addresses move traffic through the runtime API."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import httpx
import pytest

from riskctl.router.haproxy import (
    FrontDoor,
    HAProxyProcess,
    HAProxyRouter,
    parse_stat,
    render_config,
)
from riskctl.router.interface import RouterError, ServerState
from riskctl.targets.local import _short_runtime_dir

from .conftest import free_port

pytestmark = pytest.mark.integration


def _wait_up(router: HAProxyRouter, backend: str, servers: set[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        up = {s.server for s in router.stats(backend) if s.status == "UP"}
        if servers <= up:
            return
        time.sleep(0.1)
    raise AssertionError(f"servers {servers} never came UP: {router.stats(backend)}")


def _served_by(url: str, n: int) -> collections.Counter[str]:
    with httpx.Client(timeout=5) as client:
        return collections.Counter(client.get(url).headers["X-Served-By"] for _ in range(n))


def test_weights_split_traffic_and_change_at_once(
    haproxy: tuple[HAProxyProcess, FrontDoor], backends: dict[str, int]
) -> None:
    """Slots follow runtime weights exactly; a weight of 0 takes the very next request away."""
    process, door = haproxy
    router = HAProxyRouter(process.api())
    router.set_address(door.backend, "blue", "127.0.0.1", backends["one"])
    router.set_address(door.backend, "green", "127.0.0.1", backends["two"])
    for slot in ("blue", "green"):
        router.set_state(door.backend, slot, ServerState.READY)
    router.set_weight(door.backend, "blue", 100)
    router.set_weight(door.backend, "green", 0)
    _wait_up(router, door.backend, {"blue", "green"})

    assert _served_by(door.url, 50) == {"blue": 50}
    router.set_weight(door.backend, "blue", 90)
    router.set_weight(door.backend, "green", 10)
    split = _served_by(door.url, 500)
    assert 45 <= split["green"] <= 55
    router.set_weight(door.backend, "green", 0)
    assert _served_by(door.url, 50) == {"blue": 50}

    stats = {s.server: s for s in router.stats(door.backend)}
    assert stats["green"].requests == split["green"]
    assert stats["blue"].weight == 90
    assert stats["green"].weight == 0


def test_reload_keeps_runtime_weights(
    haproxy: tuple[HAProxyProcess, FrontDoor], backends: dict[str, int]
) -> None:
    """A reload re-applies the saved server state: addresses and weights survive it."""
    process, door = haproxy
    router = HAProxyRouter(process.api())
    router.set_address(door.backend, "green", "127.0.0.1", backends["two"])
    router.set_state(door.backend, "green", ServerState.READY)
    router.set_weight(door.backend, "green", 7)
    _wait_up(router, door.backend, {"green"})
    process.reload()
    router = HAProxyRouter(process.api())
    _wait_up(router, door.backend, {"green"})
    green = next(s for s in router.stats(door.backend) if s.server == "green")
    assert green.weight == 7
    assert _served_by(door.url, 10) == {"green": 10}


def test_drain_and_bad_commands(
    haproxy: tuple[HAProxyProcess, FrontDoor], backends: dict[str, int]
) -> None:
    """Drain stops new requests to a slot; unknown servers and bad weights are refused."""
    process, door = haproxy
    router = HAProxyRouter(process.api())
    for slot, name in (("blue", "one"), ("green", "two")):
        router.set_address(door.backend, slot, "127.0.0.1", backends[name])
        router.set_state(door.backend, slot, ServerState.READY)
        router.set_weight(door.backend, slot, 50)
    _wait_up(router, door.backend, {"blue", "green"})
    router.set_state(door.backend, "green", ServerState.DRAIN)
    assert _served_by(door.url, 20) == {"blue": 20}
    with pytest.raises(RouterError, match="No such"):
        router.set_weight(door.backend, "purple", 10)
    with pytest.raises(RouterError, match="0..256"):
        router.set_weight(door.backend, "blue", 300)


def test_bad_config_is_refused_and_keeps_the_old_one(tmp_path: Path) -> None:
    """An invalid configuration is rejected by haproxy -c and never installed."""
    process = HAProxyProcess(tmp_path)
    process.write_config(render_config([FrontDoor("dev", free_port())], tmp_path))
    good = process.config_path.read_text()
    with pytest.raises(RouterError, match="rejected") as refused:
        process.write_config("global\n    no-such-keyword\n")
    assert "no-such-keyword" in str(refused.value)  # HAProxy's own reason is passed on
    assert process.config_path.read_text() == good


def test_deep_home_gets_socket_paths_haproxy_accepts(tmp_path: Path) -> None:
    """A home too deep for HAProxy's 97-byte socket limit falls back to a short runtime dir.

    Regression: a 98-byte admin.sock path under a pytest temp dir was refused by haproxy -c.
    """
    deep = tmp_path / ("d" * 40) / ("e" * 40)
    runtime = _short_runtime_dir(deep)
    assert runtime != deep / "haproxy"
    assert runtime == _short_runtime_dir(deep)  # stable for the same home
    process = HAProxyProcess(runtime)
    process.write_config(render_config([FrontDoor("dev", free_port())], runtime))
    assert process.config_path.exists()
    shallow = Path("/srv/h")  # never created: only the path's length matters
    assert _short_runtime_dir(shallow) == shallow / "haproxy"


def test_missing_socket_is_a_router_error(tmp_path: Path) -> None:
    """Talking to a HAProxy that is not running gives a RouterError naming the socket."""
    process = HAProxyProcess(tmp_path)
    assert not process.running()
    with pytest.raises(RouterError, match="admin socket"):
        process.api().command("show info")


def test_parse_stat_literal() -> None:
    """show stat CSV rows of one backend become ServerStats; other proxies are ignored."""
    text = (
        "# pxname,svname,status,weight,req_tot,hrsp_5xx,eresp,econ,rtime,check_status\n"
        "be_prod,blue,UP,90,1000,3,0,0,4,L7OK\n"
        "be_prod,green,UP,10,100,7,1,0,20,L7OK\n"
        "be_prod,BACKEND,UP,100,1100,10,1,0,5,\n"
        "be_dev,blue,UP,1,5,0,0,0,1,L7OK\n"
    )
    rows = parse_stat(text, "be_prod")
    assert [(r.server, r.weight, r.requests, r.responses_5xx) for r in rows] == [
        ("blue", 90, 1000, 3),
        ("green", 10, 100, 7),
    ]


def test_second_haproxy_on_the_same_port_fails_loudly(
    haproxy: tuple[HAProxyProcess, FrontDoor], tmp_path: Path
) -> None:
    """noreuseport: a second HAProxy cannot silently share a front door's port."""
    _, door = haproxy
    other = HAProxyProcess(tmp_path / "other")
    other.write_config(render_config([door], other.runtime_dir))
    with pytest.raises(RouterError, match="could not start"):
        other.start()
    assert not other.running()
