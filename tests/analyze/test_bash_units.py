"""Bash units: the script and its functions (both forms), parameters read from how the code uses
``$1``, ``${2:-default}``, ``"$@"`` and ``getopts``, header comment blocks and insertion points."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute._exceptions import ParseError
from docroute.analyze import code_tokens, extract_units
from docroute.types import Param, Unit

DATA = Path(__file__).parent / "data" / "langs"
BACKUP = DATA / "backup.sh"


def units_of(text: str, path: Path | None = None) -> dict[str, Unit]:
    return {unit.name: unit for unit in extract_units(text, "bash", path)}


@pytest.fixture
def backup() -> dict[str, Unit]:
    return units_of(BACKUP.read_text(encoding="utf-8"), BACKUP)


def test_script_and_functions_of_both_forms(backup: dict[str, Unit]) -> None:
    assert [(u.kind, u.name) for u in backup.values()] == [
        ("script", "backup.sh"),
        ("function", "log"),
        ("function", "archive_name"),  # `function archive_name { ... }`
        ("function", "backup_dir"),
        ("function", "usage"),  # a one-line `usage() { ...; }`
        ("function", "main"),
    ]
    assert backup["archive_name"].extra["keyword"] == "function"
    assert backup["log"].extra["keyword"] == "parentheses"
    assert backup["backup_dir"].calls == (
        "archive_name", "basename", "cat", "dirname", "log", "tar"
    )


def test_positional_parameters_are_named_after_their_variables(backup: dict[str, Unit]) -> None:
    assert backup["archive_name"].params == (
        Param(name="source_dir", mandatory=True, position=1),
        Param(name="stamp", default="$(date +%F)", position=2),
    )
    assert backup["backup_dir"].params == (
        Param(name="src", mandatory=True, position=1),
        Param(name="dest", default="$DEFAULT_DEST", position=2),
    )
    assert backup["log"].params == (Param(name="$@", kind="var_positional"),)  # "$*"


def test_getopts_options_are_parameters(backup: dict[str, Unit]) -> None:
    assert backup["main"].params == (
        Param(name="-v", switch=True),
        Param(name="-d", type="string"),
        Param(name="-h", switch=True),
        Param(name="$@", kind="var_positional"),
    )
    # The script passes its arguments on to main.
    assert backup["backup.sh"].params == (Param(name="$@", kind="var_positional"),)


def test_returns_value_is_output_or_an_exit_status(backup: dict[str, Unit]) -> None:
    assert backup["archive_name"].returns_value  # echo
    assert backup["backup_dir"].returns_value  # return 1
    assert not backup["log"].returns_value  # echo ... >&2 is not output
    assert not backup["main"].returns_value


def test_function_documentation_is_the_comment_block_above(backup: dict[str, Unit]) -> None:
    text = BACKUP.read_text(encoding="utf-8")
    log = backup["log"]
    assert log.existing_doc == "# Prints a message to standard error."
    assert log.insertion is not None and log.insertion.replace_end is not None
    assert text[log.insertion.offset : log.insertion.replace_end] == (
        "# Prints a message to standard error.\n"
    )
    # A shellcheck directive is not documentation, and stays right above the function.
    archive = backup["archive_name"]
    assert archive.existing_doc is None and archive.insertion is not None
    assert text[archive.insertion.offset :].startswith("# shellcheck disable=SC2155\nfunction")
    # A `#` line inside a here-document is not a comment.
    assert backup["backup_dir"].existing_doc is None
    assert backup["usage"].insertion is not None


def test_script_header_and_its_insertion(backup: dict[str, Unit]) -> None:
    text = BACKUP.read_text(encoding="utf-8")
    script = backup["backup.sh"]
    assert script.existing_doc == "#\n# Back up directories into dated tar archives."
    assert script.extra["shebang"] == "#!/usr/bin/env bash"
    # The insertion covers the #! line, the header and the blank line after it: the renderer
    # writes the #! line and a blank line again.
    assert script.insertion is not None and script.insertion.placement == "top"
    assert text[script.insertion.offset : script.insertion.replace_end] == (
        "#!/usr/bin/env bash\n#\n# Back up directories into dated tar archives.\n\n"
    )


def test_header_right_above_a_function_documents_the_function() -> None:
    text = "#!/bin/sh\n# Greets someone.\ngreet() {\n  echo \"hello ${1:?name}\"\n}\n"
    units = units_of(text)
    assert units["script"].existing_doc is None
    assert units["greet"].existing_doc == "# Greets someone."
    assert units["greet"].params == (Param(name="$1", mandatory=True, position=1),)
    # New script documentation replaces the #! line (written again) and does not collide with
    # the function's block.
    script = units["script"].insertion
    assert script is not None and (script.offset, script.replace_end) == (0, len("#!/bin/sh\n"))


def test_script_without_a_shebang_that_starts_with_a_function() -> None:
    units = units_of("greet() {\n  echo hi\n}\n")
    assert units["script"].insertion is None
    assert units["script"].skip_reason is not None
    assert units["greet"].insertion is not None and units["greet"].insertion.offset == 0


def test_script_without_a_header_gets_one_after_the_shebang() -> None:
    text = "#!/bin/bash\n\nset -e\nrsync -a \"$1\" \"$2\"\n"
    units = units_of(text)
    script = units["script"]
    assert script.existing_doc is None
    assert script.params == (Param(name="$1", mandatory=True, position=1),
                             Param(name="$2", mandatory=True, position=2))
    # The #! line and the blank line below it are written again with the header.
    assert script.insertion is not None
    assert text[script.insertion.offset : script.insertion.replace_end] == "#!/bin/bash\n\n"


def test_nested_functions_have_a_parent() -> None:
    text = "outer() {\n  inner() {\n    echo \"$1\"\n  }\n  inner \"$2\"\n}\n"
    units = units_of(text)
    assert units["inner"].parent == "outer"
    # `$1` belongs to inner; outer uses only `$2`.
    assert units["outer"].params == (Param(name="$2", mandatory=True, position=2),)
    assert units["outer"].calls == ("inner",)


@pytest.mark.parametrize(
    "text",
    [
        "backup() {\n  tar -czf x.tgz \"$1\"\n",  # no closing brace
        "if [ -d \"$1\" ]; then\n  echo yes\n",  # no fi
        "echo \"unterminated\n",
    ],
)
def test_syntax_errors_are_parse_errors(text: str) -> None:
    with pytest.raises(ParseError, match="line"):
        extract_units(text, "bash")


def test_code_tokens_keep_the_shebang_and_line_structure() -> None:
    script = "#!/bin/bash\n# comment\nrm -rf \"$dir\"\necho done\n"
    tokens = code_tokens(script, "bash")
    assert code_tokens(script.replace("# comment\n", "# other\n\n"), "bash") == tokens
    assert code_tokens(script.replace("#!/bin/bash", "#!/bin/sh"), "bash") != tokens
    assert code_tokens(script.replace('"$dir"\necho', '"$dir" echo'), "bash") != tokens
    assert code_tokens(script.replace('"$dir"', '"$dir "'), "bash") != tokens
