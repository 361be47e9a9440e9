"""Secrets end to end (TESTPLAN S2): a function's sandbox has the variables of the secrets it
declares and no others; a declared secret that does not exist fails the call, saying which."""

from __future__ import annotations

from tests.e2e.conftest import Platform
from tests.e2e.test_core_loop import call, deploy

SOURCE = """
import os

def environment():
    return {"names": sorted(os.environ), "password": os.environ.get("DB_PASSWORD")}
"""

MANIFEST = """
[functions.environment]
handler = "app:environment"
secrets = ["e2e-db"]
env = { LOG_LEVEL = "info" }

[functions.orphan]
handler = "app:environment"
secrets = ["e2e-never-created"]
"""


def test_a_sandbox_gets_only_its_declared_secrets(platform: Platform) -> None:
    with platform.http() as http:
        created = http.post("/v1/secrets", json={"name": "e2e-db", "values": {"DB_PASSWORD": "pw-e2e-4242"}})
        assert created.status_code == 200, created.text
        other = http.post("/v1/secrets", json={"name": "e2e-other", "values": {"UNDECLARED_KEY": "nope"}})
        assert other.status_code == 200, other.text
        deploy(http, "secrets-e2e", {"app.py": SOURCE}, MANIFEST)

        answer = call(http, "secrets-e2e", "environment")
        assert answer.status_code == 200, answer.text
        result = answer.json()["result"]
        assert result["password"] == "pw-e2e-4242"
        assert "LOG_LEVEL" in result["names"] and "UNDECLARED_KEY" not in result["names"]
        assert not [name for name in result["names"] if name.startswith("SKIFF_SECRET")]

        failed = call(http, "secrets-e2e", "orphan").json()
        assert failed["status"] == "failed", failed
        assert "secret 'e2e-never-created' not found" in failed["error"]["message"]

    agent_log = (platform.state_dir / "agent-1.log").read_text(errors="replace")
    assert "pw-e2e-4242" not in agent_log
