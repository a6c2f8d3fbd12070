"""Keyset paging (kernel/database/paging.py): pages walked cursor by cursor cover a listing
once, in order, either way round, and keep the query's own conditions."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from smbridge.kernel.database.paging import keyset_page

_rows = Table(
    "rows", MetaData(), Column("id", Integer, primary_key=True), Column("kind", String(8))
)


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_cover_the_listing_once_in_order(newest_first: bool) -> None:
    engine = create_engine("sqlite://")
    _rows.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(_rows), [{"id": i, "kind": "a" if i % 3 else "b"} for i in range(1, 24)]
        )
        wanted = [i for i in range(1, 24) if i % 3]
        if newest_first:
            wanted.reverse()
        seen: list[int] = []
        after: int | None = None
        pages = 0
        while True:
            query = select(_rows.c.id).where(_rows.c.kind == "a")
            page = list(
                connection.execute(
                    keyset_page(query, _rows.c.id, after, 4, newest_first=newest_first)
                ).scalars()
            )
            pages += 1
            seen.extend(page)
            if len(page) < 4:
                break
            after = page[-1]
    engine.dispose()
    assert seen == wanted
    assert pages == len(wanted) // 4 + 1
