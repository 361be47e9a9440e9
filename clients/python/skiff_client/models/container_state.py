from enum import StrEnum


class ContainerState(StrEnum):
    EXITED = "exited"
    PENDING = "pending"
    READY = "ready"
    STARTING = "starting"
    STOPPING = "stopping"

    def __str__(self) -> str:
        return str(self.value)
