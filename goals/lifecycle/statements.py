"""The SQL statements of the lifecycle, read by name from the ``.sql`` files beside this module.

Each file holds named blocks, as procrastinate's ``queries.sql`` does::

    -- name: start_attempt
    -- start: the worker takes the goal's attempt ... (the description, one or more comment lines)
    WITH old AS (...)

A block is the whole statement that runs, with what varies between calls as ``%(name)s`` parameters
(psycopg's named style; a literal ``%`` is written ``%%``). Every use of a parameter carries its type,
``%(name)s::type``: PostgreSQL, binding on the server, then never has to guess one, and ``prepare_sql``
renders the statement for ``psql`` from them. The files
are read when this module is imported: a missing file, a block without a name, a name given twice or a
parameter without its type fails the import, naming the file, rather than the first call in production.
``goals.checks.settings`` also asks PostgreSQL to prepare every statement (``manage.py check --database default``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")
# Every file the lifecycle's statements live in: a file lost from a build is named at import.
FILES = ("moves.sql", "submit.sql", "writes.sql", "events.sql", "limits.sql")

_NAME = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"%\((\w+)\)s(?:::([a-z_]+(?:\[\])?))?")


class StatementFileError(Exception):
    """A statement file is missing or malformed."""


@dataclass(frozen=True)
class Statement:
    name: str
    description: str
    sql: str
    path: Path
    # Each parameter's type, from its first ``::type`` cast.
    types: dict[str, str]


def _parse(path: Path) -> list[Statement]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise StatementFileError(f"{path}: cannot be read: {exc}") from exc
    starts = list(_NAME.finditer(text))
    if not starts or text[:starts[0].start()].strip():
        raise StatementFileError(f"{path}: every statement must start with a '-- name: <name>' line")
    statements = []
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        lines = text[start.end():end].strip("\n").splitlines()
        # The description: the comment lines that open the block (up to a bare "--", if any).
        leading = next((i for i, line in enumerate(lines) if not line.startswith("--")), len(lines))
        described = next((i for i, line in enumerate(lines[:leading]) if line.strip() == "--"), leading)
        description = " ".join(line[2:].strip() for line in lines[:described])
        sql = "\n".join(lines[leading:]).strip()
        name = start.group(1)
        if not description or not sql.replace("--", "").strip():
            raise StatementFileError(f"{path}: statement {name!r} needs a description and a body")
        types: dict[str, str] = {}
        for parameter, cast in _PARAMETER.findall(sql):
            if not cast:
                raise StatementFileError(f"{path}: statement {name!r}: every use of {parameter} needs its type, "
                                         f"%({parameter})s::type")
            if types.setdefault(parameter, cast) != cast:
                raise StatementFileError(f"{path}: statement {name!r}: {parameter} is cast to {types[parameter]} "
                                         f"and to {cast}")
        # The name travels with the text: pg_stat_statements, the server log and the query log show it.
        statements.append(Statement(name, description, f"-- goaltrack: {name}\n{sql}", path, types))
    return statements


def load(directory: Path = SQL_DIR, files: tuple[str, ...] = FILES) -> dict[str, Statement]:
    """Every statement of ``files`` in ``directory``, by name."""
    found: dict[str, Statement] = {}
    for file in files:
        for statement in _parse(directory / file):
            if statement.name in found:
                raise StatementFileError(f"{statement.path}: statement {statement.name!r} is also in "
                                         f"{found[statement.name].path}")
            found[statement.name] = statement
    return found


STATEMENTS = load()


def sql(name: str) -> str:
    """The text of statement ``name``, as it is sent."""
    return STATEMENTS[name].sql


def prepare_sql(name: str) -> str:
    """Statement ``name`` as ``PREPARE name (types) AS ...;``, with ``$n`` for its parameters, ready for
    ``psql``: ``EXPLAIN EXECUTE name(...)`` then shows its plan."""
    statement = STATEMENTS[name]
    order = list(dict.fromkeys(parameter for parameter, _ in _PARAMETER.findall(statement.sql)))

    def positional(match: re.Match) -> str:
        return f"${order.index(match.group(1)) + 1}" + (f"::{match.group(2)}" if match.group(2) else "")

    body = _PARAMETER.sub(positional, statement.sql).replace("%%", "%")
    types = ", ".join(statement.types[parameter] for parameter in order)
    return f"PREPARE {name}{f' ({types})' if types else ''} AS\n{body};"
