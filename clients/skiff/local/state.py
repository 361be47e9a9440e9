"""The state directory of a local Skiff: data, secrets, ports, logs and pidfiles of `skiff up`.

```
STATE/
  postgres/data/  redis/  blobs/  agent/     data (Postgres's owned by the user it runs as)
  logs/<component>.log                       every process's output, appended across runs
  run/<component>.pid                        one pidfile per running process, removed on a clean stop
  ports.json                                 the Postgres and Redis ports, fixed after the first run
  workspace.json, node-token                 the admin and node tokens (mode 0600)
  secret-keys                                the key that seals secrets, SKIFF_SECRET_KEYS (mode 0600)
```
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from skiff.config import write_private

STATE_DIR_ENV = "SKIFF_STATE_DIR"


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or ".state")


@dataclass(frozen=True)
class WorkspaceCredentials:
    """What `python -m api bootstrap` printed: the workspace and its first admin token."""

    workspace_id: str
    workspace: str
    token: str


@dataclass(frozen=True)
class StateDir:
    root: Path

    @classmethod
    def at(cls, path: Path) -> StateDir:
        return cls(path.expanduser().absolute())

    @property
    def postgres_data(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def redis_data(self) -> Path:
        return self.root / "redis"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def agent(self) -> Path:
        return self.root / "agent"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def lock_file(self) -> Path:
        return self.run / "supervisor.lock"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pidfile(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Postgres runs as another user when we are root: it must traverse, but not list, the directory.
        self.root.chmod(0o711)
        self.logs.mkdir(exist_ok=True)
        self.run.mkdir(exist_ok=True)

    def ports(self) -> dict[str, int]:
        path = self.root / "ports.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text())
        return {str(name): int(port) for name, port in data.items()}

    def save_ports(self, ports: dict[str, int]) -> None:
        (self.root / "ports.json").write_text(json.dumps(ports, indent=2, sort_keys=True) + "\n")

    def workspace(self) -> WorkspaceCredentials | None:
        path = self.root / "workspace.json"
        if not path.exists():
            return None
        return WorkspaceCredentials(**json.loads(path.read_text()))

    def save_workspace(self, credentials: WorkspaceCredentials) -> None:
        write_private(self.root / "workspace.json", json.dumps(asdict(credentials), indent=2) + "\n")

    def node_token(self) -> str | None:
        path = self.root / "node-token"
        if not path.exists():
            return None
        return path.read_text().strip() or None

    def save_node_token(self, token: str) -> None:
        write_private(self.root / "node-token", token + "\n")

    def secret_keys(self) -> str:
        """The API's SKIFF_SECRET_KEYS: a 256-bit AES key made on the first run and kept here."""
        path = self.root / "secret-keys"
        if path.exists() and (keys := path.read_text().strip()):
            return keys
        keys = "k1:" + base64.b64encode(os.urandom(32)).decode()
        write_private(path, keys + "\n")
        return keys
