"""Contains all the data models used in inputs/outputs"""

from .agent_config import AgentConfig
from .field_error import FieldError
from .gpu import Gpu
from .health import Health
from .health_checks import HealthChecks
from .heartbeat import Heartbeat
from .node_out import NodeOut
from .node_out_labels import NodeOutLabels
from .node_page import NodePage
from .node_registration import NodeRegistration
from .node_registration_labels import NodeRegistrationLabels
from .node_state import NodeState
from .problem import Problem
from .scope import Scope
from .token_create import TokenCreate
from .token_created import TokenCreated
from .token_kind import TokenKind
from .token_out import TokenOut
from .token_page import TokenPage
from .workspace_out import WorkspaceOut

__all__ = (
    "AgentConfig",
    "FieldError",
    "Gpu",
    "Health",
    "HealthChecks",
    "Heartbeat",
    "NodeOut",
    "NodeOutLabels",
    "NodePage",
    "NodeRegistration",
    "NodeRegistrationLabels",
    "NodeState",
    "Problem",
    "Scope",
    "TokenCreate",
    "TokenCreated",
    "TokenKind",
    "TokenOut",
    "TokenPage",
    "WorkspaceOut",
)
