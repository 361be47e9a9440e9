"""Settings for every Skiff server process, read from `SKIFF_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of the control plane. Build one and pass it to `create_app`."""

    model_config = SettingsConfigDict(env_prefix="SKIFF_", extra="ignore")

    database_url: str = "postgresql+asyncpg://skiff@127.0.0.1:5432/skiff"
    redis_url: str = "redis://127.0.0.1:6379/0"
    blob_url: str = "file://.state/blobs"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = ""
    log_level: str = "INFO"

    # Request limits: every body has one; exceeding it answers 413 naming the limit.
    max_json_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_bundle_bytes: int = Field(default=256 << 20, ge=1024)
    max_input_bytes: int = Field(default=1 << 20, ge=1024)
    max_result_bytes: int = Field(default=4 << 20, ge=1024)
    # A running attempt's lease; agents renew it with every poll. Past it the attempt counts as lost.
    lease_seconds: float = Field(default=30.0, ge=1)
    # Calls one workspace may have queued or running at once; beyond it, 429 (0: no limit).
    workspace_max_active_calls: int = Field(default=100_000, ge=0)
    # Attempts beyond a function's own retries that only lost attempts and crashes may use.
    lost_attempt_retries: int = Field(default=2, ge=0, le=10)
    s3_endpoint_url: str = ""
    # Keys that seal secrets, `id:base64key,…`: the first encrypts, all decrypt (rotation: put a new
    # key first, keep the old ones). Empty: secrets cannot be created.
    secret_keys: str = Field(default="", repr=False)

    db_pool_size: int = Field(default=10, ge=1)
    db_timeout_seconds: float = Field(default=5.0, gt=0)
    # How often a token's last-used time is written at most; keeps auth off the write path.
    token_touch_interval_seconds: int = Field(default=60, ge=0)
    # How long a verified token is trusted without a lookup; a revocation reaches other API
    # processes within this time (the revoking process forgets it at once).
    token_cache_seconds: float = Field(default=2.0, ge=0, le=60)

    # The scheduler leader's lease, renewed every tick (1 s); a standby takes over within it
    # (plus a tick) once the leader stops renewing.
    scheduler_lease_seconds: float = Field(default=5.0, ge=2, le=300)

    node_heartbeat_interval_seconds: float = Field(default=5.0, gt=0)
    # A node silent this long is marked down and its containers forgotten.
    node_heartbeat_timeout_seconds: float = Field(default=20.0, gt=0)

    @property
    def agent_max_body_bytes(self) -> int:
        """What an agent may send in one request or message: an outcome carries a result of up to
        `max_result_bytes`, escaped as JSON text or base64 (under twice its size), beside the rest."""
        return max(self.max_json_body_bytes, 2 * self.max_result_bytes + self.max_json_body_bytes)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
