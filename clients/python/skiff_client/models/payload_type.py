from enum import StrEnum


class PayloadType(StrEnum):
    APPLICATIONJSON = "application/json"
    APPLICATIONVND_SKIFF_PICKLE = "application/vnd.skiff.pickle"

    def __str__(self) -> str:
        return str(self.value)
