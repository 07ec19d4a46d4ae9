"""What the benchmark scripts share: a database of their own, and their table of figures."""

from __future__ import annotations

import os
from collections.abc import Sequence


def recreate_database(name: str) -> None:
    """Drop the benchmark's database (its connections too) and create it empty."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    ) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def print_rows(rows: Sequence[tuple[str, str]]) -> None:
    """Figures as two aligned columns, a blank line before and after."""
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    print()
