"""The committed `openapi.yaml`, rendered from the app itself."""

from __future__ import annotations

import yaml

from api.app import create_app
from api.settings import Settings


def render_spec(settings: Settings | None = None) -> str:
    app = create_app(settings or Settings())
    schema = app.openapi_schema.to_schema()
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True, width=120)
