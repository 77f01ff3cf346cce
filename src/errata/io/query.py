"""SQL over a folder's Parquet files that can neither write nor read anything else (the edge).

:func:`run_confined` opens an in-memory DuckDB database, makes errata's views over the files
it is given, registers the in-memory tables it is given, and only then closes the database
off: ``allowed_paths`` lists the files of the views, ``enable_external_access = false`` refuses
every other file, directory, database, extension and URL, and ``lock_configuration = true``
refuses the ``SET`` that would open them again. Only read statements run (``SELECT`` and what
DuckDB parses as one — ``FROM``, ``DESCRIBE``, ``SUMMARIZE``, ``SHOW`` — and ``EXPLAIN``):
``COPY … TO``, ``ATTACH``, ``INSTALL``/``LOAD``, ``CREATE`` and the rest are one-line errors.
DuckDB spills to a private temporary folder that is removed afterwards, so a query leaves the
folder it reads byte-identical.

Which optional tables a query needs (the published population, which takes a moment to read)
is decided from DuckDB's own parse of the query (:func:`referenced_tables`), never from its text:
``'published'`` in a string or a comment loads nothing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError

READ_STATEMENTS = ("SELECT", "EXPLAIN")  # DuckDB statement types a query may hold


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def statements(sql: str) -> list[Any]:
    """The statements of ``sql``, each a read statement (:data:`READ_STATEMENTS`); anything
    else, an empty query or one DuckDB cannot parse is one line."""
    import duckdb

    if not sql.strip():
        raise ErrataInputError("query: empty SQL; give a SELECT statement")
    try:
        found = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ErrataInputError(f"query: {_first_line(exc)}") from None
    if not found:
        raise ErrataInputError("query: no SQL statement (only comments); give a SELECT statement")
    for st in found:
        kind = st.type.name
        if kind not in READ_STATEMENTS:
            text = " ".join(st.query.split()).rstrip(";")
            shown = text if len(text) <= 60 else text[:59] + "…"
            raise ErrataInputError(
                f"query: only SELECT statements run on a study (it is read-only); got {kind}: "
                f"'{shown}'"
            )
    return found


def referenced_tables(con: Any, sql: str) -> set[str]:
    """The names (lower-cased) of the tables and views ``sql`` reads, from DuckDB's parse tree
    (``json_serialize_sql``); where DuckDB cannot serialise a statement (``EXPLAIN``), the
    identifiers among its tokens."""
    import duckdb

    found: set[str] = set()
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    if not tree.get("error"):
        _walk(tree, found)
        return found
    for start, kind in duckdb.tokenize(sql):
        if kind == duckdb.token_type.identifier:
            token = sql[start:].split(None, 1)[0]
            found.add(token.strip('"').rstrip(",;)").lower())
    return found


def _walk(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and node.get("table_name"):
            found.add(str(node["table_name"]).lower())
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _sql_str(p: Path) -> str:
    return str(p).replace("'", "''")


def run_confined(
    sql: str,
    views: Mapping[str, Sequence[Path]],
    optional: Mapping[str, Callable[[], Any]] | None = None,
) -> Any:
    """Run read-only ``sql`` with DuckDB over ``views`` (view name → its Parquet files) and the
    ``optional`` in-memory tables the query reads (name → a function giving the DataFrame,
    called only when the query names it); the result as a pandas DataFrame."""
    import duckdb

    statements(sql)
    files = [Path(p).resolve() for paths in views.values() for p in paths]
    with tempfile.TemporaryDirectory(prefix="errata-query-") as spill:
        con = duckdb.connect(
            config={"temp_directory": spill, "autoinstall_known_extensions": False}
        )
        try:
            for name, paths in views.items():
                listed = ", ".join(f"'{_sql_str(Path(p).resolve())}'" for p in paths)
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}])")
            wanted = referenced_tables(con, sql)
            for name, make in (optional or {}).items():
                if name.lower() in wanted:
                    con.register(name, make())
            con.execute("SET allowed_paths = ?", [[str(p) for p in files]])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise ErrataInputError(f"query: {_first_line(exc)}") from None
        finally:
            con.close()
