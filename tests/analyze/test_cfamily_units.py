"""C-family units (C#, TypeScript, JavaScript, Java, C++, C, PHP) read from real-looking files:
names, kinds, parameters, return types, thrown types, existing documentation and where new
documentation goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute._exceptions import ParseError
from docroute.analyze import code_tokens, extract_units, language_for_path
from docroute.types import Param, Unit

DATA = Path(__file__).parent / "data" / "langs"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def units_of(name: str) -> dict[str, Unit]:
    path = DATA / name
    language = language_for_path(path)
    assert language is not None
    return {unit.name: unit for unit in extract_units(read(name), language, path)}


def params(unit: Unit) -> list[tuple[str, str | None, str | None, str]]:
    return [(p.name, p.type, p.default, p.kind) for p in unit.params]


def line_at(text: str, offset: int) -> str:
    return text[offset : text.index("\n", offset)]


def replaced(text: str, unit: Unit) -> str:
    """The text an existing doc block's insertion replaces."""
    assert unit.insertion is not None and unit.insertion.replace_end is not None
    return text[unit.insertion.offset : unit.insertion.replace_end]


# --- C# ---------------------------------------------------------------------------------------


def test_csharp_units_in_source_order() -> None:
    units = units_of("Invoices.cs")
    assert [(u.kind, u.name) for u in units.values()] == [
        ("class", "Invoice"),
        ("method", "Invoice.Invoice"),
        ("method", "Invoice.Total()"),
        ("method", "Invoice.Total(Func<TLine, bool>)"),
        ("method", "Invoice.Add"),
        ("method", "Invoice.TryFind"),
        ("method", "Invoice.Overdue"),
        ("method", "Invoice.Dispose"),
        ("class", "ILineItem"),
        ("method", "ILineItem.AmountWithTax"),
        ("class", "Money"),
        ("method", "Money.Money"),
        ("class", "Customer"),
    ]
    assert units["ILineItem"].extra["declaration"] == "interface"
    assert units["Money"].extra["declaration"] == "struct"
    assert units["Invoice.Total()"].extra["overloaded_name"] == "Invoice.Total"


def test_csharp_facts() -> None:
    units = units_of("Invoices.cs")
    constructor = units["Invoice.Invoice"]
    assert params(constructor) == [
        ("number", "string", None, "normal"),
        ("issued", "DateTime", None, "normal"),
        ("discount", "decimal", "0m", "normal"),
    ]
    assert [p.mandatory for p in constructor.params] == [True, True, False]
    assert constructor.raises == ("ArgumentException",)
    assert constructor.outputs == () and not constructor.returns_value
    assert constructor.calls == ("nameof", "string.IsNullOrWhiteSpace")

    add = units["Invoice.Add"]
    assert params(add) == [("line", "TLine", None, "normal"), ("tags", "string[]", None,
                                                                 "var_positional")]
    assert add.raises == ("ArgumentNullException",)  # `?? throw new ...`
    assert add.outputs == () and not add.returns_value  # void

    assert params(units["Invoice.TryFind"])[1] == ("found", "out TLine?", None, "normal")
    total = units["Invoice.Total()"]
    assert total.outputs == ("decimal",) and total.returns_value  # expression body
    assert units["Invoice.Overdue"].is_generator
    signature = units["ILineItem.AmountWithTax"]
    assert signature.outputs == ("decimal",) and not signature.returns_value
    assert params(units["Customer"]) == [("Name", "string", None, "normal"),
                                         ("Email", "string", None, "normal")]


def test_csharp_documentation_and_insertion_points() -> None:
    text = read("Invoices.cs")
    units = units_of("Invoices.cs")
    invoice = units["Invoice"]
    assert invoice.existing_doc == (
        "/// <summary>\n    /// A customer invoice with its line items.\n    /// </summary>"
    )
    # The whole `///` block is replaced, line breaks included; the attribute stays.
    assert replaced(text, invoice) == (
        "    /// <summary>\n    /// A customer invoice with its line items.\n"
        "    /// </summary>\n"
    )
    assert invoice.start_line == 10 and line_at(text, text.index("[Serializable]")).strip() == (
        "[Serializable]"
    )
    # New documentation goes above the attribute...
    add = units["Invoice.Add"]
    assert add.insertion is not None and add.insertion.replace_end is None
    assert line_at(text, add.insertion.offset) == '        [Obsolete("Use AddRange instead.")]'
    assert add.insertion.indent == "        " and add.insertion.placement == "above"
    # ...and above a plain comment, which is not documentation.
    total = units["Invoice.Total()"]
    assert total.existing_doc is None and total.insertion is not None
    assert line_at(text, total.insertion.offset) == "        // Totals are computed on demand."


# --- TypeScript -------------------------------------------------------------------------------


def test_typescript_units() -> None:
    units = units_of("cart.ts")
    assert [(u.kind, u.name) for u in units.values()] == [
        ("class", "CartLine"),
        ("method", "CartLine.subtotal"),
        ("class", "Cart"),
        ("method", "Cart.constructor"),
        ("method", "Cart.add"),
        ("method", "Cart.size"),
        ("method", "Cart.clear"),
        ("method", "Cart.total"),  # an arrow function in a class field
        ("function", "parseQuantity(string)"),  # overload signatures and the implementation
        ("function", "parseQuantity(string, number)"),
        ("function", "parseQuantity(string, radix)"),
        ("function", "formatPrice"),  # an exported arrow function in a const
        ("class", "PriceRule"),
        ("method", "PriceRule.apply"),
        ("function", "batches"),
    ]


def test_typescript_facts() -> None:
    units = units_of("cart.ts")
    add = units["Cart.add"]
    assert params(add) == [
        ("item", "T", None, "normal"),
        ("quantity", None, "1", "normal"),
        ("notes", "string[]", None, "var_positional"),
    ]
    assert [p.mandatory for p in add.params] == [True, False, False]
    assert add.outputs == ("CartLine<T>",) and add.returns_value
    assert add.raises == ("RangeError",)
    assert add.calls == ("this.lines.push", "this.store.save")
    assert params(units["Cart.constructor"]) == [("store", "Store", None, "normal"),
                                                 ("currency", None, '"EUR"', "normal")]
    assert not units["CartLine.subtotal"].params[0].mandatory  # `taxRate?: number`
    assert units["Cart.clear"].outputs == ()  # void
    total = units["Cart.total"]
    assert params(total) == [("taxRate", "number", "0.2", "normal")] and total.returns_value
    price = units["formatPrice"]
    assert params(price) == [("amount", "number", None, "normal"),
                             ("root0", "{ currency?: string }", "{}", "normal")]
    assert price.outputs == ("Promise<string>",) and price.returns_value
    assert units["parseQuantity(string, radix)"].raises == ("TypeError",)
    assert units["batches"].is_generator


def test_typescript_documentation_above_decorators_and_directives() -> None:
    text = read("cart.ts")
    units = units_of("cart.ts")
    cart = units["Cart"]
    assert cart.existing_doc == "/**\n * A shopping cart that keeps its lines in the store.\n */"
    assert cart.code.startswith('@Injectable({ providedIn: "root" })\nexport class Cart')
    add = units["Cart.add"]
    assert add.existing_doc is None and add.insertion is not None
    # Above the eslint directive, which must stay right above the code it is about.
    assert line_at(text, add.insertion.offset).strip().startswith("// eslint-disable-next-line")
    assert add.code.startswith("@Input()\nadd(")


def test_tsx_file_parses_with_the_tsx_grammar() -> None:
    units = units_of("Badge.tsx")
    assert list(units) == ["BadgeProps", "Badge"]
    assert params(units["Badge"]) == [("root0", "BadgeProps", None, "normal")]
    assert units["Badge"].outputs == ("JSX.Element",)


def test_typescript_type_assertions_parse_with_the_typescript_grammar() -> None:
    text = "export function width(el: unknown): number {\n  return (<HTMLElement>el).width;\n}\n"
    (unit,) = extract_units(text, "typescript")
    assert unit.name == "width" and unit.returns_value


# --- JavaScript -------------------------------------------------------------------------------


def test_javascript_units_and_facts() -> None:
    units = units_of("queue.js")
    # `let nextId = 0, label = ...` documents two names at once, and object literal methods
    # (`handlers.start`) are not declarations: neither is a unit.
    assert list(units) == [
        "JobQueue",
        "JobQueue.from",
        "JobQueue.push",
        "JobQueue.onDrain",
        "JobQueue.pending",
        "retry",
        "renderStatus",
    ]
    assert units["JobQueue.from"].returns_value
    push = units["JobQueue.push"]
    assert params(push) == [("job", None, None, "normal"), ("root0", None, "{}", "normal")]
    assert push.raises == ("TypeError",) and not push.returns_value
    assert units["JobQueue.pending"].is_generator
    retry = units["retry"]
    assert params(retry) == [
        ("job", None, None, "normal"),
        ("attempts", None, "3", "normal"),
        ("delay", None, "100", "normal"),
    ]
    assert retry.raises == ()  # `throw error` rethrows: no type
    assert retry.returns_value
    assert units["renderStatus"].returns_value  # JSX
    assert units["JobQueue"].existing_doc == "/**\n * A first-in, first-out job queue.\n */"


# --- Java -------------------------------------------------------------------------------------


def test_java_units_and_facts() -> None:
    text = read("OrderRepository.java")
    units = units_of("OrderRepository.java")
    assert list(units) == [
        "OrderRepository",
        "OrderRepository.OrderRepository(DataSource)",
        "OrderRepository.OrderRepository(DataSource, int)",
        "OrderRepository.findById",
        "OrderRepository.findAll",
        "OrderRepository.save",
        "OrderRepository.close",
        "OrderRepository.Mapper",
        "OrderRepository.Mapper.apply",
        "OrderRepository.Page",
        "OrderRepository.Status",
        "OrderRepository.Status.isFinal",
    ]
    repository = units["OrderRepository"]
    assert repository.existing_doc is not None and "relational database" in repository.existing_doc
    assert repository.start_line == 11  # the @Repository annotation
    find_all = units["OrderRepository.findAll"]
    assert params(find_all) == [
        ("status", "String", None, "normal"),
        ("mapper", "Mapper<Order, R>", None, "normal"),
        ("limits", "int", None, "var_positional"),
    ]
    assert find_all.outputs == ("List<R>",)
    # The `throws` clause first, then what the body throws.
    assert find_all.raises == ("SQLException", "IOException", "IllegalStateException")
    save = units["OrderRepository.save"]
    assert params(save)[1:] == [("tags", "String[]", None, "normal"),
                                ("attempts", "int[]", None, "normal")]
    assert save.raises == ()  # thrown inside a lambda, not by save itself
    assert units["OrderRepository.OrderRepository(DataSource, int)"].raises == (
        "IllegalArgumentException",
    )
    find_by_id = units["OrderRepository.findById"]
    assert find_by_id.insertion is not None
    assert line_at(text, find_by_id.insertion.offset) == (
        "    // Lookups go through the primary key index."
    )
    assert units["OrderRepository.Mapper.apply"].parent == "OrderRepository.Mapper"
    assert params(units["OrderRepository.Page"]) == [("number", "int", None, "normal"),
                                                     ("size", "int", None, "normal")]
    assert units["OrderRepository.Status"].extra["declaration"] == "enum"
    assert units["OrderRepository.Status.isFinal"].kind == "method"


# --- C++ and C --------------------------------------------------------------------------------


def test_cpp_units_with_namespaces_templates_and_overloads() -> None:
    text = read("grid.hpp")
    units = units_of("grid.hpp")
    assert list(units) == [
        "geo::detail::index",
        "geo::Grid",
        "geo::Grid::Grid",
        "geo::Grid::~Grid",
        "geo::Grid::at(std::size_t, std::size_t)",
        "geo::Grid::at(std::size_t, std::size_t) const",
        "geo::Grid::width",
        "geo::Grid::for_each",
        "geo::Grid<T, Padding>::at",
        "geo::Point",
        "geo::distance",
        "geo::manhattan",
    ]
    grid = units["geo::Grid"]
    assert grid.existing_doc == (
        "/// A dense two-dimensional grid of cells.\n///\n/// Cells are stored row by row."
    )
    assert grid.code.startswith("template <typename T, std::size_t Padding = 0>\nclass Grid {")
    constructor = units["geo::Grid::Grid"]
    assert params(constructor) == [
        ("width", "std::size_t", None, "normal"),
        ("height", "std::size_t", None, "normal"),
        ("fill", "const T&", "T{}", "normal"),
    ]
    assert constructor.outputs == ()
    at = units["geo::Grid<T, Padding>::at"]
    assert at.outputs == ("T &",) and at.raises == ("std::out_of_range",)
    for_each = units["geo::Grid::for_each"]
    assert for_each.insertion is not None
    assert line_at(text, for_each.insertion.offset) == "    template <typename F>"
    width = units["geo::Grid::width"]
    assert width.insertion is not None
    assert line_at(text, width.insertion.offset).startswith("    [[nodiscard]]")
    assert units["geo::manhattan"].outputs == ("int",)  # trailing return type


def test_cpp_overloads_keep_their_own_documentation() -> None:
    declared = [u for u in extract_units(read("grid.hpp"), "cpp") if u.name.startswith(
        "geo::Grid::at(")]
    assert [u.existing_doc for u in declared] == ["/** Returns the cell at (x, y). */", None]
    assert [u.outputs for u in declared] == [("T &",), ("const T &",)]


def test_c_header_with_cpp_keywords_falls_back_to_the_c_grammar() -> None:
    assert language_for_path(Path("legacy.h")) == "cpp"
    units = units_of("legacy.h")
    assert list(units) == ["node", "node_count"]
    assert params(units["node_count"]) == [("list", "const struct node *", None, "normal")]


def test_c_units_and_facts() -> None:
    units = units_of("ring_buffer.c")
    # `grow` is declared at the top and defined below: one unit, at the definition.
    assert list(units) == [
        "ring_buffer",
        "ring_status",
        "ring_stats",
        "ring_create",
        "ring_write",
        "grow",
        "ring_log",
        "ring_each",
        "ring_free",
    ]
    assert units["grow"].start_line == 47
    assert units["ring_buffer"].extra["declaration"] == "struct"  # named by its typedef
    assert units["ring_status"].extra["declaration"] == "enum"
    create = units["ring_create"]
    assert create.outputs == ("ring_buffer *",) and create.returns_value
    assert create.existing_doc == "/**\n * Creates an empty ring buffer.\n */"
    assert create.calls == ("calloc", "malloc", "perror")
    assert params(units["ring_log"]) == [
        ("rb", "const ring_buffer *", None, "normal"),
        ("format", "const char *", None, "normal"),
        ("...", None, None, "var_positional"),
    ]
    assert params(units["ring_each"])[1] == (
        "visit", "void (*)(unsigned char byte, void *ctx)", None, "normal"
    )
    assert units["ring_free"].outputs == ()  # void, and only declared


def test_c_and_cpp_macros_the_grammar_cannot_read_are_tolerated() -> None:
    # Without a preprocessor, `RING_API` and `Q_OBJECT` leave error nodes within one declaration.
    (unit,) = extract_units("RING_API size_t ring_size(const ring_buffer *rb);\n", "c")
    assert unit.name == "ring_size" and unit.params[0].name == "rb"
    widget = "class Widget : public QObject {\n    Q_OBJECT\npublic:\n    void show();\n};\n"
    assert extract_units(widget, "cpp")[0].name == "Widget"
    # An error across lines (here a missing `;`) is still an error.
    with pytest.raises(ParseError, match="line 1"):
        extract_units("RING_API int ring_size(void)\nint other(void);\n", "c")


def test_a_documented_prototype_is_the_unit_of_its_function() -> None:
    text = (
        "/** Doubles a number. */\nstatic int twice(int x);\n\n"
        "static int twice(int x)\n{\n    return 2 * x;\n}\n"
    )
    (unit,) = extract_units(text, "c")
    assert (unit.name, unit.start_line) == ("twice", 2)
    assert unit.existing_doc == "/** Doubles a number. */"


# --- PHP --------------------------------------------------------------------------------------


def test_php_units_and_facts() -> None:
    units = units_of("UserRepository.php")
    assert list(units) == [
        "UserRepository",
        "UserRepository::__construct",
        "UserRepository::find",
        "UserRepository::load",
        "UserRepository::saveAll",
        "UserRepository::normalizeEmail",
        "UserFinder",
        "UserFinder::find",
        "Timestamps",
        "Timestamps::touch",
        "slugify",
    ]
    assert params(units["UserRepository::__construct"]) == [
        ("connection", "Connection", None, "normal"),
        ("table", "string", "'users'", "normal"),
    ]
    find = units["UserRepository::find"]
    assert params(find) == [("id", "int|string", None, "normal"),
                            ("columns", "?array", "null", "normal")]
    assert find.outputs == ("?User",) and find.returns_value
    assert find.calls == ("$this->connection->fetchAssociative", "User::fromRow")
    save_all = units["UserRepository::saveAll"]
    assert params(save_all) == [("users", "User", None, "var_positional")]
    assert save_all.raises == ("\\InvalidArgumentException",)
    assert params(units["UserRepository::normalizeEmail"])[1] == ("changed", "bool", "false",
                                                                   "normal")
    assert units["UserRepository::load"].existing_doc == (
        "/**\n     * @deprecated use find()\n     */"
    )
    assert units["UserRepository"].existing_doc == "/**\n * Reads and writes users.\n */"
    assert units["Timestamps::touch"].outputs == ()
    assert units["slugify"].returns_value  # the arrow function inside is not a unit


# --- every language ---------------------------------------------------------------------------

BROKEN = {
    "csharp": "class Invoice\n{\n    public void Add(int x) {\n}\n",
    "typescript": "export function total(items: Item[]: number {\n  return 0;\n}\n",
    "javascript": "class Queue {\n  push(job) {\n    this.jobs.push(job;\n  }\n}\n",
    "java": "public class Repo {\n    void save(Order order) {\n        write(order)\n    }\n}\n",
    "cpp": "namespace geo {\nclass Grid {\n    int width() const { return w; }\n",
    "c": "int main(void)\n{\n    return 0\n}\n",
    "php": "<?php\nfunction slugify(string $text {\n    return $text;\n}\n",
}


@pytest.mark.parametrize("language", sorted(BROKEN))
def test_syntax_errors_are_parse_errors_with_a_line(language: str) -> None:
    with pytest.raises(ParseError, match=r"line \d+"):
        extract_units(BROKEN[language], language, Path(f"broken.{language}"))
    with pytest.raises(ParseError):
        code_tokens(BROKEN[language], language)


# (file, a string literal in it, an identifier in it)
TOKEN_CASES = {
    "Invoices.cs": ('"An invoice needs a number."', "discount"),
    "cart.ts": ("`quantity must be positive, got ${quantity}`", "currency"),
    "queue.js": ('"a job must be a function"', "attempts"),
    "OrderRepository.java": ('"batchSize must be positive"', "dataSource"),
    "grid.hpp": ('"cell outside the grid"', "width_"),
    "ring_buffer.c": ('"ring_create: out of memory"', "min_capacity"),
    "UserRepository.php": ("'users'", "$table"),
}


@pytest.mark.parametrize("name", sorted(TOKEN_CASES))
def test_code_tokens_see_code_changes_but_not_comment_changes(name: str) -> None:
    text = read(name)
    language = language_for_path(DATA / name)
    assert language is not None
    tokens = code_tokens(text, language)
    literal, identifier = TOKEN_CASES[name]
    assert literal in text and identifier in text
    spaced = literal[0] + " " + literal[1:]  # one more space inside the string
    assert code_tokens(text.replace(literal, spaced, 1), language) != tokens
    renamed = text.replace(identifier, identifier + "2", 1)
    assert code_tokens(renamed, language) != tokens
    # A comment, blank lines and indentation are not code.
    first_line = text.index("\n") + 1
    commented = text[:first_line] + "// a comment\n\n" + text[first_line:].replace("\n", "\n\n", 3)
    assert code_tokens(commented.replace("\n    ", "\n  "), language) == tokens


@pytest.mark.parametrize(
    ("language", "before", "after"),
    [
        # Automatic semicolon insertion: a line break after `return` returns nothing.
        ("javascript", "function f() {\n  return x;\n}\n", "function f() {\n  return\n  x;\n}\n"),
        ("typescript", "let a = b\n(c)\n", "let a = b;\n(c)\n"),
        ("c", "#define LIMIT 10\nint n;\n", "#define LIMIT 10 int n;\n"),
        ("csharp", 'var s = @"a\nb";\n', 'var s = @"a\n b";\n'),
    ],
)
def test_code_tokens_see_line_breaks_that_change_the_code(
    language: str, before: str, after: str
) -> None:
    assert code_tokens(before, language) != code_tokens(after, language)


def test_code_tokens_ignore_whitespace_between_tokens() -> None:
    assert code_tokens("int f(int a){return a;}", "c") == code_tokens(
        "int  f( int a )\n{\n    return a;\n}\n", "c"
    )


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("Invoices.cs", "csharp"),
        ("cart.ts", "typescript"),
        ("Badge.tsx", "typescript"),
        ("queue.js", "javascript"),
        ("worker.mjs", "javascript"),
        ("OrderRepository.java", "java"),
        ("grid.hpp", "cpp"),
        ("engine.cc", "cpp"),
        ("ring_buffer.c", "c"),
        ("UserRepository.php", "php"),
        ("backup.sh", "bash"),
    ],
)
def test_language_for_path(name: str, language: str) -> None:
    assert language_for_path(Path(name)) == language


def test_a_declaration_that_shares_its_line_is_reported_not_documented() -> None:
    (interface, method) = extract_units("interface Shape { area(): number }\n", "typescript")
    assert interface.insertion is not None
    assert method.insertion is None
    assert method.skip_reason == "the declaration shares its first line with other code"


def test_param_is_a_plain_value() -> None:
    (unit,) = extract_units("void f(int count = 3);\n", "cpp")
    assert unit.params == (Param(name="count", type="int", default="3"),)
