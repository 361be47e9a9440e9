"""The API application: `create_app(settings)` builds it; nothing is configured at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.types import ControllerRouterHandler

from api import __version__
from api.apps.routes import AppController
from api.auth.cache import PrincipalCache
from api.auth.guards import authenticate
from api.blobs import blob_store_from_url
from api.calls.backlog import Backlog
from api.calls.dispatch import CompletionWaiter, Dispatcher, blocking_client
from api.calls.handoff import IdleSlots
from api.calls.quota import ActiveCallQuota
from api.calls.routes import CallController, InvokeController, MapController
from api.calls.store import CallStore
from api.containers.routes import ContainerController
from api.db import create_engine, create_sessionmaker
from api.dependencies import DEPENDENCIES
from api.execution.routes import AgentWorkController
from api.health import livez, readyz
from api.nodes.routes import AgentNodeController, NodeController
from api.observability import Metrics, metrics_endpoint, observe
from api.problems import EXCEPTION_HANDLERS
from api.schedules.routes import ScheduleController
from api.secrets.crypto import Keyring
from api.secrets.routes import SecretController
from api.settings import Settings
from api.tokens.routes import TokenController
from api.workspaces.routes import get_workspace

ROUTES: list[ControllerRouterHandler] = [
    TokenController,
    get_workspace,
    NodeController,
    AgentNodeController,
    ContainerController,
    AppController,
    InvokeController,
    MapController,
    CallController,
    ScheduleController,
    SecretController,
]
PUBLIC_ROUTES: list[ControllerRouterHandler] = [livez, readyz, metrics_endpoint]


def openapi_config(settings: Settings) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Skiff",
        version=__version__,
        description="Deploy Python functions, call them over HTTP, run them sandboxed on your own machines.",
        servers=[Server(url=settings.public_url or "http://127.0.0.1:8000")] if settings.public_url else [],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A workspace token: sk_… for users, nk_… for nodes.",
                )
            }
        ),
        security=[{"BearerToken": []}],
        use_handler_docstrings=False,
        path="/schema",
        render_plugins=[YamlRenderPlugin(path="/openapi.yaml")],
        create_examples=False,
    )


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings)
        redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.store = store = CallStore(
            settings.database_url, size=settings.db_pool_size, timeout=settings.db_timeout_seconds
        )
        app.state.redis = redis
        blocking = blocking_client(settings.redis_url)
        app.state.dispatcher = Dispatcher(redis, blocking)
        app.state.waiter = waiter = CompletionWaiter(blocking)
        app.state.blobs = blob_store_from_url(settings.blob_url, s3_endpoint_url=settings.s3_endpoint_url)
        waiter.start()
        try:
            yield
        finally:
            await waiter.stop()
            await blocking.aclose()
            await redis.aclose()
            await store.close()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            *PUBLIC_ROUTES,
            *ROUTES,
            # Agents report results of up to max_result_bytes: their routes take more than other JSON.
            Router("/", route_handlers=[AgentWorkController], request_max_body_size=settings.agent_max_body_bytes),
        ],
        dependencies=DEPENDENCIES,
        guards=[authenticate],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[observe],
        lifespan=[lifespan],
        openapi_config=openapi_config(settings),
        request_max_body_size=settings.max_json_body_bytes,
        state=State(
            {
                "settings": settings,
                "metrics": Metrics(),
                "principals": PrincipalCache(settings.token_cache_seconds),
                "quota": ActiveCallQuota(settings.workspace_max_active_calls),
                "backlog": Backlog(),
                "idle_slots": IdleSlots(),
                "keyring": Keyring.from_setting(settings.secret_keys),
            }
        ),
        debug=False,
        logging_config=None,
    )
