"""Deploying bundles as numbered versions of an app, listing them, and rolling back."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.apps import autoscaling
from api.apps.models import App, Deployment, Function, FunctionSettings
from api.apps.schemas import APP_NAME_PATTERN
from api.deployments.bundle import BundleInfo
from api.deployments.image import image_key
from api.errors import BadRequest, NotFound
from api.ids import new_id
from api.pagination import page_query, split_page

APP_NAME = re.compile(APP_NAME_PATTERN)


def check_app_name(name: str) -> str:
    if not APP_NAME.match(name):
        raise BadRequest(
            f"app name {name[:64]!r} is invalid: use 1 to 63 lower-case letters, digits and dashes, "
            "starting with a letter or digit"
        )
    return name


class AppService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def deploy(self, workspace_id: str, app_name: str, info: BundleInfo) -> tuple[Deployment, bool]:
        """The deployment for this bundle and whether it is new. A bundle holding the same files as
        an existing version (however it was archived) creates nothing: that version becomes current."""
        await self.session.execute(
            insert(App)
            .values(id=new_id("app"), workspace_id=workspace_id, name=app_name, latest_version=0)
            .on_conflict_do_nothing()
        )
        app = (
            await self.session.scalars(
                select(App).where(App.workspace_id == workspace_id, App.name == app_name).with_for_update(),
                execution_options={"populate_existing": True},
            )
        ).one()
        same = await self.session.scalar(
            select(Deployment)
            .where(Deployment.app_id == app.id, Deployment.content_digest == info.content_digest)
            .order_by(Deployment.version.desc())
            .limit(1)
        )
        previous = app.current_version
        if same is not None:
            app.current_version = same.version
            await self._carry_overrides(app, previous, same.version)
            return same, False
        version = app.latest_version + 1
        deployment = Deployment(
            id=new_id("dep"),
            workspace_id=workspace_id,
            app_id=app.id,
            version=version,
            bundle_digest=info.digest,
            content_digest=info.content_digest,
            bundle_size=info.compressed_bytes,
            manifest=msgspec.to_builtins(info.manifest),
        )
        self.session.add(deployment)
        await self.session.flush()
        for name, spec in info.manifest.functions.items():
            self.session.add(
                Function(
                    id=new_id("fn"),
                    workspace_id=workspace_id,
                    app_id=app.id,
                    deployment_id=deployment.id,
                    version=version,
                    name=name,
                    spec=msgspec.to_builtins(spec),
                    image_key=image_key(spec.image),
                )
            )
        app.latest_version = version
        app.current_version = version
        await self.session.flush()
        await self._carry_overrides(app, previous, version)
        await self.session.refresh(deployment)
        return deployment, True

    async def _carry_overrides(self, app: App, before: int | None, after: int) -> None:
        """A deploy keeps each runtime override unless its manifest changes that setting."""
        rows = (
            await self.session.scalars(
                select(FunctionSettings).where(FunctionSettings.app_id == app.id).with_for_update()
            )
        ).all()
        if not rows or before == after:
            return
        specs = await self._specs(app, {before, after} - {None})
        for row in rows:
            new_spec = specs.get((after, row.function_name))
            if new_spec is None:
                continue  # the function is not in this version: its overrides wait for it
            old_spec = specs.get((before, row.function_name)) if before is not None else None
            kept = autoscaling.kept_after_deploy(row.overrides, old_spec, new_spec)
            if not kept:
                await self.session.delete(row)
            elif kept != row.overrides:
                row.overrides = kept
        await self.session.flush()

    async def _specs(self, app: App, versions: set[int | None]) -> dict[tuple[int, str], dict[str, Any]]:
        rows = await self.session.execute(
            select(Function.version, Function.name, Function.spec).where(
                Function.app_id == app.id, Function.version.in_(versions)
            )
        )
        return {(version, name): spec for version, name, spec in rows.all()}

    async def overrides_of(self, app: App) -> dict[str, dict[str, int]]:
        rows = await self.session.scalars(select(FunctionSettings).where(FunctionSettings.app_id == app.id))
        return {row.function_name: dict(row.overrides) for row in rows}

    async def current_function(self, workspace_id: str, app_name: str, function_name: str) -> tuple[App, Function]:
        app = await self.get_app(workspace_id, app_name)
        fn = await self.session.scalar(
            select(Function).where(
                Function.app_id == app.id, Function.version == app.current_version, Function.name == function_name
            )
        )
        if fn is None:
            version = app.current_version
            raise NotFound(f"function {function_name[:64]!r} not found in app {app.name!r} version {version}")
        return app, fn

    async def change_autoscaling(
        self, workspace_id: str, app_name: str, function_name: str, changes: dict[str, int | None]
    ) -> tuple[App, Function, dict[str, int]]:
        app, fn = await self.current_function(workspace_id, app_name, function_name)
        row = await self.session.get(FunctionSettings, (app.id, fn.name), with_for_update=True)
        overrides = autoscaling.patched(fn.spec, row.overrides if row is not None else {}, changes)
        if row is None and overrides:
            self.session.add(
                FunctionSettings(app_id=app.id, function_name=fn.name, workspace_id=workspace_id, overrides=overrides)
            )
        elif row is not None and overrides:
            row.overrides = overrides
        elif row is not None:
            await self.session.delete(row)
        await self.session.flush()
        return app, fn, overrides

    async def get_app(self, workspace_id: str, app_name: str) -> App:
        app = await self.session.scalar(select(App).where(App.workspace_id == workspace_id, App.name == app_name))
        if app is None:
            raise NotFound(f"app {app_name[:64]!r} not found")
        return app

    async def list_apps(self, workspace_id: str, cursor: str | None, limit: int) -> tuple[list[App], str | None]:
        stmt = page_query(select(App).where(App.workspace_id == workspace_id), App.id, cursor, limit)
        return split_page((await self.session.scalars(stmt)).all(), limit, lambda a: a.id)

    async def list_deployments(self, app: App, cursor: str | None, limit: int) -> tuple[list[Deployment], str | None]:
        stmt = page_query(select(Deployment).where(Deployment.app_id == app.id), Deployment.id, cursor, limit)
        return split_page((await self.session.scalars(stmt)).all(), limit, lambda d: d.id)

    async def get_deployment(self, app: App, version: int) -> Deployment:
        deployment = await self.session.scalar(
            select(Deployment).where(Deployment.app_id == app.id, Deployment.version == version)
        )
        if deployment is None:
            raise NotFound(f"app {app.name!r} has no version {version}; latest is {app.latest_version}")
        return deployment

    async def functions_of(self, deployment_ids: list[str]) -> dict[str, list[Function]]:
        rows = await self.session.scalars(
            select(Function).where(Function.deployment_id.in_(deployment_ids)).order_by(Function.name)
        )
        grouped: dict[str, list[Function]] = {d: [] for d in deployment_ids}
        for fn in rows:
            grouped[fn.deployment_id].append(fn)
        return grouped

    async def rollback(self, workspace_id: str, app_name: str, version: int) -> tuple[App, Deployment]:
        app = await self.get_app(workspace_id, app_name)
        deployment = await self.get_deployment(app, version)
        app.current_version = version
        await self.session.flush()
        return app, deployment
