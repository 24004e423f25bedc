"""Ids in paths, bodies, filters and cursors. Ids are 32-bit columns: a larger number cannot
name anything, so it is refused where it enters (404 in a path, 422 elsewhere) rather than
reaching the database."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from werkzeug.routing import IntegerConverter

#: The largest id a row can have.
MAX_ID = 2**31 - 1

#: An id field in a request body.
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="an id")]


class IdConverter(IntegerConverter):
    """``<id:ticket_id>``: digits in a path. The range is checked by :func:`check_path_ids`
    after routing (a converter that refused a number would make werkzeug answer 405 for the
    other methods of the path, not 404)."""

    #: The range the OpenAPI document gives the parameter.
    minimum = 1
    maximum = MAX_ID


def check_path_ids(view_args: dict[str, Any] | None) -> str | None:
    """The first path id out of range, as a sentence, or None."""
    for name, value in (view_args or {}).items():
        if isinstance(value, int) and not isinstance(value, bool) and not 1 <= value <= MAX_ID:
            return f"{name}: there is no item {value}"
    return None


def parse_id(value: Any) -> int | None:
    """``value`` as an id, or None if it is not one (not ASCII digits, or out of range)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if 1 <= number <= MAX_ID else None
    return None
