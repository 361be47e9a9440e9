from enum import StrEnum


class BuildState(StrEnum):
    BUILDING = "building"
    FAILED = "failed"
    PENDING = "pending"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
