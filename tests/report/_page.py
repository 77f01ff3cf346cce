"""Helpers to read what a report embeds (tables as JSON) without a browser."""

from __future__ import annotations

import json
import re
from typing import Any


def table_data(html: str, table_id: str) -> dict[str, Any]:
    """The JSON of ``<script type="application/json" id=table_id>``."""
    m = re.search(
        rf'<script type="application/json" id="{re.escape(table_id)}">(.*?)</script>', html, re.S
    )
    assert m, f"no embedded table {table_id}"
    return json.loads(m.group(1))


def column(data: dict[str, Any], key: str) -> list[Any]:
    j = [c["key"] for c in data["columns"]].index(key)
    return [r[j] for r in data["rows"]]
