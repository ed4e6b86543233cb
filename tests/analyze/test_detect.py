"""Content kind and language detection, on real files of this machine and realistic snippets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from docroute.analyze import language_for_path
from docroute.analyze.detect import Detection, detect, language_from_path

REPO = Path(__file__).resolve().parents[2]
PESTER = REPO.parent / "shared/datasets/powershell-help/pester.jsonl"
STDLIB = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
VENV_BIN = Path(sys.executable).parent

CSHARP = """\
using System;
using System.Collections.Generic;

namespace Inventory.Services
{
    public sealed class ItemStore
    {
        private readonly Dictionary<string, Item> _items = new();
        public int Count { get; private set; }

        public async Task<Item?> FindAsync(string name)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException(nameof(name));
            await Task.Yield();
            return _items.TryGetValue(name, out var item) ? item : null;
        }
    }
}
"""
TYPESCRIPT = """\
import type { Request } from "./http";

export interface Item {
  name: string;
  owner?: string;
}

export function findItem(items: Item[], name: string): Item | undefined {
  const wanted = name.toLowerCase();
  return items.find((item) => item.name.toLowerCase() === wanted);
}
"""
JAVA = """\
package org.example.inventory;

import java.util.List;
import java.util.Objects;

public final class ItemStore {
    private final List<Item> items;

    public ItemStore(List<Item> items) {
        this.items = Objects.requireNonNull(items);
    }

    @Override
    public String toString() {
        return "ItemStore" + items;
    }
}
"""
PHP = """\
<?php
namespace App\\Inventory;

class ItemStore
{
    private array $items = [];

    public function find(string $name): ?Item
    {
        foreach ($this->items as $item) {
            if ($item->name === $name) {
                return $item;
            }
        }
        return null;
    }
}
"""
CPP = """\
#include <vector>
#include <string>

namespace inventory {

template <typename T>
class Store {
public:
    explicit Store(std::vector<T> items) : items_(std::move(items)) {}
    const T* find(const std::string& name) const noexcept;
private:
    std::vector<T> items_;
};

}  // namespace inventory
"""
C = """\
#ifndef INVENTORY_H
#define INVENTORY_H

#include <stddef.h>

typedef struct item {
    char name[64];
    unsigned int count;
} item_t;

extern item_t *find_item(item_t *items, size_t n, const char *name);

#endif
"""
JAVASCRIPT = """\
'use strict'
const fs = require('fs')

function readItems (path) {
  const text = fs.readFileSync(path, 'utf8')
  return text.split('\\n').filter((line) => line !== '')
}

module.exports = { readItems }
"""


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("Deploy-Site.ps1", "powershell"),
        ("Backup.psm1", "powershell"),
        ("shapes.py", "python"),
        ("Program.cs", "csharp"),
        ("index.ts", "typescript"),
        ("index.mjs", "javascript"),
        ("Item.java", "java"),
        ("store.cpp", "cpp"),
        ("store.c", "c"),
        ("index.php", "php"),
        ("build.sh", "bash"),
        ("README.md", "markdown"),
        ("notes.txt", "text"),
        ("docroute.toml", "toml"),
        ("config.yml", "yaml"),
    ],
)
def test_the_file_name_decides_when_it_can(name: str, language: str) -> None:
    assert language_from_path(Path(name)) == language
    assert detect("x = 1\n", Path(name)).language == language


def test_detection_names_every_analyzed_extension_as_the_analyzers_do_but_h() -> None:
    """The two extension tables differ on purpose: ``.h`` is C or C++ by content here (C++ for
    the analyzers), and some extensions are recognised but not analyzed (``.psd1``, ``.zsh``)."""
    for suffix in (".ps1", ".psm1", ".py", ".cs", ".tsx", ".cjs", ".java", ".c", ".hpp", ".sh"):
        assert language_from_path(Path(f"f{suffix}")) == language_for_path(Path(f"f{suffix}"))
    assert (language_from_path(Path("f.h")), language_for_path(Path("f.h"))) == (None, "cpp")
    for name, language in (("f.psd1", "powershell"), ("f.zsh", "bash"), ("f.ipp", "cpp")):
        assert (language_from_path(Path(name)), language_for_path(Path(name))) == (language, None)


def test_a_header_is_c_or_cpp_by_its_content() -> None:
    assert detect(C, Path("inventory.h")).language == "c"
    assert detect(CPP, Path("store.h")).language == "cpp"


@pytest.mark.parametrize(
    ("first_line", "language"),
    [
        ("#!/bin/sh", "bash"),
        ("#!/usr/bin/env bash", "bash"),
        ("#!/usr/bin/env python3", "python"),
        ("#!/usr/bin/env pwsh", "powershell"),
        ("#!/usr/bin/env node", "javascript"),
    ],
)
def test_a_shebang_names_the_interpreter(first_line: str, language: str) -> None:
    found = detect(f"{first_line}\necho hello\n")
    assert (found.kind, found.language) == ("code", language)
    assert "shebang" in found.reasons[0]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (CSHARP, "csharp"),
        (TYPESCRIPT, "typescript"),
        (JAVA, "java"),
        (PHP, "php"),
        (CPP, "cpp"),
        (C, "c"),
        (JAVASCRIPT, "javascript"),
    ],
)
def test_snippets_without_a_name_are_recognised_by_content(text: str, language: str) -> None:
    found = detect(text)
    assert (found.kind, found.language) == ("code", language), found.reasons


def test_real_files_without_a_name() -> None:
    cases = {
        STDLIB / "json" / "__init__.py": "python",
        STDLIB / "venv" / "scripts" / "common" / "Activate.ps1": "powershell",
        VENV_BIN / "activate": "bash",
        REPO / "tests" / "analyze" / "data" / "shapes.py": "python",
    }
    for path, language in cases.items():
        if not path.is_file():
            pytest.skip(f"{path} is missing")
        found = detect(path.read_text(encoding="utf-8"))
        assert (found.kind, found.language) == ("code", language), (path, found.reasons)


def test_pester_functions_are_powershell_by_content_alone() -> None:
    if not PESTER.is_file():
        pytest.skip(f"{PESTER} is missing")
    records = [json.loads(line) for line in PESTER.read_text(encoding="utf-8").splitlines()]
    wrong = [r["name"] for r in records if detect(r["code"]).language != "powershell"]
    assert len(wrong) <= 0.02 * len(records), wrong


@pytest.mark.parametrize(
    "request_text",
    [
        "Write a user guide for the inventory tool",
        "Explain to a manager what our deployment process does and why it matters.",
        "Please describe the release checklist in plain English.",
    ],
)
def test_chat_requests_are_prose(request_text: str) -> None:
    found = detect(request_text)
    assert (found.kind, found.language) == ("prose", "text")


def test_markdown_with_fenced_code_is_mixed_and_without_is_prose() -> None:
    doc = "# Inventory\n\nTrack assets in a CSV file.\n\n## Usage\n\nSee [a guide](docs/a.md).\n"
    fenced = doc + "\n```powershell\nGet-InventoryItem -Name 'X1*'\n```\n"
    assert (detect(doc).kind, detect(doc).language) == ("prose", "markdown")
    assert (detect(fenced).kind, detect(fenced).language) == ("mixed", "markdown")
    # the code in the fence is an example, not the document's language
    assert detect(fenced + fenced.replace("#", "##")).language == "markdown"


def test_a_fence_after_the_sample_still_makes_a_long_document_mixed() -> None:
    long_doc = "# Changelog\n\n" + "- fixed a bug in the parser\n" * 2000
    long_doc += "\n```sh\nmake test\n```\n"
    assert len(long_doc) > 20_000
    assert detect(long_doc, Path("CHANGELOG.md")).kind == "mixed"
    assert detect(long_doc).kind == "mixed"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ('{\n  "name": "docroute",\n  "version": "0.1.0"\n}\n', "json"),
        ("<?xml version='1.0'?>\n<project><name>docroute</name></project>\n", "xml"),
        ("name: docroute\nversion: 0.1.0\ndependencies:\n  - rich\n  - pydantic\n", "yaml"),
        (
            '[project]\nname = "docroute"\nversion = "0.1.0"\n\n[tool.ruff]\nline-length = 100\n',
            "toml",
        ),
        ("[server]\nhost=localhost\nport=8080\n; comment\n[client]\nretries=3\n", "ini"),
    ],
)
def test_config_and_data_formats(text: str, language: str) -> None:
    found = detect(text)
    assert (found.kind, found.language) == ("config", language)


def test_detection_is_explained_and_serialisable() -> None:
    found = detect(CSHARP)
    assert isinstance(found, Detection)
    assert 0.5 <= found.confidence <= 0.99
    assert any("csharp cues" in r for r in found.reasons)
    assert json.loads(json.dumps(found.to_dict()))["language"] == "csharp"


def test_empty_input_is_prose() -> None:
    assert detect("   \n").kind == "prose"


# --- confusions fixed with grammar fit and weak cues (content only, no file name) ----------

# JavaScript that reads like TypeScript to the cue table: `declare`, `enum` and `interface` as
# plain names, and `: number)` in a ternary. The JavaScript grammar parses it cleanly.
JS_LOOKS_TYPED = """\
const declare = (interface, enumValues) => {
  const enum_ = enumValues.filter((v) => v !== undefined)
  const width = interface.wide ? interface.columns : number)
  return { declare: true, enum: enum_, width }
}
class Walker {
  constructor(root, options = {}) {
    this.root = root
    this.depth = options.depth ?? 0
  }
  visit(node) {
    if (node.kind === 'group') return node.children.map((c) => this.visit(c))
    return node.value
  }
}
module.exports = { declare, Walker }
"""
# Only preprocessor lines: C by default, C++ when libstdc++'s own macros appear.
C_VERSION_HEADER = """\
#define APP_VERSION_CODE 393984
#define APP_VERSION(maj,min,rev) (((maj) << 16) + ((min) << 8) + (rev))
#define APP_VERSION_MAJOR 6
#define APP_VERSION_PATCHLEVEL 1
#define APP_VERSION_SUBLEVEL 0
"""
CPP_LOCKFREE_DEFINES = """\
#ifndef _GLIBCXX_ATOMIC_LOCK_FREE_H
#define _GLIBCXX_ATOMIC_LOCK_FREE_H 1

#pragma GCC system_header

#if __cplusplus >= 201103L
#define ATOMIC_BOOL_LOCK_FREE        __GCC_ATOMIC_BOOL_LOCK_FREE
#define ATOMIC_CHAR_LOCK_FREE        __GCC_ATOMIC_CHAR_LOCK_FREE
#ifdef _GLIBCXX_USE_CHAR8_T
#define ATOMIC_CHAR8_T_LOCK_FREE     __GCC_ATOMIC_CHAR8_T_LOCK_FREE
#endif
#define ATOMIC_INT_LOCK_FREE         __GCC_ATOMIC_INT_LOCK_FREE
#endif

#endif
"""
# tox.ini: comments, empty keys and indented multi-line values.
TOX_INI = """\
# Run the test matrix with: tox -p auto
# The lint environment needs network access for the first run.

[tox]
envlist = py311,py312,lint
isolated_build = true

[testenv]
deps =
    pytest
    pytest-cov
commands =
    pytest --cov=inventory {posargs}
    coverage report --fail-under=90

[testenv:lint]
skip_install = true
deps =
    ruff
commands =
    ruff check src tests
"""
# Short snippets with code punctuation but few keyword cues: the grammars decide.
JAVA_METHODS = """\
    static long swap(Handle h, Object owner, long base, long expected, long value) {
        return swap(h, owner, base, ((SegmentHandle) h).offset, expected, value);
    }

    static long swap(Handle h, Object owner, long base, long offset, long expected, long value) {
        SegmentHandle handle = (SegmentHandle) h;
        MemorySegment segment = handle.checkSegment(owner, base, false);
        return segment.swapLong(offset, expected, value);
    }
"""
JS_CATCH = """\
  try {
    versions = readdirSync(dir).filter((v) => v !== 'current')
  } catch (err) {
    if (err && err.code !== 'ENOENT') {
      throw err
    }
  }
"""
KEY_VALUES = """\
name = inventory (staging)
owner = platform-team
region = eu-west-1
replicas = 3
"""


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param(JS_LOOKS_TYPED, "javascript", id="javascript-with-typescript-like-names"),
        pytest.param(TYPESCRIPT, "typescript", id="typescript-still-typescript"),
        pytest.param(C_VERSION_HEADER, "c", id="c-only-defines"),
        pytest.param(CPP_LOCKFREE_DEFINES, "cpp", id="libstdcxx-only-defines"),
        pytest.param(JAVA_METHODS, "java", id="java-methods-without-keywords"),
        pytest.param(JS_CATCH, "javascript", id="javascript-fragment"),
    ],
)
def test_confusable_code_without_a_name(text: str, language: str) -> None:
    d = detect(text)
    assert (d.kind, d.language) == ("code", language), d.reasons


def test_ini_with_multi_line_values_is_config() -> None:
    d = detect(TOX_INI)
    assert (d.kind, d.language) == ("config", "ini"), d.reasons


def test_grammars_do_not_claim_prose_or_key_value_lines() -> None:
    prose = (
        "The inventory service keeps one record per item. When an item is moved, the old\n"
        "record is kept (for audit) and a new one is written; nothing is deleted.\n"
    )
    assert detect(prose).kind == "prose"
    assert detect(KEY_VALUES).kind != "code"
