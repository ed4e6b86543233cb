"""Documentation comments for C#, TypeScript, JavaScript, Java, C++, C, PHP and Bash: the format
of each, safety against hostile prose, and the real check: inserted into real-looking files,
every block is found again as the unit's documentation and no code token changes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from docroute.analyze import code_tokens, extract_units, language_for_path
from docroute.prompts import build_messages, template_name
from docroute.render import render_doc_comment, render_docstring, render_help, render_inline
from docroute.types import DocContent, Example, Param, Unit
from docroute.write import apply_docs, check_only_docs_changed

LANGS = Path(__file__).parents[1] / "analyze" / "data" / "langs"
SOURCES = sorted(LANGS.iterdir(), key=lambda path: path.name)
C_FAMILY = ["csharp", "typescript", "javascript", "java", "cpp", "c", "php"]

DOC = DocContent(
    synopsis="Adds a line to the invoice.",
    description="The line is appended. Tags are stored with it.",
    parameters={"line": "The line to add.", "tags": "Labels for the line."},
    returns="The new total.",
    raises={"ArgumentNullException": "When line is null."},
)
HOSTILE = DocContent(
    synopsis="Ends early */ int x; /* and <b>bold</b> & more",
    description="@param fake is not a parameter.\n\n\\brief and @return are commands */\n*/",
    parameters={"line": "@throws nothing */ really", "tags": "A <list> of */ tags."},
    returns="@return twice",
    examples=[Example(code="total = invoice.add(line) /* inline */\n@Annotated()",
                      description="Adds */ one line.")],
    notes="*/ #> ''' \"\"\"",
)


def method(language: str) -> Unit:
    return Unit(
        language, "method", "Invoice.Add", "", 1, 1,
        params=(
            Param("line", "Line", mandatory=True),
            Param("tags", "string", kind="var_positional"),
            Param("limit", "int", default="10"),
        ),
        outputs=("decimal",),
        raises=("ArgumentNullException",),
    )


# --- the formats ------------------------------------------------------------------------------

EXPECTED = {
    "csharp": """\
    /// <summary>
    /// Adds a line to the invoice.
    /// </summary>
    /// <param name="line">The line to add.</param>
    /// <param name="tags">Labels for the line.</param>
    /// <param name="limit">The limit parameter. Defaults to 10.</param>
    /// <returns>The new total.</returns>
    /// <exception cref="ArgumentNullException">When line is null.</exception>
    /// <remarks>
    /// The line is appended. Tags are stored with it.
    /// </remarks>
""",
    "typescript": """\
    /**
     * Adds a line to the invoice.
     *
     * The line is appended. Tags are stored with it.
     *
     * @param line - The line to add.
     * @param tags - Labels for the line.
     * @param limit - The limit parameter. Defaults to 10.
     * @returns The new total.
     * @throws {@link ArgumentNullException} When line is null.
     */
""",
    "javascript": """\
    /**
     * Adds a line to the invoice.
     *
     * The line is appended. Tags are stored with it.
     *
     * @param {Line} line - The line to add.
     * @param {...string} tags - Labels for the line.
     * @param {int} limit - The limit parameter. Defaults to 10.
     * @returns {decimal} The new total.
     * @throws {ArgumentNullException} When line is null.
     */
""",
    "java": """\
    /**
     * Adds a line to the invoice.
     *
     * <p>The line is appended. Tags are stored with it.
     *
     * @param line The line to add.
     * @param tags Labels for the line.
     * @param limit The limit parameter. Defaults to 10.
     * @return The new total.
     * @throws ArgumentNullException When line is null.
     */
""",
    "cpp": """\
    /**
     * @brief Adds a line to the invoice.
     *
     * The line is appended. Tags are stored with it.
     *
     * @param line The line to add.
     * @param tags Labels for the line.
     * @param limit The limit parameter. Defaults to 10.
     * @return The new total.
     * @throws ArgumentNullException When line is null.
     */
""",
    "php": """\
    /**
     * Adds a line to the invoice.
     *
     * The line is appended. Tags are stored with it.
     *
     * @param Line $line The line to add.
     * @param string ...$tags Labels for the line.
     * @param int $limit The limit parameter. Defaults to 10.
     * @return decimal The new total.
     * @throws ArgumentNullException When line is null.
     */
""",
}


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_each_language_gets_its_format(language: str) -> None:
    assert render_doc_comment(method(language), DOC, indent="    ") == EXPECTED[language]


def test_c_uses_doxygen_like_cpp() -> None:
    assert render_doc_comment(method("c"), DOC) == render_doc_comment(method("cpp"), DOC)


def test_bash_function_header() -> None:
    unit = Unit(
        "bash", "function", "backup_dir", "", 1, 1,
        params=(
            Param("src", mandatory=True, position=1),
            Param("dest", default="/tmp", position=2),
            Param("-v", switch=True),
            Param("-d", type="string"),
        ),
        returns_value=True,
    )
    doc = DocContent(
        synopsis="Archives a directory.",
        description="Writes a tar file.",
        parameters={"src": "Directory to archive.", "-d": "Where to write."},
        returns="1 when the directory is missing.",
    )
    assert render_doc_comment(unit, doc, indent="  ") == """\
  # Archives a directory.
  #
  # Writes a tar file.
  # Options:
  #   -v: The -v parameter.
  #   -d VALUE: Where to write.
  # Arguments:
  #   src ($1): Directory to archive.
  #   dest ($2): The dest parameter. Defaults to /tmp.
  # Returns:
  #   1 when the directory is missing.
"""


def test_bash_script_header_rewrites_the_shebang_and_ends_with_a_blank_line() -> None:
    unit = Unit("bash", "script", "backup.sh", "", 1, 1, extra={"shebang": "#!/usr/bin/env bash"})
    doc = DocContent(synopsis="Backs up directories.", description="")
    assert render_doc_comment(unit, doc) == "#!/usr/bin/env bash\n# Backs up directories.\n\n"


def test_examples_are_code_in_each_format() -> None:
    doc = DOC.model_copy(update={"examples": [Example(code="invoice.Add(line);",
                                                        description="Adds one line.")]})
    csharp = render_doc_comment(method("csharp"), doc)
    assert "/// <example>\n/// Adds one line.\n/// <code>\n/// invoice.Add(line);\n" in csharp
    typescript = render_doc_comment(method("typescript"), doc)
    assert " * @example\n * Adds one line.\n * ```ts\n * invoice.Add(line);\n * ```\n" in typescript
    java = render_doc_comment(method("java"), doc)
    assert " * <p>Example: Adds one line.\n * <pre>\n * invoice.Add(line);\n * </pre>\n" in java
    cpp = render_doc_comment(method("cpp"), doc)
    assert " * @code\n * invoice.Add(line);\n * @endcode\n" in cpp


def test_a_constructor_and_a_class_have_no_returns() -> None:
    constructor = Unit("java", "method", "Repo.Repo", "", 1, 1, params=(Param("size", "int"),))
    text = render_doc_comment(constructor, DOC)
    assert "@return" not in text and "@param size" in text
    klass = Unit("csharp", "class", "Repo", "", 1, 1, returns_value=True)
    assert "<returns>" not in render_doc_comment(klass, DOC)


def test_empty_prose_falls_back_to_facts() -> None:
    unit = method("typescript")
    text = render_doc_comment(unit, DocContent(synopsis="", description=""))
    assert text.startswith("/**\n * Invoice.Add.\n")
    assert " * @param line - The line parameter.\n" in text
    assert " * @returns The result.\n" in text


def test_long_prose_wraps_within_the_width() -> None:
    doc = DocContent(synopsis="Word " * 60, description="Other " * 80,
                     parameters={"line": "Part " * 50})
    for language in C_FAMILY:
        text = render_doc_comment(method(language), doc, indent="        ", width=80)
        assert all(len(line) <= 80 for line in text.splitlines()), language


# --- hostile prose ----------------------------------------------------------------------------

_TAGS = re.compile(r"^@(param|returns?|throws|example|brief|par|code|endcode)\b")


def _prose_lines(block: str) -> list[str]:
    """The content lines of a ``/** */`` block outside code (a fence, ``@code``), where
    TSDoc and Doxygen read no tags."""
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "/**" and lines[-1] == "*/"
    prose, in_code = [], False
    for line in (line.removeprefix("*").strip() for line in lines[1:-1]):
        if line.startswith("```") or line in ("@code", "@endcode"):
            in_code = not in_code
        elif not in_code:
            prose.append(line)
    return prose


@pytest.mark.parametrize("language", ["typescript", "javascript", "java", "cpp", "php"])
def test_hostile_prose_cannot_end_the_comment_or_add_tags(language: str) -> None:
    block = render_doc_comment(method(language), HOSTILE, indent="  ")
    assert block.count("*/") == 1 and block.rstrip().endswith("*/")
    for line in _prose_lines(block):
        assert not line.startswith("@") or _TAGS.match(line), line
    # The prose is still there, quoted or escaped.
    assert "Ends early" in block and "Adds" in block


def test_javadoc_escapes_html() -> None:
    block = render_doc_comment(method("java"), HOSTILE)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in block
    assert "&#64;Annotated()" in block  # a code line starting with @ would be a tag


def test_doxygen_escapes_its_commands() -> None:
    block = render_doc_comment(method("cpp"), HOSTILE)
    assert "\\@param fake" in block and "\\\\brief and \\@return" in block
    assert "\\<b\\>bold" in block


def test_xml_documentation_is_well_formed_and_reads_back() -> None:
    block = render_doc_comment(method("csharp"), HOSTILE)
    assert all(line.startswith("/// ") for line in block.splitlines())
    xml = "\n".join(line.removeprefix("/// ") for line in block.splitlines())
    root = ElementTree.fromstring(f"<doc>{xml}</doc>")
    summary = root.find("summary")
    assert summary is not None and summary.text is not None
    assert summary.text.strip() == HOSTILE.synopsis
    params = {p.get("name"): p.text for p in root.iter("param")}
    assert params["tags"] == "A <list> of */ tags."
    code = root.find("example/code")
    assert code is not None and "@Annotated()" in (code.text or "")


def test_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="cobol"):
        render_doc_comment(Unit("cobol", "function", "f", "", 1, 1), DOC)


# --- the real check: insert into real files, parse again --------------------------------------


def _edits(text: str, language: str, doc: DocContent) -> list[tuple[Unit, str]]:
    edits = []
    for unit in extract_units(text, language):
        if unit.insertion is not None:
            edits.append((unit, render_inline(unit, doc, indent=unit.insertion.indent)))
    return edits


def _block_text(unit: Unit, block: str) -> str:
    """What the analyzer should find as the documentation: the block without the #! line."""
    shebang = unit.extra.get("shebang", "")
    return block.strip().removeprefix(shebang).strip()


def _document(text: str, language: str, doc: DocContent) -> str:
    edits = _edits(text, language, doc)
    assert edits
    new = apply_docs(text, edits)
    check_only_docs_changed(text, new, language)
    assert code_tokens(new, language) == code_tokens(text, language)
    again = {unit.name: unit for unit in extract_units(new, language)}
    for unit, block in edits:
        found = again[unit.name]
        assert found.existing_doc is not None, f"{unit.name}: documentation not found"
        assert found.existing_doc.replace("\r\n", "\n") == _block_text(unit, block), unit.name
    return new


@pytest.mark.parametrize("doc", [HOSTILE, DOC, DocContent(synopsis="", description="")],
                         ids=["hostile", "plain", "empty"])
@pytest.mark.parametrize("variant", ["lf", "crlf", "bom"])
@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_every_unit_is_documented_safely_and_found_again(
    path: Path, variant: str, doc: DocContent
) -> None:
    language = language_for_path(path)
    assert language is not None
    text = path.read_text(encoding="utf-8")
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "bom":
        text = "\ufeff" + text
    new = _document(text, language, doc)
    if variant == "crlf":
        assert new.count("\r\n") == new.count("\n")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_documenting_again_replaces_the_blocks_in_place(path: Path) -> None:
    language = language_for_path(path)
    assert language is not None
    first = _document(path.read_text(encoding="utf-8"), language, HOSTILE)
    second = _document(first, language, DOC)
    assert "Ends early" in first and "Ends early" not in second  # replaced, not added to
    assert _document(second, language, DOC) == second  # stable: nothing moves or grows
    assert len(extract_units(second, language)) == len(extract_units(first, language))


def test_documentation_reads_back_from_a_typescript_file() -> None:
    text = (LANGS / "cart.ts").read_text(encoding="utf-8")
    doc = DocContent(synopsis="Adds an item.", description="Creates a cart line.",
                     parameters={"item": "What to add.", "quantity": "How many."},
                     returns="The new line.",
                     raises={"RangeError": "When quantity is not positive."})
    new = _document(text, "typescript", doc)
    add = next(u for u in extract_units(new, "typescript") if u.name == "Cart.add")
    assert add.existing_doc is not None
    assert add.existing_doc.replace("\n  ", "\n") == """\
/**
 * Adds an item.
 *
 * Creates a cart line.
 *
 * @param item - What to add.
 * @param quantity - How many. Defaults to 1.
 * @param notes - The notes parameter.
 * @returns The new line.
 * @throws {@link RangeError} When quantity is not positive.
 */"""
    # Above the eslint directive, which still sits right on top of the decorated method.
    assert "*/\n  // eslint-disable-next-line @typescript-eslint/no-unused-vars\n  @Input()" in new


# --- one entry point for every language, and prompts for every unit ---------------------------


def test_render_inline_dispatches_on_the_language() -> None:
    ps = Unit("powershell", "function", "Get-Item", "", 1, 1)
    assert render_inline(ps, DOC, indent="  ") == render_help(ps, DOC, indent="  ")
    py = Unit("python", "function", "add", "", 1, 1, params=(Param("line"),))
    assert render_inline(py, DOC, python_style="numpy", indent="    ") == render_docstring(
        py, DOC, style="numpy", indent="    "
    )
    for language in [*C_FAMILY, "bash"]:
        unit = method(language)
        assert render_inline(unit, DOC, indent="\t") == render_doc_comment(unit, DOC, indent="\t")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_every_unit_gets_a_prompt(path: Path) -> None:
    language = language_for_path(path)
    assert language is not None
    for unit in extract_units(path.read_text(encoding="utf-8"), language, path):
        assert template_name(unit) in {
            "function_doccomment.txt",
            "class_doccomment.txt",
            "function_bash.txt",
            "script_bash.txt",
        }
        system, user = build_messages(unit, "chatml")
        assert "JSON" in system["content"]
        assert unit.code.strip() in user["content"]
        assert all(param.name in user["content"] for param in unit.params)


def test_the_default_is_joined_as_a_sentence_and_never_lost() -> None:
    """The same join as the Python renderer (``tidy.with_default``): a full stop before the
    default, and the parser's default kept when the model's text names another one."""
    unit = Unit("bash", "function", "backup", "", 1, 1, params=(
        Param("dest", default="/tmp", position=1), Param("count", default="3", position=2),
        Param("mode", default="fast", position=3)))
    doc = DocContent(synopsis="Backs up.", description="", parameters={
        "dest": "Where the copy goes", "count": "How many copies. The default is 5.",
        "mode": "Copy mode; the default is fast."})
    block = render_doc_comment(unit, doc)
    assert "dest ($1): Where the copy goes. Defaults to /tmp." in block
    assert "count ($2): How many copies. Defaults to 3." in block
    assert "mode ($3): Copy mode; the default is fast.\n" in block


def test_a_summary_taken_from_the_description_is_not_repeated() -> None:
    unit = Unit("bash", "function", "backup", "", 1, 1)
    doc = DocContent(synopsis="Backs up the folder.",
                     description="Backs up the folder. Old copies are kept.")
    block = render_doc_comment(unit, doc)
    assert block.count("Backs up the folder.") == 1 and "Old copies are kept." in block
