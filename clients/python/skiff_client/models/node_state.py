from enum import StrEnum


class NodeState(StrEnum):
    DOWN = "down"
    DRAINING = "draining"
    READY = "ready"

    def __str__(self) -> str:
        return str(self.value)
