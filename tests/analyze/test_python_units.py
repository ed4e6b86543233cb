"""Python units from real files: names, signatures, docstrings and where docstrings go."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from docroute._exceptions import ParseError
from docroute.analyze import code_tokens, extract_units, read_source
from docroute.types import Insertion, Param, RaiseFact, Unit

DATA = Path(__file__).parent / "data"


def units_of(text: str, path: Path | None = None) -> dict[str, Unit]:
    return {unit.name: unit for unit in extract_units(text, "python", path)}


def insert_docstring(text: str, insertion: Insertion, doc: str) -> str:
    end = insertion.replace_end if insertion.replace_end is not None else insertion.offset
    return text[: insertion.offset] + f'{insertion.indent}"""{doc}"""\n' + text[end:]


@pytest.fixture(scope="module")
def shapes() -> tuple[str, dict[str, Unit]]:
    path = DATA / "shapes.py"
    text = read_source(path)
    return text, units_of(text, path)


def test_units_names_kinds_and_parents(shapes: tuple[str, dict[str, Unit]]) -> None:
    units = shapes[1]

    assert [(u.kind, u.name, u.parent) for u in units.values()] == [
        ("module", "shapes", None),
        ("class", "ShapeError", None),
        ("class", "Circle", None),
        ("method", "Circle.area", "Circle"),
        ("method", "Circle.unit", "Circle"),
        ("method", "Circle.from_diameter", "Circle"),
        ("class", "Canvas", None),
        ("class", "Canvas.Layer", "Canvas"),
        ("method", "Canvas.Layer.__init__", "Canvas.Layer"),
        ("method", "Canvas.Layer.__len__", "Canvas.Layer"),
        ("method", "Canvas.__init__", "Canvas"),
        ("method", "Canvas.add", "Canvas"),
        ("method", "Canvas.shapes", "Canvas"),
        ("method", "Canvas.render", "Canvas"),
        ("function", "Canvas.render.project", "Canvas.render"),
        ("function", "total_area", None),
    ]


def test_decorated_method_spans_its_decorators(shapes: tuple[str, dict[str, Unit]]) -> None:
    unit = shapes[1]["Circle.from_diameter"]

    assert (unit.start_line, unit.end_line) == (30, 35)
    assert unit.code.startswith("@classmethod\n    def from_diameter(")
    assert unit.code.endswith("return cls(diameter / 2)")


def test_signature_kinds(shapes: tuple[str, dict[str, Unit]]) -> None:
    units = shapes[1]

    assert units["Circle.from_diameter"].params == (  # cls skipped, "/" and "*" markers
        Param("diameter", type="float", mandatory=True),
        Param("label", type="str", default='"⌀"', kind="keyword_only"),
    )
    assert units["Canvas.Layer.__init__"].params == (
        Param("name", type="str", mandatory=True),
        Param("shapes", type="Circle", kind="var_positional"),
        Param("visible", type="bool", default="True", kind="keyword_only"),
        Param("style", type="str", kind="var_keyword"),
    )
    # A multi-line signature, and a string annotation without its quotes.
    assert units["Canvas.add"].params[-1] == Param(
        "opacity", type="float | None", default="None", kind="keyword_only"
    )
    assert units["Canvas.add"].outputs == ("Canvas.Layer",)
    assert units["Canvas.render"].params == (Param("scale", default="1.0"),)


def test_class_params_come_from_init(shapes: tuple[str, dict[str, Unit]]) -> None:
    units = shapes[1]

    assert units["Canvas"].params == (
        Param("width", type="int", default="800"),
        Param("height", type="int", default="600"),
    )
    assert units["Canvas.Layer"].params == units["Canvas.Layer.__init__"].params
    assert units["Circle"].params == ()  # a dataclass without an __init__


def test_facts_from_the_body(shapes: tuple[str, dict[str, Unit]]) -> None:
    units = shapes[1]

    from_diameter = units["Circle.from_diameter"]
    assert from_diameter.raises == ("ShapeError",)
    assert from_diameter.calls == ("ShapeError", "cls")
    assert from_diameter.returns_value and not from_diameter.is_generator

    render = units["Canvas.render"]
    assert render.raises == ("RuntimeError",)
    assert render.calls == ("draw", "project", "self.shapes")  # not `circle.radius` of project
    assert not render.returns_value  # `return None`

    generator = units["Canvas.shapes"]
    assert generator.is_generator and generator.returns_value
    assert units["Canvas.add"].calls == ("self.Layer", "self.layers.append")


def test_existing_docstrings_and_their_lines(shapes: tuple[str, dict[str, Unit]]) -> None:
    text, units = shapes

    circle = units["Circle"]
    assert circle.existing_doc == "A circle with a radius in metres."
    assert circle.insertion is not None and circle.insertion.indent == "    "
    replaced = text[circle.insertion.offset : circle.insertion.replace_end]
    assert replaced == '    """A circle with a radius in metres."""\n'

    total = units["total_area"]  # indented with a tab
    assert total.existing_doc == "Sum the areas.\n\nTabs indent this function."
    assert total.insertion is not None and total.insertion.indent == "\t"
    replaced = text[total.insertion.offset : total.insertion.replace_end]
    assert replaced.startswith('\t"""Sum the areas.') and replaced.endswith('function.\n\t"""\n')


def test_insertion_without_docstring(shapes: tuple[str, dict[str, Unit]]) -> None:
    text, units = shapes

    area = units["Circle.area"]
    assert area.existing_doc is None and area.insertion is not None
    assert (area.insertion.indent, area.insertion.replace_end) == (" " * 8, None)
    assert area.insertion.placement == "inside"
    assert text[area.insertion.offset :].startswith("        return math.pi")


def test_one_line_body_has_no_insertion(shapes: tuple[str, dict[str, Unit]]) -> None:
    unit = shapes[1]["Circle.unit"]

    assert unit.insertion is None
    assert unit.skip_reason is not None and "one-line body" in unit.skip_reason


def test_module_docstring_goes_below_leading_comments(
    shapes: tuple[str, dict[str, Unit]],
) -> None:
    text, units = shapes
    module = units["shapes"]

    assert module.existing_doc is None and module.insertion is not None
    assert module.insertion.placement == "top"
    assert text[: module.insertion.offset].endswith("# fmt: off\n")
    assert (module.start_line, module.end_line) == (1, 79)


def test_module_docstring_is_replaceable() -> None:
    text = '"""Old."""\nimport os\n'

    module = units_of(text)["module"]

    assert module.existing_doc == "Old."
    assert module.insertion == Insertion(0, "", len('"""Old."""\n'), "top")


def test_inserted_docstrings_are_found_and_change_no_code(
    shapes: tuple[str, dict[str, Unit]],
) -> None:
    text, units = shapes
    edited = text
    # From the end of the file backwards, so that earlier offsets stay valid.
    targets = [(u.insertion, u.name) for u in units.values() if u.insertion is not None]
    for insertion, name in sorted(targets, key=lambda t: t[0].offset, reverse=True):
        edited = insert_docstring(edited, insertion, f"New doc of {name}.")

    again = units_of(edited, DATA / "shapes.py")
    for _, name in targets:
        assert again[name].existing_doc == f"New doc of {name}."
    assert again["Circle.unit"].existing_doc is None
    assert code_tokens(edited, "python") == code_tokens(text, "python")


def test_crlf_bom_and_non_ascii_offsets() -> None:
    text = (
        '\ufeff# coding: utf-8\r\nNAME = "Grüße 😀"\r\n\r\n'
        'def grüß(wer: str = "Welt") -> str:\r\n    """Grüßt."""\r\n    return f"Hallo {wer}"\r\n'
    )

    units = units_of(text)

    module, function = units["module"], units["grüß"]
    assert module.insertion == Insertion(len("\ufeff# coding: utf-8\r\n"), "", None, "top")
    assert function.params == (Param("wer", type="str", default='"Welt"'),)
    assert function.insertion is not None
    replaced = text[function.insertion.offset : function.insertion.replace_end]
    assert replaced == '    """Grüßt."""\r\n'
    assert function.code == text[text.index("def") : text.rindex('"') + 1]


def test_bom_module_inserts_after_the_bom() -> None:
    module = units_of("\ufeffimport os\n")["module"]

    assert module.insertion == Insertion(1, "", None, "top")


def test_docstring_sharing_a_line_is_not_replaced() -> None:
    unit = units_of('def f():\n    """Doc."""; return 1\n')["f"]

    assert unit.existing_doc == "Doc."
    assert unit.insertion is None and unit.skip_reason is not None


def test_definitions_inside_blocks_and_lambdas() -> None:
    text = (
        "import sys\n"
        "if sys.version_info >= (3, 11):\n"
        "    def new():\n"
        "        return lambda x: x\n"
        "else:\n"
        "    class Old:\n"
        "        def run(self, *, fast=False):\n"
        "            yield fast\n"
    )

    units = units_of(text)

    assert list(units) == ["module", "new", "Old", "Old.run"]
    assert units["Old.run"].params == (Param("fast", default="False", kind="keyword_only"),)


def test_syntax_error_has_the_line() -> None:
    with pytest.raises(ParseError, match=r"^broken\.py: syntax error at line 3: "):
        extract_units("import os\n\ndef f(:\n    pass\n", "python", Path("broken.py"))


RAISING = '''\
import json


class ConfigError(Exception):
    """A configuration file that cannot be used."""


def clamp(value, low, high):
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def load_config(path, *, strict=False):
    if not path:
        raise ValueError("path is empty")
    elif not path.endswith((".json", ".cfg")):
        raise ValueError(f"unsupported file {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        if strict or path.endswith(".cfg"):
            raise ConfigError("not valid JSON") from exc
        data = {}
    except OSError:
        raise

    def check(key):
        if key not in data:
            raise KeyError(key)

    class Section:
        def get(self, name):
            raise LookupError(name)

    if isinstance(data, dict):
        check("version")
    else:
        raise ConfigError("the top level must be an object")
    if data["version"] > 2:
        raise NotImplementedError
    return data
'''


def test_raise_facts_of_a_guard_clause() -> None:
    clamp = units_of(RAISING)["clamp"]

    assert clamp.raises == ("ValueError",)
    assert clamp.raise_facts == (
        RaiseFact("ValueError", (("low > high", "low must not exceed high"),)),
    )


def test_raise_facts_per_type_of_the_function_body_only() -> None:
    units = units_of(RAISING)
    load = units["load_config"]

    # One fact per type, in order of the first raise; the re-raise `raise` has no type, and
    # the raises of `check` and `Section.get` belong to them.
    assert load.raises == ("ValueError", "ConfigError", "NotImplementedError")
    assert [fact.type for fact in load.raise_facts] == list(load.raises)
    value_error, config_error, not_implemented = load.raise_facts
    # An elif keeps its own test only; an f-string message is not a literal.
    assert value_error.sites == (
        ("not path", "path is empty"),
        ("not path.endswith(('.json', '.cfg'))", None),
    )
    # `raise X(...) from exc` inside an except clause; an else branch negates the test.
    assert config_error.sites == (
        ("strict or path.endswith('.cfg')", "not valid JSON"),
        ("not isinstance(data, dict)", "the top level must be an object"),
    )
    assert not_implemented.sites == (("data['version'] > 2", None),)
    check, get = units["load_config.check"], units["load_config.Section.get"]
    assert check.raise_facts == (RaiseFact("KeyError", (("key not in data", None),)),)
    assert get.raise_facts == (RaiseFact("LookupError", ((None, None),)),)


def test_raise_conditions_keep_precedence_and_negate_simply() -> None:
    text = textwrap.dedent(
        """\
        def pick(items, index, default=None):
            if items:
                if index < 0 or index >= len(items):
                    if default is None:
                        raise IndexError("index out of range")
                    return default
                return items[index]
            else:
                if index >= 0:
                    raise LookupError("no items")
        """
    )
    pick = units_of(text)["pick"]

    assert pick.raise_facts == (
        RaiseFact(
            "IndexError",
            (("items and (index < 0 or index >= len(items)) and default is None",
              "index out of range"),),
        ),
        RaiseFact("LookupError", (("not items and index >= 0", "no items"),)),
    )
