"""/v1/apps: deploy bundles, list apps, versions and functions, roll back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Operation, RequestBody, Schema
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeSpec
from litestar.params import FromPath, JSONBody

from api.apps import autoscaling, stopping
from api.apps.models import App, Deployment, Function
from api.apps.schemas import (
    AppOut,
    AppPage,
    Autoscaling,
    AutoscalingPatch,
    DeploymentOut,
    DeploymentPage,
    FunctionList,
    FunctionOut,
    Rollback,
)
from api.apps.service import AppService, check_app_name
from api.auth.guards import requires
from api.builds.schemas import BuildList
from api.builds.service import BuildService
from api.calls.dispatch import Dispatcher
from api.dependencies import AppSettings, Caller, Cursor, DbSession, Limit
from api.deployments.archive import BundleLimits
from api.deployments.bundle import BundleInfo, inspect_bundle, spool_upload
from api.pagination import DEFAULT_LIMIT
from api.problems import problem_responses
from api.settings import Settings
from api.tokens.schemas import Scope


@dataclass
class BundleUploadOperation(Operation):
    """The request body is the raw archive, streamed, so the spec is declared by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The bundle: a zip or tar.gz archive with `skiff.toml` at its root. The format is read "
            "from the bytes, so any content type (application/zip, application/gzip, …) is accepted.",
            content={
                "application/octet-stream": MediaTypeSpec(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            },
        )


@dataclass
class _Views:
    settings: Settings
    functions: dict[str, list[Function]] = field(default_factory=dict)
    overrides: dict[str, dict[str, int]] = field(default_factory=dict)  # by function name
    waiting: dict[str, str] = field(default_factory=dict)  # by function id

    @classmethod
    async def load(cls, service: AppService, state: State, app: App, deployment_ids: list[str]) -> _Views:
        functions = await service.functions_of(deployment_ids)
        listed = [fn.id for fns in functions.values() for fn in fns]
        return cls(state.settings, functions, await service.overrides_of(app), await _waiting(state, listed))

    def function(self, app: App, fn: Function) -> FunctionOut:
        overrides = self.overrides.get(fn.name, {})
        current = fn.version == app.current_version
        return FunctionOut(
            id=fn.id,
            name=fn.name,
            app=app.name,
            version=fn.version,
            image_key=fn.image_key,
            spec=fn.spec,
            calls_url=f"{self.settings.base_url}/v1/apps/{app.name}/functions/{fn.name}/calls",
            autoscaling=Autoscaling(**autoscaling.effective(fn.spec, overrides, current=current)),
            overrides=overrides,
            waiting=self.waiting.get(fn.id),
        )

    def deployment(self, app: App, deployment: Deployment, warnings: tuple[str, ...] = ()) -> DeploymentOut:
        return DeploymentOut(
            id=deployment.id,
            app=app.name,
            version=deployment.version,
            current=app.current_version == deployment.version,
            bundle_digest=deployment.bundle_digest,
            bundle_size=deployment.bundle_size,
            created_at=deployment.created_at,
            functions=[self.function(app, f) for f in self.functions.get(deployment.id, [])],
            warnings=list(warnings),
        )


def app_out(app: App) -> AppOut:
    return AppOut(
        id=app.id,
        name=app.name,
        current_version=app.current_version,
        latest_version=app.latest_version,
        created_at=app.created_at,
    )


async def _waiting(state: State, function_ids: list[str]) -> dict[str, str]:
    dispatcher: Dispatcher = state.dispatcher
    return await dispatcher.waiting(function_ids)


class AppController(Controller):
    path = "/v1/apps"
    tags = ["apps"]

    @post(
        "/{app_name:str}/deployments",
        operation_id="create_deployment",
        summary="Deploy a bundle as the app's next version",
        description="Upload a zip or tar.gz bundle with `skiff.toml` at its root. A bundle identical to an "
        "existing version creates nothing (200) and makes that version current; otherwise 201.",
        guards=[requires(Scope.DEPLOY)],
        operation_class=BundleUploadOperation,
        request_max_body_size=None,  # bundles have their own cap, checked while streaming
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=DeploymentOut,
                description="The bundle is an existing version's: that version, current now.",
            ),
            **problem_responses(400, 401, 403, 413, 422),
        },
    )
    async def create_deployment(
        self,
        request: Request[Any, Any, State],
        session: DbSession,
        principal: Caller,
        settings: AppSettings,
        app_name: FromPath[str],
    ) -> Response[DeploymentOut]:
        check_app_name(app_name)
        limits = BundleLimits(max_compressed_bytes=settings.max_bundle_bytes)
        upload = await spool_upload(request.stream(), limits)
        try:
            info: BundleInfo = await asyncio.to_thread(inspect_bundle, upload, limits)
            upload.seek(0)
            await request.app.state.blobs.put(info.digest, upload)
        finally:
            upload.close()
        service = AppService(session)
        deployment, created = await service.deploy(principal.workspace_id, app_name, info)
        app = await service.get_app(principal.workspace_id, app_name)
        views = await _Views.load(service, request.app.state, app, [deployment.id])
        body = views.deployment(app, deployment, info.warnings)
        if not created:
            return Response(body, status_code=200)
        dispatcher: Dispatcher = request.app.state.dispatcher
        # After the commit (the session's dependency ends before the response goes): the scheduler must find it.
        return Response(body, status_code=201, background=BackgroundTask(dispatcher.deployed))

    @get(
        operation_id="list_apps",
        summary="List apps",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403),
    )
    async def list_apps(
        self, session: DbSession, principal: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> AppPage:
        apps, next_cursor = await AppService(session).list_apps(principal.workspace_id, cursor, limit)
        return AppPage(items=[app_out(a) for a in apps], next_cursor=next_cursor)

    @get(
        "/{app_name:str}",
        operation_id="get_app",
        summary="Get an app",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_app(self, session: DbSession, principal: Caller, app_name: FromPath[str]) -> AppOut:
        return app_out(await AppService(session).get_app(principal.workspace_id, app_name))

    @get(
        "/{app_name:str}/deployments",
        operation_id="list_deployments",
        summary="List an app's versions",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_deployments(
        self,
        session: DbSession,
        principal: Caller,
        state: State,
        app_name: FromPath[str],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DeploymentPage:
        service = AppService(session)
        app = await service.get_app(principal.workspace_id, app_name)
        deployments, next_cursor = await service.list_deployments(app, cursor, limit)
        views = await _Views.load(service, state, app, [d.id for d in deployments])
        return DeploymentPage(items=[views.deployment(app, d) for d in deployments], next_cursor=next_cursor)

    @get(
        "/{app_name:str}/deployments/{version:int}",
        operation_id="get_deployment",
        summary="Get one version",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_deployment(
        self,
        session: DbSession,
        principal: Caller,
        state: State,
        app_name: FromPath[str],
        version: FromPath[int],
    ) -> DeploymentOut:
        service = AppService(session)
        app = await service.get_app(principal.workspace_id, app_name)
        deployment = await service.get_deployment(app, version)
        return (await _Views.load(service, state, app, [deployment.id])).deployment(app, deployment)

    @get(
        "/{app_name:str}/deployments/{version:int}/builds",
        operation_id="list_builds",
        summary="Environment builds of one version, per node, with their logs",
        description="A deploy asks one node to build each new environment ahead of the first call: each "
        "build is `pending` (null `node` while no ready node could run the function), `building`, `succeeded` "
        "or `failed`. Builds done by a container's start are listed too (`requested` false). Watch until "
        "`planned` is true and no build is pending or building.",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_builds(
        self, session: DbSession, principal: Caller, app_name: FromPath[str], version: FromPath[int]
    ) -> BuildList:
        service = AppService(session)
        deployment = await service.get_deployment(await service.get_app(principal.workspace_id, app_name), version)
        return await BuildService(session).of_deployment(deployment)

    @get(
        "/{app_name:str}/functions",
        operation_id="list_functions",
        summary="The current version's functions",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_functions(
        self, session: DbSession, principal: Caller, state: State, app_name: FromPath[str]
    ) -> FunctionList:
        service = AppService(session)
        app = await service.get_app(principal.workspace_id, app_name)
        if app.current_version is None:
            return FunctionList(items=[])
        deployment = await service.get_deployment(app, app.current_version)
        views = await _Views.load(service, state, app, [deployment.id])
        return FunctionList(items=[views.function(app, f) for f in views.functions[deployment.id]])

    @get(
        "/{app_name:str}/functions/{function_name:str}",
        operation_id="get_function",
        summary="A function of the current version",
        guards=[requires(Scope.READ)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_function(
        self,
        session: DbSession,
        principal: Caller,
        state: State,
        app_name: FromPath[str],
        function_name: FromPath[str],
    ) -> FunctionOut:
        service = AppService(session)
        app, fn = await service.current_function(principal.workspace_id, app_name, function_name)
        overrides = await service.overrides_of(app)
        return _Views(state.settings, overrides=overrides, waiting=await _waiting(state, [fn.id])).function(app, fn)

    @patch(
        "/{app_name:str}/functions/{function_name:str}",
        operation_id="update_function",
        summary="Change a function's autoscaling at runtime",
        description="Sets `min_containers`, `max_containers`, `buffer_containers` or `scaledown_window` for the "
        "function by name; `null` returns a setting to the manifest's. The change outlives redeploys that leave "
        "the setting alone in `skiff.toml`; a deploy that changes it there wins. Takes effect within a second.",
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def update_function(
        self,
        data: JSONBody[AutoscalingPatch],
        session: DbSession,
        principal: Caller,
        state: State,
        app_name: FromPath[str],
        function_name: FromPath[str],
    ) -> FunctionOut:
        service = AppService(session)
        app, fn, overrides = await service.change_autoscaling(
            principal.workspace_id, app_name, function_name, data.changes()
        )
        waiting = await _waiting(state, [fn.id])
        return _Views(state.settings, overrides={fn.name: overrides}, waiting=waiting).function(app, fn)

    @post(
        "/{app_name:str}/rollback",
        operation_id="rollback_app",
        summary="Make an earlier version current",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def rollback_app(
        self,
        data: JSONBody[Rollback],
        session: DbSession,
        principal: Caller,
        state: State,
        app_name: FromPath[str],
    ) -> DeploymentOut:
        service = AppService(session)
        app, deployment = await service.rollback(principal.workspace_id, app_name, data.version)
        return (await _Views.load(service, state, app, [deployment.id])).deployment(app, deployment)

    @post(
        "/{app_name:str}/stop",
        operation_id="stop_app",
        summary="Stop an app",
        description="No version stays current: queued and running calls are cancelled, containers stop, and "
        "calls are refused (404) until a deploy or a rollback makes a version current again. Versions, "
        "calls and logs are kept. Stopping a stopped app changes nothing.",
        status_code=200,
        guards=[requires(Scope.DEPLOY)],
        responses=problem_responses(400, 401, 403, 404),
    )
    async def stop_app(self, state: State, principal: Caller, app_name: FromPath[str]) -> AppOut:
        async with state.sessionmaker() as session, session.begin():
            app = await AppService(session).get_app(principal.workspace_id, app_name)
            stopped = await stopping.stop_app(session, app)
        dispatcher: Dispatcher = state.dispatcher
        if stopped.wake:  # once committed: the nodes that look must find the containers stopping
            await dispatcher.wake(*sorted(stopped.wake))
        await dispatcher.notify_done(stopped.cancelled)
        return app_out(stopped.app)
