"""The sample of recent real requests (riskctl's shadow replay): what is kept, the bound, the
endpoint and its auth, and the migration that adds the table."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import structlog
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from risk_service.api import sampling
from risk_service.api.sampling import MAX_PENDING, RequestSampler
from risk_service.auth import Scope, create_token
from risk_service.store import database, repository
from risk_service.store.models import RequestSample

from .conftest import LiveServer, Store, settings_for

RETURNS = [0.01, -0.02, 0.015, -0.03, 0.004, -0.011, 0.02, -0.007]
NOW = dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC)
PATH = "/v1/admin/request-samples"


def _var_body(k: int) -> dict[str, Any]:
    """A distinct valid /v1/var body per ``k``."""
    return {"returns": [r * (1 + k / 100) for r in RETURNS], "confidence": 0.9}


def _count(store: Store) -> int:
    with store.factory() as session:
        return int(session.scalar(select(func.count()).select_from(RequestSample)) or 0)


def _sampler(store: Store, *, keep: int = 100, every: int = 1, max_bytes: int = 65536) -> Any:
    return RequestSampler(store.factory, keep=keep, every=every, max_bytes=max_bytes)


def _offer(sampler: RequestSampler, body: bytes, status: int = 200) -> bool:
    return sampler.offer("POST", "/v1/var", body, status, NOW)


# --- the store: bounded, newest first ----------------------------------------------------------


def test_store_keeps_only_the_newest_rows(store: Store) -> None:
    """Each write prunes to the newest ``keep`` rows; reads come newest first."""
    for k in range(7):
        with database.transaction(store.factory) as session:
            repository.add_request_sample(
                session, method="POST", path="/v1/var", body={"k": k}, status=200,
                received_at=NOW + dt.timedelta(seconds=k), keep=3,
            )  # fmt: skip
        assert _count(store) == min(k + 1, 3)
    with store.factory() as session:
        rows = repository.recent_request_samples(session, 10)
        two = repository.recent_request_samples(session, 2)
    assert [r.body["k"] for r in rows] == [6, 5, 4]
    assert [r.body["k"] for r in two] == [6, 5]


def test_lowering_the_bound_prunes_on_the_next_write(store: Store) -> None:
    """A smaller configured bound takes effect at the next write (never more rows than it)."""
    for k in range(5):
        with database.transaction(store.factory) as session:
            repository.add_request_sample(
                session, method="POST", path="/v1/var", body={"k": k}, status=200,
                received_at=NOW, keep=10,
            )  # fmt: skip
    with database.transaction(store.factory) as session:
        repository.add_request_sample(
            session, method="POST", path="/v1/var", body={"k": 5}, status=200,
            received_at=NOW, keep=2,
        )  # fmt: skip
    with store.factory() as session:
        assert [r.body["k"] for r in repository.recent_request_samples(session, 10)] == [5, 4]


@pytest.mark.postgres
def test_concurrent_writers_never_exceed_the_bound_on_postgresql(pg_store: Store) -> None:
    """Four writers at once on PostgreSQL: the table ends at the bound, never above it."""
    keep = 10
    seen: list[int] = []

    def writer(w: int) -> None:
        for k in range(25):
            with database.transaction(pg_store.factory) as session:
                repository.add_request_sample(
                    session, method="POST", path="/v1/var", body={"w": w, "k": k}, status=200,
                    received_at=NOW, keep=keep,
                )  # fmt: skip
            seen.append(_count(pg_store))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(seen) == 100
    assert max(seen) <= keep
    assert _count(pg_store) == keep


# --- the sampler: which requests, how often, never failing -------------------------------------


def test_one_in_n_successful_requests_is_kept(store: Store) -> None:
    """With every=3, requests 3, 6 and 9 of nine successful ones are kept."""
    sampler = _sampler(store, every=3)
    kept = [_offer(sampler, f'{{"k": {k}}}'.encode()) for k in range(1, 10)]
    sampling.flush()
    assert kept == [False, False, True] * 3
    with store.factory() as session:
        assert [r.body["k"] for r in repository.recent_request_samples(session, 10)] == [9, 6, 3]


def test_errors_are_not_sampled_and_not_counted(store: Store) -> None:
    """4xx/5xx answers are never kept and do not advance the one-in-N counter."""
    sampler = _sampler(store, every=2)
    assert not _offer(sampler, b'{"k": 1}', 422)
    assert not _offer(sampler, b'{"k": 2}', 500)
    assert not _offer(sampler, b'{"k": 3}', 200)
    assert _offer(sampler, b'{"k": 4}', 200)
    sampling.flush()
    with store.factory() as session:
        assert [r.body["k"] for r in repository.recent_request_samples(session, 10)] == [4]


def test_oversized_and_non_object_bodies_are_not_kept(store: Store) -> None:
    """A body above max_bytes is skipped; a JSON body that is not an object is not stored."""
    sampler = _sampler(store, max_bytes=32)
    assert not _offer(sampler, b'{"returns": [' + b"0.1," * 20 + b"0.1]}")
    assert _offer(sampler, b"[1, 2]")
    sampling.flush()
    assert _count(store) == 0


def test_only_calculation_endpoints_without_riskctl_headers_are_wanted(store: Store) -> None:
    """POST /v1/var and /v1/portfolio/var are candidates; riskctl's shadow and load are not."""
    sampler = _sampler(store)
    assert sampler.wants("POST", "/v1/var", [])
    assert sampler.wants("POST", "/v1/portfolio/var", [(b"authorization", b"Bearer x")])
    assert not sampler.wants("GET", "/v1/runs/2026-11-25", [])
    assert not sampler.wants("POST", PATH, [])
    assert not sampler.wants("POST", "/v1/var", [(b"x-riskctl-shadow", b"1")])
    assert not sampler.wants("POST", "/v1/var", [(b"X-Riskctl-Load", b"1")])


@pytest.mark.parametrize(("keep", "every", "max_bytes"), [(0, 10, 100), (200, 0, 100), (5, 1, 0)])
def test_zero_disables_sampling(store: Store, keep: int, every: int, max_bytes: int) -> None:
    """A zero size, rate or byte bound switches sampling off."""
    sampler = _sampler(store, keep=keep, every=every, max_bytes=max_bytes)
    assert not sampler.enabled
    assert not sampler.wants("POST", "/v1/var", [])


def test_a_failing_write_is_logged_without_the_body_and_never_raised(sqlite_url: str) -> None:
    """On a store without the table the write fails: a warning without the body, no exception."""
    engine = database.make_engine(sqlite_url)  # never migrated
    sampler = RequestSampler(database.session_factory(engine), keep=5, every=1, max_bytes=1000)
    with structlog.testing.capture_logs() as logs:
        assert _offer(sampler, b'{"positions": {"SECRET-BOOK": 1.0}}')
        sampling.flush()
    engine.dispose()
    failures = [e for e in logs if e["event"] == "request_sample_not_recorded"]
    assert len(failures) == 1, logs
    assert failures[0]["log_level"] == "warning"
    assert "SECRET-BOOK" not in repr(failures[0])


def test_a_slow_store_never_holds_up_requests(store: Store) -> None:
    """While the writer is stuck, offers return at once and beyond MAX_PENDING are dropped."""
    gate = threading.Event()

    def stuck() -> Session:
        gate.wait(30)
        raise RuntimeError("store unavailable")

    sampler = RequestSampler(cast(sessionmaker[Session], stuck), keep=5, every=1, max_bytes=1000)
    try:
        with structlog.testing.capture_logs() as logs:
            accepted = [_offer(sampler, b'{"k": 1}') for _ in range(MAX_PENDING + 5)]
            assert accepted.count(True) == MAX_PENDING
            assert accepted[-5:] == [False] * 5
            gate.set()
            sampling.flush()
    finally:
        gate.set()
    assert sum(e["event"] == "request_sample_dropped" for e in logs) == 5
    assert sum(e["event"] == "request_sample_not_recorded" for e in logs) == MAX_PENDING
    assert _offer(sampler, b'{"k": 2}'), "the backlog drained, so writes are accepted again"
    sampling.flush()


def test_samples_arriving_during_a_write_go_in_one_transaction(store: Store) -> None:
    """Samples are collected and written together: at most two sessions (the first sample may
    be taken alone) for twenty-one samples, all of them stored (and the bound still holds)."""
    gate = threading.Event()
    sessions: list[int] = []

    def counting() -> Session:
        sessions.append(1)
        if len(sessions) == 1:
            gate.wait(30)
        return store.factory()

    sampler = RequestSampler(
        cast(sessionmaker[Session], counting), keep=15, every=1, max_bytes=1000
    )
    try:
        assert all(_offer(sampler, f'{{"k": {i}}}'.encode()) for i in range(21))
    finally:
        gate.set()
    sampling.flush()
    assert 1 <= len(sessions) <= 2
    with store.factory() as session:
        kept = [r.body["k"] for r in repository.recent_request_samples(session, 100)]
    assert kept == list(range(20, 5, -1))  # the newest 15, newest first


def _wait_for(store: Store, rows: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _count(store) >= rows:
            return True
        time.sleep(0.02)
    return False


def test_collected_samples_are_written_without_a_flush(store: Store) -> None:
    """Nobody flushing: a lone sample is still written once the collecting time is over."""
    sampler = _sampler(store)
    assert _offer(sampler, b'{"alone": 1}')
    assert _wait_for(store, 1)
    sampling.flush()


def test_a_full_batch_is_written_at_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """BATCH_SAMPLES waiting end the collecting at once, however long it may last."""
    monkeypatch.setattr(sampling, "BATCH_SECONDS", 60.0)
    sampler = _sampler(store)
    assert all(_offer(sampler, f'{{"k": {i}}}'.encode()) for i in range(sampling.BATCH_SAMPLES))
    assert _wait_for(store, sampling.BATCH_SAMPLES)
    sampling.flush()


def test_a_body_too_deep_to_parse_is_logged_and_the_writer_goes_on(store: Store) -> None:
    """A sample the JSON parser gives up on (nesting beyond its recursion limit) is logged and
    dropped; the samples after it are still written."""
    sampler = _sampler(store, max_bytes=10**6)
    deep = b"[" * 200_000 + b"]" * 200_000
    with structlog.testing.capture_logs() as logs:
        assert _offer(sampler, deep)
        assert _offer(sampler, b'{"after": 1}')
        sampling.flush()
    assert [e["event"] for e in logs] == ["request_sample_not_recorded"]
    assert _count(store) == 1


# --- over HTTP: a real uvicorn server ----------------------------------------------------------


@pytest.fixture
def sampling_server(store: Store) -> Iterator[tuple[LiveServer, Store]]:
    """A dev server that keeps every successful request, three at most."""
    settings = settings_for(store.url, request_sample_every=1, request_sample_size=3)
    with LiveServer(settings) as server:
        yield server, store


@pytest.mark.integration
def test_real_requests_are_listed_newest_first(sampling_server: tuple[LiveServer, Store]) -> None:
    """Five /v1/var calls: the endpoint lists the newest three, bodies as sent, newest first."""
    server, store = sampling_server
    with server.client() as c:
        for k in range(5):
            assert c.post("/v1/var", json=_var_body(k)).status_code == 200
        sampling.flush()
        r = c.get(PATH)
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["sample_size"], data["sample_every"]) == (3, 1)
    assert [s["body"] for s in data["samples"]] == [_var_body(k) for k in (4, 3, 2)]
    first = data["samples"][0]
    assert (first["method"], first["path"], first["status"]) == ("POST", "/v1/var", 200)
    received = dt.datetime.fromisoformat(first["received_at"])
    assert received.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - received) < dt.timedelta(minutes=5)
    assert _count(store) == 3


@pytest.mark.integration
def test_riskctl_traffic_and_errors_are_not_sampled(
    sampling_server: tuple[LiveServer, Store],
) -> None:
    """Shadow replay, synthetic load, 4xx answers and oversized bodies leave no sample."""
    server, store = sampling_server
    with server.client() as c:
        assert c.post("/v1/var", json=_var_body(1), headers={"X-Riskctl-Shadow": "1"}).is_success
        assert c.post("/v1/var", json=_var_body(2), headers={"X-Riskctl-Load": "1"}).is_success
        assert c.post("/v1/var", json={"returns": []}).status_code == 422
        assert c.post("/v1/var", json={"returns": [0.1], "confidence": 2}).status_code == 422
        assert c.post("/v1/portfolio/var", json={"positions": {"ZZZ": 1.0}}).status_code >= 400
        sampling.flush()
        assert c.get(PATH).json()["samples"] == []
        assert c.post("/v1/portfolio/var", json={
            "positions": {"A": 1e6, "B": -5e5}, "returns": {"A": RETURNS, "B": RETURNS[::-1]},
        }).is_success  # fmt: skip
        sampling.flush()
        paths = [s["path"] for s in c.get(PATH).json()["samples"]]
    assert paths == ["/v1/portfolio/var"]
    assert _count(store) == 1


@pytest.mark.integration
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "2.5"])
def test_limit_out_of_bounds_is_422_with_the_error_body(
    sampling_server: tuple[LiveServer, Store], limit: str
) -> None:
    """?limit outside 1..500 (or not an integer) is 422 with the SPEC's error body naming it."""
    server, _ = sampling_server
    with server.client() as c:
        r = c.get(PATH, params={"limit": limit})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["field"] == "limit"


@pytest.mark.integration
def test_limit_caps_the_answer(sampling_server: tuple[LiveServer, Store]) -> None:
    """?limit=2 returns two samples; the default and the maximum are accepted."""
    server, _ = sampling_server
    with server.client() as c:
        for k in range(3):
            c.post("/v1/var", json=_var_body(k))
        sampling.flush()
        assert len(c.get(PATH, params={"limit": 2}).json()["samples"]) == 2
        assert len(c.get(PATH, params={"limit": 500}).json()["samples"]) == 3
        assert len(c.get(PATH).json()["samples"]) == 3


@pytest.fixture
def prod_sampling_server(store: Store) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A prod server sampling every request, with one token per scope."""
    tokens = {s.value: create_token(store.factory, f"t-{s.value}", s) for s in Scope}
    settings = settings_for(store.url, "prod", request_sample_every=1)
    with LiveServer(settings) as server:
        yield server, tokens


@pytest.mark.integration
@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("garbage", 401), ("read", 403), ("compute", 403), ("admin", 200)],
)
def test_prod_needs_an_admin_token(
    prod_sampling_server: tuple[LiveServer, dict[str, str]], token: str | None, status: int
) -> None:
    """In prod the sample holds callers' positions: 401 without a token, 403 below admin."""
    server, tokens = prod_sampling_server
    headers = {} if token is None else {"Authorization": f"Bearer {tokens.get(token, token)}"}
    with server.client() as c:
        r = c.get(PATH, headers=headers)
    assert r.status_code == status, r.text
    if status >= 400:
        assert set(r.json()["error"]) == {"code", "message", "field"}
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.integration
def test_prod_samples_authenticated_calls_and_lists_them_to_admin(
    prod_sampling_server: tuple[LiveServer, dict[str, str]],
) -> None:
    """A compute caller's request is sampled (its token is not stored); admin lists it."""
    server, tokens = prod_sampling_server
    with server.client() as c:
        auth = {"Authorization": f"Bearer {tokens['compute']}"}
        assert c.post("/v1/var", json=_var_body(7), headers=auth).status_code == 200
        assert c.post("/v1/var", json=_var_body(8)).status_code == 401
        sampling.flush()
        r = c.get(PATH, headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert [s["body"] for s in r.json()["samples"]] == [_var_body(7)]
    assert tokens["compute"] not in r.text


@pytest.mark.integration
def test_a_scope_this_release_does_not_know_is_refused_not_a_500(
    prod_sampling_server: tuple[LiveServer, dict[str, str]], store: Store
) -> None:
    """A token whose stored scope came from a newer release gets 401, never a server error."""
    server, _ = prod_sampling_server
    token = create_token(store.factory, "from-the-future", Scope.ADMIN)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET scope = 'auditor' WHERE name = 'from-the-future'"))
    with server.client() as c:
        r = c.get(PATH, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text


# --- the migration: up, down, expand only ------------------------------------------------------


def _columns(url: str) -> dict[str, list[tuple[str, str, bool]]]:
    """Every table's columns (name, type, nullable), for comparing schemas."""
    engine = database.make_engine(url)
    try:
        found = inspect(engine)
        return {
            table: [
                (c["name"], str(c["type"]), bool(c["nullable"])) for c in found.get_columns(table)
            ]
            for table in found.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def check_samples_migration(url: str) -> None:
    """0001 → 0002 only adds the table (expand only), keeps data; 0002 → 0001 removes only it."""
    engine = database.make_engine(url)
    try:
        database.upgrade(engine, "0001")
        before = _columns(url)
        factory = database.session_factory(engine)
        create_token(factory, "kept", Scope.READ)
        # To 0002 itself: later revisions (e.g. 0004's store_environment) add their own tables.
        database.upgrade(engine, "0002")
        assert "0002" in database.known_revisions()
        assert database.current_revision(engine) == "0002"
        after = _columns(url)
        assert set(after) - set(before) == {"request_samples"}
        assert {t: after[t] for t in before} == before, "an existing table changed"
        with database.transaction(factory) as session:
            repository.add_request_sample(
                session, method="POST", path="/v1/var", body={"returns": [0.1]}, status=200,
                received_at=NOW, keep=5,
            )  # fmt: skip
        with factory() as session:
            assert repository.recent_request_samples(session, 5)[0].body == {"returns": [0.1]}
        database.downgrade(engine, "0001")
        assert database.current_revision(engine) == "0001"
        assert _columns(url) == before
        with factory() as session:
            assert repository.active_token_by_name(session, "kept") is not None
        database.upgrade(engine)
        assert "request_samples" in _columns(url)
    finally:
        engine.dispose()


def test_samples_migration_up_and_down_on_sqlite(sqlite_url: str) -> None:
    """SQLite: the request-samples revision applies, reverts and re-applies; nothing else moves."""
    check_samples_migration(sqlite_url)


@pytest.mark.postgres
def test_samples_migration_up_and_down_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL: the request-samples revision applies, reverts and re-applies."""
    check_samples_migration(postgres_url)


@pytest.mark.postgres
def test_samples_round_trip_json_bodies_on_postgresql(pg_store: Store) -> None:
    """PostgreSQL stores nested JSON bodies and times in UTC exactly as given."""
    body = {"positions": {"A": 1e6, "B": -2.5e5}, "returns": {"A": [0.01], "B": [-0.02]}}
    with database.transaction(pg_store.factory) as session:
        repository.add_request_sample(
            session, method="POST", path="/v1/portfolio/var", body=body, status=200,
            received_at=NOW, keep=5,
        )  # fmt: skip
    with pg_store.factory() as session:
        row = repository.recent_request_samples(session, 1)[0]
    assert (row.body, row.received_at, row.status) == (body, NOW, 200)
