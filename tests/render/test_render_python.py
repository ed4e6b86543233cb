"""render_docstring gives docstrings that compile and read back exactly, in all three styles."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import replace
from typing import Any

import pytest

from docroute.analyze import extract_units
from docroute.render import DocstringStyle, render_docstring
from docroute.render.python import raise_fallback
from docroute.types import DocContent, Example, Param, RaiseFact, Unit

STYLES: list[DocstringStyle] = ["google", "numpy", "sphinx"]


def make_unit(*params: Param, **facts: Any) -> Unit:
    base = Unit(
        language="python", kind="function", name="parse_line", code="", start_line=1, end_line=5
    )
    return replace(base, params=params, **facts)


COUNT = make_unit(
    Param("self"),
    Param("name", "str"),
    Param("aliases", "str", kind="var_positional"),
    Param("strict", "bool", default="False", kind="keyword_only"),
    Param("extra", "object", kind="var_keyword"),
    kind="method",
    name="Inventory.count",
    outputs=("int",),
    returns_value=True,
    raises=("KeyError", "ValueError"),
)
DOC = DocContent(
    synopsis="Count the items called name.",
    description="Adds the counts of every alias.",
    parameters={"name": "The item name.", "aliases": "Other names.", "strict": "Fail if missing."},
    returns="The total count.",
    raises={"KeyError": "If strict and name is unknown."},
    examples=[Example(code="inv.count('disk')", description="Count disks.")],
)


def docstring_of(statement: str) -> str | None:
    """Put ``statement`` (rendered with a 4-space indent) into a function body, compile it,
    and read the docstring back."""
    source = f"def f():\n{statement}    return 1\n"
    tree = ast.parse(source)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    return ast.get_docstring(function)


@pytest.mark.parametrize("style", STYLES)
def test_compiles_and_has_no_trailing_whitespace(style: DocstringStyle) -> None:
    statement = render_docstring(COUNT, DOC, style, indent="    ")
    assert statement.endswith('"""\n')
    assert all(line == line.rstrip() for line in statement.splitlines())
    assert docstring_of(statement) is not None


def test_google_style() -> None:
    statement = render_docstring(COUNT, DOC, "google", indent="    ")
    assert docstring_of(statement) == textwrap.dedent(
        """\
        Count the items called name.

        Adds the counts of every alias.

        Args:
            name (str): The item name.
            *aliases (str): Other names.
            strict (bool, optional): Fail if missing. Defaults to False.
            **extra (object): The **extra argument.

        Returns:
            int: The total count.

        Raises:
            KeyError: If strict and name is unknown.
            ValueError

        Examples:
            Count disks.

            >>> inv.count('disk')"""
    )


def test_numpy_style() -> None:
    statement = render_docstring(COUNT, DOC, "numpy", indent="    ")
    assert docstring_of(statement) == textwrap.dedent(
        """\
        Count the items called name.

        Adds the counts of every alias.

        Parameters
        ----------
        name : str
            The item name.
        *aliases : str
            Other names.
        strict : bool, optional
            Fail if missing. Defaults to False.
        **extra : object
            The **extra argument.

        Returns
        -------
        int
            The total count.

        Raises
        ------
        KeyError
            If strict and name is unknown.
        ValueError

        Examples
        --------
        Count disks.

        >>> inv.count('disk')"""
    )


def test_sphinx_style() -> None:
    statement = render_docstring(COUNT, DOC, "sphinx", indent="    ")
    assert statement.lstrip().startswith('r"""')  # \* escapes need a raw string
    assert docstring_of(statement) == textwrap.dedent(
        """\
        Count the items called name.

        Adds the counts of every alias.

        :param name: The item name.
        :type name: str
        :param \\*aliases: Other names.
        :type \\*aliases: str
        :param strict: Fail if missing. Defaults to False.
        :type strict: bool, optional
        :param \\*\\*extra: The **extra argument.
        :type \\*\\*extra: object
        :returns: The total count.
        :rtype: int
        :raises KeyError: If strict and name is unknown.
        :raises ValueError:

        Examples:

        Count disks.

        >>> inv.count('disk')"""
    )


@pytest.mark.parametrize("style", STYLES)
def test_generator_yields_the_element_type(style: DocstringStyle) -> None:
    unit = make_unit(
        Param("pattern", "str", default='r"\\w+"'),
        outputs=("Iterator[tuple[str, int]]",),
        is_generator=True,
        returns_value=True,
    )
    doc = DocContent(synopsis="Yield matching names.", description="", returns="Names.")
    text = docstring_of(render_docstring(unit, doc, style, "    "))
    assert text is not None
    assert "tuple[str, int]" in text and "Iterator" not in text
    assert "Return" not in text and ("Yields" in text or ":yields:" in text)
    assert 'r"\\w+"' in text  # the default, backslash intact


@pytest.mark.parametrize("style", STYLES)
def test_no_returns_section_without_a_result(style: DocstringStyle) -> None:
    unit = make_unit(Param("path", "str"), outputs=("None",))
    doc = DocContent(synopsis="Do.", description="")
    text = docstring_of(render_docstring(unit, doc, style, "    "))
    assert text is not None
    assert "Return" not in text and "rtype" not in text and "return" not in text


def test_summary_only_is_a_one_line_docstring() -> None:
    statement = render_docstring(make_unit(), DocContent(synopsis="Do it.", description=""))
    assert statement == '"""Do it."""\n'


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    "hostile",
    [
        r"Matches C:\new\table and \N{BULLET} and \x00 literally.",
        'Quotes """ inside and """" more and a trailing quote"',
        'Both \\ and """ and \\""" mixed\\',
        "Ends with a backslash \\",
        'Ends with a quote "',
        '"""',
        "\\",
    ],
)
def test_backslashes_and_quotes_read_back_exactly(style: DocstringStyle, hostile: str) -> None:
    doc = DocContent(
        synopsis=hostile,
        description=hostile,
        parameters={"path": hostile},
        examples=[Example(code=f"f({hostile!r})", description=hostile)],
    )
    unit = make_unit(Param("path", "str"))
    statement = render_docstring(unit, doc, style, indent="    ")
    text = docstring_of(statement)
    assert text is not None
    assert text.splitlines()[0] == hostile.strip()
    assert text.count(hostile.strip()) >= 3
    # The summary-only form must compile too (the one-line docstring path).
    summary_only = DocContent(synopsis=hostile, description="")
    short = render_docstring(make_unit(), summary_only, style, "    ")
    assert docstring_of(short) == hostile.strip()


def test_prose_never_starts_a_doctest_line() -> None:
    text = ">>> not run. " + "word " * 30 + ">>> nor this."
    doc_content = DocContent(synopsis="x", description=text)
    statement = render_docstring(make_unit(), doc_content, indent="    ")
    doc = docstring_of(statement)
    assert doc is not None
    assert not any(line.lstrip().startswith(">>>") for line in doc.splitlines())


def test_multi_line_example_uses_continuation_prompts() -> None:
    code = "for name in names:\n    print(name)\nlen(names)\nf(1,\n  2)"
    doc = DocContent(synopsis="x", description="", examples=[Example(code=code, description="")])
    text = docstring_of(render_docstring(make_unit(), doc, indent="    "))
    assert text is not None
    assert text.split("Examples:\n", 1)[1].splitlines() == [
        "    >>> for name in names:",
        "    ...     print(name)",
        "    >>> len(names)",
        "    >>> f(1,",
        "    ...   2)",
    ]


def test_examples_can_be_left_out() -> None:
    statement = render_docstring(COUNT, DOC, examples=False)
    assert ">>>" not in statement and "Examples" not in statement


def test_width_is_respected_for_prose() -> None:
    doc = DocContent(synopsis="Short.", description="word " * 100, parameters={"name": "w " * 80})
    statement = render_docstring(COUNT, doc, indent="        ", width=72)
    assert all(len(line) <= 72 for line in statement.splitlines())


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown docstring style"):
        render_docstring(COUNT, DOC, "epydoc")  # type: ignore[arg-type]


def test_one_line_docstring_fits_the_width() -> None:
    synopsis = "Count " + "items " * 12
    for width in range(60, 90):
        statement = render_docstring(
            make_unit(), DocContent(synopsis=synopsis, description=""), indent="    ", width=width
        )
        assert all(len(line) <= width for line in statement.splitlines()), statement
        assert docstring_of(statement) is not None


def test_class_and_module_units() -> None:
    cls = make_unit(
        Param("self"),
        Param("items", "dict[str, int] | None", default="None"),
        kind="class",
        name="Inventory",
    )
    text = docstring_of(
        render_docstring(cls, DocContent(synopsis="Hold items.", description=""), indent="    ")
    )
    assert text == (
        "Hold items.\n\nArgs:\n    items (dict[str, int] | None, optional): Defaults to None."
    )
    module = make_unit(kind="module", name="inventory")
    statement = render_docstring(module, DocContent(synopsis="", description="Helpers. More."))
    assert statement == '"""Helpers.\n\nMore.\n"""\n'


CLAMP_SOURCE = '''\
def clamp(value, low, high):
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))
'''
CLAMP_DOC = DocContent(
    synopsis="Limit value to the range from low to high.",
    description="",
    parameters={"value": "The number to limit.", "low": "The lower bound.",
                "high": "The upper bound."},
    returns="The value, or the nearest bound.",
)


def test_raises_text_falls_back_to_the_parser_facts() -> None:
    # What SmolLM2-135M gave for clamp: no text for ValueError.
    clamp = next(u for u in extract_units(CLAMP_SOURCE, "python") if u.name == "clamp")
    statement = render_docstring(clamp, CLAMP_DOC, "google", indent="    ")

    assert docstring_of(statement) == textwrap.dedent(
        """\
        Limit value to the range from low to high.

        Args:
            value: The number to limit.
            low: The lower bound.
            high: The upper bound.

        Returns:
            The value, or the nearest bound.

        Raises:
            ValueError: If low > high ("low must not exceed high")."""
    )
    sphinx = docstring_of(render_docstring(clamp, CLAMP_DOC, "sphinx", indent="    "))
    assert sphinx is not None
    assert ':raises ValueError: If low > high ("low must not exceed high").' in sphinx


def test_raised_types_come_from_the_code_with_the_models_text_first() -> None:
    source = textwrap.dedent(
        '''\
        def fetch(table, key, *, timeout=5.0):
            if timeout <= 0:
                raise ValueError("timeout must be positive")
            try:
                row = table.lookup(key, timeout)
            except TimeoutError as exc:
                raise LookupError(f"no answer for {key}") from exc
            if row is None:
                raise KeyError(key)
            elif row.deleted:
                raise KeyError('row "' + key + '" was deleted')
            return row
        '''
    )
    fetch = extract_units(source, "python")[1]
    doc = DocContent(
        synopsis="Fetch one row of a table.",
        description="",
        # The model's text for KeyError is kept; blank text (as tidy leaves junk) is replaced;
        # an exception the code does not raise is not documented.
        raises={"KeyError": "If there is no row for key.", "ValueError": "  ",
                "OSError": "If the disk fails."},
    )
    text = docstring_of(render_docstring(fetch, doc, "google", indent="    "))

    assert text is not None
    assert text.split("Raises:\n")[1].splitlines() == [
        '    ValueError: If timeout <= 0 ("timeout must be positive").',
        "    LookupError",  # raised with an f-string message, outside any `if`
        "    KeyError: If there is no row for key.",
    ]


def test_raise_fallback_wording() -> None:
    assert raise_fallback(RaiseFact("ValueError")) == ""
    assert raise_fallback(RaiseFact("ValueError", ((None, None),))) == ""
    assert raise_fallback(RaiseFact("OSError", ((None, "disk  full\n"),))) == (
        'With message "disk full".'
    )
    both = RaiseFact("KeyError", (("key not in data", None), (None, "bad key")))
    assert raise_fallback(both) == 'If key not in data, or with message "bad key".'
    many = RaiseFact("ValueError", tuple((f"n == {i}", None) for i in range(5)))
    assert raise_fallback(many) == (
        "If n == 0, or if n == 1, or if n == 2, or in other cases."
    )
    long = raise_fallback(RaiseFact("ValueError", (("x", "word " * 40),)))
    assert long.startswith('If x ("word word') and long.endswith('word...").')
    assert len(long) < 120


def test_the_default_joins_the_text_as_a_sentence_and_the_true_one_is_kept() -> None:
    """Seen on examples/python/retry_utils.py: ``The base data type is set to 2.0 Defaults to
    0.1.`` (no full stop), and ``jitter``'s true default lost because the model's text said
    "default" (with a wrong value)."""
    unit = make_unit(
        Param("base", "float", default="0.1"),
        Param("jitter", "bool", default="True"),
        Param("sleep", "Callable", default="time.sleep"),
        Param("encoding", "str", default="'utf-8'"),
        Param("attempts", "int", default="3"),
        name="backoff",
    )
    doc = DocContent(synopsis="Yields delays.", description="", parameters={
        "base": "The base data type is set to 2.0",
        "jitter": "The default value of 1.0 is set to a negative infinity. Adds noise.",
        "sleep": "Function that returns a default value when an exception is raised.",
        "encoding": "The text encoding; the default is utf-8.",
        "attempts": "How often to try, at most",
    })
    text = docstring_of(render_docstring(unit, doc, "google", indent="    ", width=200))
    assert text is not None
    assert text.split("Args:\n")[1].splitlines() == [
        "    base (float, optional): The base data type is set to 2.0. Defaults to 0.1.",
        "    jitter (bool, optional): Adds noise. Defaults to True.",
        "    sleep (Callable, optional): Function that returns a default value when an exception"
        " is raised. Defaults to time.sleep.",
        "    encoding (str, optional): The text encoding; the default is utf-8.",
        "    attempts (int, optional): How often to try, at most. Defaults to 3.",
    ]


def test_a_repeated_example_is_rendered_once() -> None:
    doc = DocContent(synopsis="Count.", description="", examples=[
        Example(code="inv.count('disk')", description="Count disks."),
        Example(code=">>> inv.count('disk')", description="Count disks again."),
    ])
    text = docstring_of(render_docstring(COUNT, doc, "google", indent="    "))
    assert text is not None and text.count("inv.count('disk')") == 1


def test_a_summary_taken_from_the_description_is_not_repeated() -> None:
    """``tidy_doc`` gives a cut synopsis's place to the description's first sentence."""
    doc = DocContent(synopsis="Takes a token if one is left.",
                     description="Takes a token if one is left. Refills them first.")
    text = docstring_of(render_docstring(make_unit(), doc, "google", indent="    "))
    assert text == "Takes a token if one is left.\n\nRefills them first."
