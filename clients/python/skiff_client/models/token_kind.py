from enum import StrEnum


class TokenKind(StrEnum):
    NODE = "node"
    USER = "user"

    def __str__(self) -> str:
        return str(self.value)
