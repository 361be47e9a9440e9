"""The test harness: real Postgres and Redis, started once per session in throwaway directories.

Tests are isolated by workspace (every object belongs to one), so they share one database; a
test that needs an empty database asks for `fresh_database_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.db import create_engine, create_sessionmaker
from api.leases.models import LeaderLease
from api.settings import Settings
from api.workspaces.service import WorkspaceService
from skiff.local.services import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent
# A fixed key (32 bytes of 0x01) so that runs are repeatable; tests of rotation add their own.
TEST_SECRET_KEYS = "test1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="


@pytest.fixture(scope="session")
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="skiff-test-"))
    path.chmod(0o755)  # Postgres runs as an unprivileged user and must reach its data directory
    yield path
    if not os.environ.get("SKIFF_TEST_KEEP_STATE"):  # set it to read the processes' logs afterwards
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def open_tmp(state_dir: Path) -> Path:
    """A fresh directory every user may enter, unlike tmp_path: agents keep their state here, and
    their sandboxes, running as other users, must reach the files they bind from it."""
    path = Path(tempfile.mkdtemp(prefix="t-", dir=state_dir))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def postgres(state_dir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(
        name="postgres",
        log_path=state_dir / "postgres.log",
        data_dir=state_dir / "pg" / "data",
        durable=False,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(state_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(name="redis", log_path=state_dir / "redis.log", data_dir=state_dir / "redis")
    server.start()
    yield server
    server.stop()


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "api", "migrate"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "SKIFF_DATABASE_URL": database_url},
    )


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> str:
    migrate(postgres.url)
    return postgres.url


@pytest.fixture
def fresh_database_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of its own, for tests of migrations and whole-database behaviour."""
    name = "t_" + request.node.name.lower().translate({ord(c): "_" for c in "[]-./ "})[:40]
    base = f"-h 127.0.0.1 -p {postgres.port} -U skiff".split()
    subprocess.run(["psql", *base, "-d", "skiff", "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    yield postgres.url.rsplit("/", 1)[0] + "/" + name
    subprocess.run(
        ["psql", *base, "-d", "skiff", "-c", f'DROP DATABASE "{name}" WITH (FORCE)'],
        check=False,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def settings(database_url: str, redis_server: RedisServer, state_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_server.url,
        blob_url=f"file://{state_dir / 'blobs'}",
        token_touch_interval_seconds=0,
        secret_keys=TEST_SECRET_KEYS,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop behind httpx's ASGI transport, its lifespan run around the block.

    (Litestar's own test client runs the app in a separate thread, one request at a time, which
    hides the concurrency the call path depends on.)"""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def receive() -> dict[str, str]:
        return await inbox.get()

    async def send(message: dict[str, str]) -> None:
        await outbox.put(message)

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://skiff.test") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, against the session's Postgres and Redis."""
    async with serving(create_app(settings)) as test_client:
        yield test_client


async def clear_leader_lease(engine: AsyncEngine) -> None:
    """Tests that step a scheduler start with nobody holding the lease."""
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(delete(LeaderLease))


@dataclass
class Tenant:
    """A workspace of its own and its admin token; `headers` authenticates as that admin."""

    workspace_id: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(engine: AsyncEngine, name: str) -> Tenant:
    async with create_sessionmaker(engine)() as session, session.begin():
        workspace, token = await WorkspaceService(session).create(name)
    return Tenant(workspace_id=workspace.id, name=workspace.name, token=token)


@pytest.fixture
async def tenant(engine: AsyncEngine, request: pytest.FixtureRequest) -> Tenant:
    return await make_tenant(engine, f"ws-{os.urandom(6).hex()}")


@pytest.fixture
async def other_tenant(engine: AsyncEngine) -> Tenant:
    return await make_tenant(engine, f"other-{os.urandom(6).hex()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests run last: their platform's scheduler is a real leader that would act on the
    state other tests set up and step by hand."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
