"""JSON for scripts: one object, valid for ``jq`` (non-finite numbers are strings, never NaN)."""

from __future__ import annotations

import json
from typing import Any


def dumps(data: dict[str, Any], *, pretty: bool = False) -> str:
    return json.dumps(data, indent=2 if pretty else None, allow_nan=False, ensure_ascii=False)
