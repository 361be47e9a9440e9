"""`python -m api serve|migrate|bootstrap|openapi`: the API server and its admin commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from api.settings import Settings


def serve(settings: Settings) -> None:
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging

    configure_logging(settings.log_level, component="api")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",  # agents' input channels; a bigger message is refused (1009) before it is read
        ws_max_size=settings.agent_max_body_bytes + 1,
        lifespan="on",
        timeout_graceful_shutdown=10,
        # Longer than the idle timeouts of the usual load balancers (60 s), as their docs ask, and
        # than a client's pause between calls: a kept connection saves a reconnect on the next call.
        timeout_keep_alive=75,
    )


def migrate(settings: Settings) -> None:
    from api.migrate import upgrade

    upgrade(settings.database_url)


async def bootstrap(settings: Settings, workspace: str) -> dict[str, str]:
    """Create a workspace and its first admin token; prints them as JSON."""
    from api.db import create_engine, create_sessionmaker
    from api.workspaces.service import WorkspaceService

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            created, token = await WorkspaceService(session).create(workspace)
    finally:
        await engine.dispose()
    return {"workspace_id": created.id, "workspace": created.name, "token": token}


def openapi(settings: Settings) -> str:
    from api.spec import render_spec

    return render_spec(settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="skiff server api")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP API (default)")
    sub.add_parser("migrate", help="apply database migrations")
    boot = sub.add_parser("bootstrap", help="create a workspace and an admin token, print them as JSON")
    boot.add_argument("--workspace", default="default")
    sub.add_parser("openapi", help="print the OpenAPI spec as YAML")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command in (None, "serve"):
        serve(settings)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "bootstrap":
        print(json.dumps(asyncio.run(bootstrap(settings, args.workspace))))  # noqa: T201
    elif args.command == "openapi":
        sys.stdout.write(openapi(settings))


if __name__ == "__main__":
    main()
