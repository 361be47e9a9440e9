"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from __future__ import annotations

from api.apps.models import App, Deployment, Function
from api.builds.models import EnvironmentBuild
from api.calls.models import Call, CallLogLine
from api.containers.models import Container
from api.db import Base
from api.idempotency.models import IdempotencyKey
from api.leases.models import LeaderLease
from api.nodes.models import Node
from api.schedules.models import Schedule
from api.secrets.models import Secret
from api.tokens.models import Token
from api.workspaces.models import Workspace

metadata = Base.metadata

__all__ = [
    "App",
    "Call",
    "CallLogLine",
    "Container",
    "Deployment",
    "EnvironmentBuild",
    "Function",
    "IdempotencyKey",
    "LeaderLease",
    "Node",
    "Schedule",
    "Secret",
    "Token",
    "Workspace",
    "metadata",
]
