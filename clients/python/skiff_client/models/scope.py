from enum import StrEnum


class Scope(StrEnum):
    ADMIN = "admin"
    DEPLOY = "deploy"
    INVOKE = "invoke"
    READ = "read"

    def __str__(self) -> str:
        return str(self.value)
