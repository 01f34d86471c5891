"""The lifecycle's statement files: read by name, each statement whole, and a bad file named at import."""

from __future__ import annotations

import pytest

from goals.lifecycle.statements import FILES, SQL_DIR, STATEMENTS, StatementFileError, load, prepare_sql


def test_every_file_in_the_folder_is_loaded_and_every_statement_is_named_and_described():
    assert sorted(FILES) == sorted(path.name for path in SQL_DIR.glob("*.sql"))
    for name, statement in STATEMENTS.items():
        assert statement.sql.startswith(f"-- goaltrack: {name}\n")
        assert len(statement.description) > 20, name


def test_a_statement_renders_for_psql_with_positional_typed_parameters():
    text = prepare_sql("mark_queued")
    assert text.startswith("PREPARE mark_queued (uuid[], integer[], text, text) AS\n-- goaltrack: mark_queued\n")
    assert "%(" not in text
    assert text.rstrip().endswith(";")


@pytest.mark.parametrize(("content", "complaint"), [
    ("SELECT 1", "every statement must start with a '-- name: <name>' line"),
    ("-- name: bare\nSELECT 1", "needs a description and a body"),
    ("-- name: untyped\n-- Says what it does.\nSELECT %(goal_id)s", "every use of goal_id needs its type"),
    ("-- name: mistyped\n-- Says what it does.\nSELECT %(n)s::integer, %(n)s::text",
     "n is cast to integer and to text"),
])
def test_a_malformed_file_is_refused_naming_the_file(tmp_path, content, complaint):
    (tmp_path / "broken.sql").write_text(content)
    with pytest.raises(StatementFileError, match=complaint) as refused:
        load(tmp_path, ("broken.sql",))
    assert "broken.sql" in str(refused.value)


def test_a_missing_file_or_a_name_given_twice_is_refused(tmp_path):
    with pytest.raises(StatementFileError, match=r"gone\.sql: cannot be read"):
        load(tmp_path, ("gone.sql",))
    for file in ("a.sql", "b.sql"):
        (tmp_path / file).write_text("-- name: twice\n-- Says what it does.\nSELECT 1")
    with pytest.raises(StatementFileError, match="'twice' is also in"):
        load(tmp_path, ("a.sql", "b.sql"))
