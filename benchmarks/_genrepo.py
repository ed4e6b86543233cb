"""A generated repository for the scale and crash benchmarks: small functions in ten languages,
some calling others (in the same file and across files of the same language).

Cheap and deterministic (``random.Random(seed)``): 2,000 functions take well under a second.
``generate`` returns, per function, its file, its name and the names of its callers, so a
benchmark can change functions that nothing calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LANGUAGES", "Function", "Repo", "change_function", "generate"]


@dataclass
class Function:
    """One generated function."""

    file: Path
    name: str
    language: str
    callees: list[str] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)


@dataclass
class Repo:
    root: Path
    functions: list[Function]

    @property
    def files(self) -> list[Path]:
        return sorted({f.file for f in self.functions})


def _py(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + {c}(a, b)" for c in callees)
    return f"def {name}(a, b):\n    total = a * {i % 7 + 1} + b{calls}\n    return total\n"


def _ps(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + ({c} -A $A -B $B)" for c in callees)
    return (f"function {name} {{\n    param([int] $A, [int] $B)\n"
            f"    $total = $A * {i % 7 + 1} + $B{calls}\n    return $total\n}}\n")


def _sh(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f'\n    {c} "$a" "$b"' for c in callees)
    return (f'{name}() {{\n    local a="$1"\n    local b="$2"{calls}\n'
            f"    echo $(( a * {i % 7 + 1} + b ))\n}}\n")


def _js(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + {c}(a, b)" for c in callees)
    return f"function {name}(a, b) {{\n  const total = a * {i % 7 + 1} + b{calls};\n" \
           "  return total;\n}\n"


def _ts(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + {c}(a, b)" for c in callees)
    return (f"export function {name}(a: number, b: number): number {{\n"
            f"  const total = a * {i % 7 + 1} + b{calls};\n  return total;\n}}\n")


def _c(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + {c}(a, b)" for c in callees)
    return f"int {name}(int a, int b) {{\n    int total = a * {i % 7 + 1} + b{calls};\n" \
           "    return total;\n}\n"


def _php(name: str, callees: list[str], i: int) -> str:
    calls = "".join(f" + {c}($a, $b)" for c in callees)
    return f"function {name}($a, $b) {{\n    $total = $a * {i % 7 + 1} + $b{calls};\n" \
           "    return $total;\n}\n"


def _method(name: str, callees: list[str], i: int, indent: str = "    ") -> str:
    calls = "".join(f" + {c}(a, b)" for c in callees)
    return (f"{indent}public static int {name}(int a, int b) {{\n"
            f"{indent}    int total = a * {i % 7 + 1} + b{calls};\n"
            f"{indent}    return total;\n{indent}}}\n")


Render = Callable[[str, list[str], int], str]

# language -> (suffix, function template, file header, file footer)
LANGUAGES: dict[str, tuple[str, Render, str, str]] = {
    "python": (".py", _py, "", ""),
    "powershell": (".ps1", _ps, "", ""),
    "bash": (".sh", _sh, "#!/bin/bash\n\n", ""),
    "javascript": (".js", _js, "", ""),
    "typescript": (".ts", _ts, "", ""),
    "c": (".c", _c, "", ""),
    "cpp": (".cpp", _c, "", ""),
    "php": (".php", _php, "<?php\n\n", ""),
    "java": (".java", _method, "public class {cls} {{\n", "}}\n"),
    "csharp": (".cs", _method, "public static class {cls}\n{{\n", "}}\n"),
}


def _name(language: str, file_index: int, index: int) -> str:
    if language == "powershell":
        return f"Get-Value{file_index:03}x{index:02}"
    if language == "csharp":
        return f"Value{file_index:03}x{index:02}"
    return f"value_{file_index:03}_{index:02}"


def generate(root: Path, n_functions: int = 2000, per_file: int = 10,
             seed: int = 7) -> Repo:
    """Write ``n_functions`` functions, ``per_file`` to a file, languages taking turns."""
    rng = random.Random(seed)
    functions: list[Function] = []
    by_language: dict[str, list[Function]] = {}
    names = list(LANGUAGES)
    n_files = -(-n_functions // per_file)
    for file_index in range(n_files):
        language = names[file_index % len(names)]
        suffix, template, header, footer = LANGUAGES[language]
        cls = f"Module{file_index:03}"
        path = root / language / f"{'M' if language in ('java', 'csharp') else 'm'}" \
            f"odule{file_index:03}{suffix}"
        count = min(per_file, n_functions - file_index * per_file)
        earlier = by_language.setdefault(language, [])
        local: list[Function] = []
        parts = [header.format(cls=cls)]
        for index in range(count):
            fn = Function(path, _name(language, file_index, index), language)
            pool = local[-3:] + ([earlier[-1]] if earlier and language not in
                                 ("java", "csharp") else [])
            fn.callees = [c.name for c in rng.sample(pool, k=min(len(pool), rng.choice(
                [0, 0, 1, 1, 2])))]
            for callee in (c for c in pool if c.name in fn.callees):
                callee.callers.append(fn.name)
            parts.append(template(fn.name, fn.callees, file_index * per_file + index))
            local.append(fn)
        parts.append(footer.format(cls=cls))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(parts))
        earlier.extend(local)
        functions.extend(local)
    return Repo(root, functions)


def change_function(fn: Function) -> None:
    """Change the body of ``fn`` (a different constant), nothing else in its file."""
    text = fn.file.read_text()
    start = text.index(fn.name)
    marker = "total = "
    at = text.index(marker, start) + len(marker)
    end = text.index("\n", at)
    line = text[at:end]
    text = text[:at] + line.replace(" * ", " * 100 + ", 1) + text[end:]
    fn.file.write_text(text)
