"""docs/ keeps each service's OpenAPI schema; it must match what the service serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbridge.entrypoints.openapi import openapi_json

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    ("service", "file"), [("assembly", "assembly-api.openapi.json"), ("hook", "hook.openapi.json")]
)
def test_checked_in_schema_is_current(service: str, file: str) -> None:
    assert (DOCS / file).read_text().strip() == openapi_json(service).strip(), (
        f"regenerate: smbridge openapi {service} > docs/{file}"
    )
