"""Keyset paging of a listing by its integer key (the operations and admin lists).

The next page starts after the last row's key: a page costs the same far down a table as at
its head, and nothing counts the table. The page's last key is the next page's cursor.
"""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select

_Ts = TypeVarTuple("_Ts")


def keyset_page(
    query: Select[*_Ts],
    key: ColumnElement[int],
    after: int | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> Select[*_Ts]:
    """``query`` ordered by ``key`` (descending when ``newest_first``), ``limit`` rows past
    the cursor ``after`` (the previous page's last key; None: the first page)."""
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    return query.order_by(key.desc() if newest_first else key.asc()).limit(limit)
