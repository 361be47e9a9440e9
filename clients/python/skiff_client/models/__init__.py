"""Contains all the data models used in inputs/outputs"""

from .agent_config import AgentConfig
from .app_out import AppOut
from .app_page import AppPage
from .autoscaling import Autoscaling
from .autoscaling_patch import AutoscalingPatch
from .build_command import BuildCommand
from .build_list import BuildList
from .build_out import BuildOut
from .build_progress import BuildProgress
from .build_progress_result import BuildProgressResult
from .build_progress_state import BuildProgressState
from .build_report import BuildReport
from .build_state import BuildState
from .call_error import CallError
from .call_input import CallInput
from .call_input_kwargs import CallInputKwargs
from .call_out import CallOut
from .call_outcome import CallOutcome
from .call_page import CallPage
from .call_status import CallStatus
from .container_out import ContainerOut
from .container_page import ContainerPage
from .container_report import ContainerReport
from .container_spec import ContainerSpec
from .container_spec_secrets import ContainerSpecSecrets
from .container_spec_spec import ContainerSpecSpec
from .container_state import ContainerState
from .deployment_out import DeploymentOut
from .deployment_page import DeploymentPage
from .ended_calls import EndedCalls
from .field_error import FieldError
from .function_list import FunctionList
from .function_out import FunctionOut
from .function_out_overrides import FunctionOutOverrides
from .function_out_spec import FunctionOutSpec
from .gpu import Gpu
from .gpu_usage import GpuUsage
from .health import Health
from .health_checks import HealthChecks
from .heartbeat import Heartbeat
from .image_spec import ImageSpec
from .input_ import Input
from .log_line import LogLine
from .log_page import LogPage
from .log_record import LogRecord
from .log_shipment import LogShipment
from .log_shipment_result import LogShipmentResult
from .map_input import MapInput
from .map_out import MapOut
from .next_input import NextInput
from .next_input_answer import NextInputAnswer
from .node_out import NodeOut
from .node_out_labels import NodeOutLabels
from .node_page import NodePage
from .node_poll import NodePoll
from .node_registration import NodeRegistration
from .node_registration_labels import NodeRegistrationLabels
from .node_state import NodeState
from .node_work import NodeWork
from .outcome import Outcome
from .outcome_batch import OutcomeBatch
from .outcome_results import OutcomeResults
from .payload_type import PayloadType
from .problem import Problem
from .rollback import Rollback
from .schedule_create import ScheduleCreate
from .schedule_create_kwargs import ScheduleCreateKwargs
from .schedule_detail import ScheduleDetail
from .schedule_detail_kwargs import ScheduleDetailKwargs
from .schedule_out import ScheduleOut
from .schedule_out_kwargs import ScheduleOutKwargs
from .schedule_page import SchedulePage
from .scope import Scope
from .secret_create import SecretCreate
from .secret_create_values import SecretCreateValues
from .secret_out import SecretOut
from .secret_page import SecretPage
from .token_create import TokenCreate
from .token_created import TokenCreated
from .token_kind import TokenKind
from .token_out import TokenOut
from .token_page import TokenPage
from .wait_for_calls import WaitForCalls
from .workspace_out import WorkspaceOut

__all__ = (
    "AgentConfig",
    "AppOut",
    "AppPage",
    "Autoscaling",
    "AutoscalingPatch",
    "BuildCommand",
    "BuildList",
    "BuildOut",
    "BuildProgress",
    "BuildProgressResult",
    "BuildProgressState",
    "BuildReport",
    "BuildState",
    "CallError",
    "CallInput",
    "CallInputKwargs",
    "CallOut",
    "CallOutcome",
    "CallPage",
    "CallStatus",
    "ContainerOut",
    "ContainerPage",
    "ContainerReport",
    "ContainerSpec",
    "ContainerSpecSecrets",
    "ContainerSpecSpec",
    "ContainerState",
    "DeploymentOut",
    "DeploymentPage",
    "EndedCalls",
    "FieldError",
    "FunctionList",
    "FunctionOut",
    "FunctionOutOverrides",
    "FunctionOutSpec",
    "Gpu",
    "GpuUsage",
    "Health",
    "HealthChecks",
    "Heartbeat",
    "ImageSpec",
    "Input",
    "LogLine",
    "LogPage",
    "LogRecord",
    "LogShipment",
    "LogShipmentResult",
    "MapInput",
    "MapOut",
    "NextInput",
    "NextInputAnswer",
    "NodeOut",
    "NodeOutLabels",
    "NodePage",
    "NodePoll",
    "NodeRegistration",
    "NodeRegistrationLabels",
    "NodeState",
    "NodeWork",
    "Outcome",
    "OutcomeBatch",
    "OutcomeResults",
    "PayloadType",
    "Problem",
    "Rollback",
    "ScheduleCreate",
    "ScheduleCreateKwargs",
    "ScheduleDetail",
    "ScheduleDetailKwargs",
    "ScheduleOut",
    "ScheduleOutKwargs",
    "SchedulePage",
    "Scope",
    "SecretCreate",
    "SecretCreateValues",
    "SecretOut",
    "SecretPage",
    "TokenCreate",
    "TokenCreated",
    "TokenKind",
    "TokenOut",
    "TokenPage",
    "WaitForCalls",
    "WorkspaceOut",
)
