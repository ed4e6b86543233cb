"""``docroute doc --guides``: PlatyPS user guides for a PowerShell module.

One PlatyPS Markdown page per exported command (``render.platyps``) and one
``about_<Module>.md`` topic:

* the structure of each page (syntax per parameter set, parameter metadata, types, inputs and
  outputs) comes from the parser (``analyze.psparams``, ``Unit``);
* its texts come from the command's comment-based help where it has one, else from
  docroute's unit cache (an earlier ``docroute doc`` run), else, unless switched off, from a
  model through the normal unit routing (``Documenter.generate``: a ``function_reference``
  task, fallbacks, tidying);
* the about topic's short and long descriptions are a ``user_guide`` prose task
  (``docroute.prose``): content-split sends it to the model with role ``prose``. The command
  list (each command's synopsis on one line), examples, see-also and keywords around them come
  from the pages.

Nothing is asked twice: command help a model wrote goes into the unit cache (where the next
run, and ``docroute doc``, find it) and the about topic's answer into the prose cache
(``prose.dispatch_cached``), so a second run over an unchanged module makes no model call.

A command with ``SupportsShouldProcess`` gets PlatyPS's ``### -WhatIf`` and ``### -Confirm``
sections (after its own parameters, with PlatyPS's texts and metadata), as its syntax lists
``[-WhatIf] [-Confirm]``.

Exported commands: ``FunctionsToExport`` of the module manifest, else
``Export-ModuleMember -Function``, else every top-level function (as PowerShell does for a
``.psm1``), leaving out files under ``Private/`` or ``Internal/`` folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ._exceptions import DocrouteError, InputError
from ._results import PreparedFile
from ._unitdocs import UnitDoc, read_tree, unit_docs
from .analyze.psparams import (
    ALL_SETS,
    CommandInfo,
    ParamInfo,
    SetMeta,
    commands_info,
    exported_names,
    is_exported,
)
from .cache import CachedDoc, DocCache, config_fingerprint, unit_key
from .config import Config
from .overview import ModelCall, Overview, RunOptions, _Writer
from .pool import ModelPool
from .prose import ProseRequest, input_budget
from .render.platyps import (
    GENERATOR,
    GENERATOR_KEY,
    AboutTopic,
    CommandHelp,
    render_about,
    render_command,
    syntax_lines,
    type_name,
)
from .render.powershell import _fallback_example, _param_fallback
from .render.pshelp import help_sections
from .tidy import tidy_doc
from .types import DocContent, Unit
from .write import atomic_write

__all__ = ["ABOUT_MARKER", "GuideOptions", "Guides", "build_guides", "module_name",
           "summary_line", "write_guides"]

ABOUT_MARKER = "<!-- docroute:about -->"
_ABOUT_FIELDS = {
    "short": ("what the module is for, one sentence", 200),
    # llama.cpp's grammar rejects much longer bounded repetitions
    "long": ("what the module does and how its commands work together, two or three "
             "sentences", 700),
}
# PlatyPS's sections for the parameters SupportsShouldProcess adds (as New-MarkdownHelp
# writes them): name -> (alias, text)
_SHOULD_PROCESS = {
    "WhatIf": ("wi", "Shows what would happen if the cmdlet runs.\nThe cmdlet is not run."),
    "Confirm": ("cf", "Prompts you for confirmation before running the cmdlet."),
}


@dataclass(kw_only=True)
class GuideOptions(RunOptions):
    """What a guides run does."""

    generate: bool = True  # ask a model for commands that have no help and no cache entry
    online: str = ""  # base URL for ``online version`` (the page name is appended)


@dataclass
class Guides:
    """The pages of a module's guides (file name -> Markdown) and how they were made."""

    module: str
    pages: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # command -> help/cache/model/none
    calls: list[ModelCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.error for c in self.calls)


def module_name(path: Path, prepared: Sequence[PreparedFile]) -> str:
    """The module's name: a file's stem, else the folder's manifest or only ``.psm1``, else
    the folder's name."""
    if path.is_file():
        return path.stem
    for pattern in ("*.psd1", "*.psm1"):
        found = sorted(path.glob(pattern))
        if len(found) == 1:
            return found[0].stem
    return path.resolve().name


def _help_from_block(help_: CommandHelp, block: str) -> bool:
    sections = help_sections(block)
    if not sections:
        return False
    for s in sections:
        text = s.text.strip()
        if s.keyword == "SYNOPSIS":
            help_.synopsis = text
        elif s.keyword == "DESCRIPTION":
            help_.description = text
        elif s.keyword == "PARAMETER" and s.argument:
            help_.parameters.setdefault(s.argument, text)
        elif s.keyword == "EXAMPLE" and text:
            code, _, remarks = text.partition("\n\n")
            help_.examples.append((code, remarks))
        elif s.keyword in ("INPUTS", "OUTPUTS") and text:
            first, _, rest = text.partition("\n")
            target = help_.inputs if s.keyword == "INPUTS" else help_.outputs
            target.append((first.strip(), rest.strip()))
        elif s.keyword == "NOTES":
            help_.notes = text
        elif s.keyword == "LINK" and text:
            help_.links.append(text.splitlines()[0].strip())
    return True


def _help_from_doc(help_: CommandHelp, unit: Unit, doc: DocContent) -> None:
    """The page's texts from model-written documentation (a model's or the unit cache's),
    tidied as code help is (``tidy.tidy_doc``: junk and cut sentences, junk parameter texts,
    examples that fail the checks dropped; no synopsis: the description's first sentence).

    What stays guide-specific: a synopsis or description with nothing usable left is left
    empty, not kept as written (the page shows PlatyPS's placeholder, the about topic the
    syntax); with no usable example, the one built from the parser's facts; parameters
    without a text get their facts in ``_facts_io``.
    """
    tidy, _ = tidy_doc(unit, doc, keep_written=False)
    help_.synopsis, help_.description = tidy.synopsis, tidy.description
    help_.parameters = dict(tidy.parameters)
    help_.examples = [(e.code, e.description)
                      for e in tidy.examples or [_fallback_example(unit)]]
    help_.inputs = [(type_name(t), tidy.inputs) for t in unit.inputs]
    help_.outputs = [(o, tidy.returns) for o in unit.outputs]
    if not help_.outputs and tidy.returns:
        help_.outputs = [("System.Object", tidy.returns)]
    help_.notes = tidy.notes


def with_should_process(info: CommandInfo) -> CommandInfo:
    """``info`` with ``-WhatIf`` and ``-Confirm`` as parameters when it supports
    ShouldProcess (as ``Get-Command`` lists them: switches in every set, named, after the
    command's own), so the page has their sections; the syntax stays ``... [-WhatIf]
    [-Confirm] [<CommonParameters>]``."""
    own = {p.name.lower() for p in info.params}
    if not info.should_process or own & {n.lower() for n in _SHOULD_PROCESS}:
        return info
    added = [ParamInfo(name, "switch", default="None", switch=True, aliases=[alias],
                       sets=[SetMeta(ALL_SETS)])
             for name, (alias, _) in _SHOULD_PROCESS.items()]
    return replace(info, params=[*info.params, *added], should_process=False)


def _facts_io(help_: CommandHelp, unit: Unit) -> None:
    """Parameter texts, inputs and outputs the help does not give, from the parser (as the
    comment-based help renderer writes them), and PlatyPS's texts of ``-WhatIf`` and
    ``-Confirm`` (see ``with_should_process``)."""
    for param in unit.params:
        if not help_.parameter_text(param.name):
            help_.parameters[param.name] = _param_fallback(param)
    names = {p.name for p in help_.info.params}
    for name, (_, text) in _SHOULD_PROCESS.items():
        if name in names and not help_.parameter_text(name):
            help_.parameters[name] = text
    if not help_.inputs:
        help_.inputs = [(type_name(t), "") for t in unit.inputs]
    if not help_.outputs:
        help_.outputs = [(o, "") for o in unit.outputs]


class _Builder:
    def __init__(self, config: Config, pool: ModelPool, options: GuideOptions,
                 result: Guides, cache: DocCache | None = None) -> None:
        self.config, self.pool, self.options, self.result = config, pool, options, result
        self.cache = cache

    def command(self, item: UnitDoc, info: CommandInfo, prep: PreparedFile) -> CommandHelp:
        unit = item.unit
        help_ = CommandHelp(with_should_process(info), self.result.module, source="none")
        if self.options.online:
            help_.online = self.options.online.rstrip("/") + f"/{unit.name}.md"
        if unit.existing_doc and _help_from_block(help_, unit.existing_doc):
            help_.source = "help"
        elif item.doc is not None:
            _help_from_doc(help_, unit, item.doc)
            help_.source = "cache"
        elif self.options.generate:
            doc = self._generate(unit, prep)
            if doc is not None:
                _help_from_doc(help_, unit, doc)
                help_.source = "model"
        _facts_io(help_, unit)
        self.result.sources[unit.name] = help_.source
        return help_

    def _generate(self, unit: Unit, prep: PreparedFile) -> DocContent | None:
        """The command's documentation from a model (a ``function_reference`` task, asked
        without call context), stored in the unit cache under the key ``unit_docs`` looks up
        (and ``docroute doc --no-call-context`` uses), so the next run finds it."""
        from .pipeline import DocOptions, Documenter

        documenter = Documenter(self.config, DocOptions(policy=self.options.policy),
                                pool=self.pool, recorder=self.options.recorder)
        got = documenter.generate(unit, "")
        documenter.record(unit, got)
        if got.call is None or got.doc is None:
            attempts = [a.to_dict() for a in getattr(got.error, "attempts", [])]
            self.result.calls.append(ModelCall("command help", unit.name, None, attempts,
                                               str(got.error)))
            return None
        self.result.calls.append(ModelCall("command help", unit.name, got.call.model,
                                           [a.to_dict() for a in got.call.attempts]))
        if self.cache is not None:
            key = unit_key(unit, config_fingerprint(self.config, self.options.policy),
                           file_text=prep.text, units=prep.units)
            self.cache.put(key, CachedDoc(got.doc, got.call.model, tuple(got.tidied)),
                           unit.name)
        return got.doc

    def about(self, helps: list[CommandHelp]) -> str:
        module = self.result.module
        # one line per command: a synopsis from comment-based help keeps its line breaks
        commands = [(h.info.name, " ".join((h.synopsis or _syntax(h)).split())) for h in helps]
        lines = [f"- {name}: {text}" for name, text in commands]
        writer = _Writer(module, self.config, self.pool, self.options, Overview(Path(module)),
                         self.cache)
        request = ProseRequest("about_topic", "user_guide", module, {"material": ""},
                               dict(_ABOUT_FIELDS))
        fields: dict[str, str] | None = None
        try:
            budget = input_budget(request, self.config, self.pool, self.options.policy)
            request.values["material"] = "\n".join(writer.fit(lines, module, budget))
            fields = writer.send("about topic", request)
        except DocrouteError as exc:
            attempts = [a.to_dict() for a in getattr(exc, "attempts", [])]
            writer.result.calls.append(ModelCall("about topic", module, None, attempts,
                                                 str(exc)))
        self.result.calls += writer.result.calls  # summaries made to fit, then the topic
        examples = [h.examples[0] for h in helps if h.examples][:3]
        short, long = (fields or {}).get("short", ""), (fields or {}).get("long", "")
        topic = AboutTopic(
            module, short or _facts_short(module, helps), long or _facts_long(helps),
            commands, examples, keywords=[module, *sorted({n.split("-")[-1] for n, _ in
                                                           commands})])
        return render_about(topic) + "\n" + ABOUT_MARKER + "\n"


def _syntax(help_: CommandHelp) -> str:
    """A command's line in the about topic when it has no usable synopsis: its syntax."""
    return "`" + syntax_lines(help_.info)[0][1] + "`"


def _facts_short(module: str, helps: list[CommandHelp]) -> str:
    """The SHORT DESCRIPTION from the parser's facts, when the model's is unusable."""
    count = len(helps)
    return f"The PowerShell module {module} exports {count} command{'s' if count != 1 else ''}."


def _facts_long(helps: list[CommandHelp]) -> str:
    """The LONG DESCRIPTION from the parser's facts: the commands' nouns and their verbs."""
    nouns: dict[str, list[str]] = {}
    for h in helps:
        verb, _, noun = h.info.name.partition("-")
        nouns.setdefault(noun or verb, []).append(verb if noun else h.info.name)
    parts = [f"{noun} ({', '.join(verbs)})" for noun, verbs in nouns.items()]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"It has commands for {joined}."


def build_guides(path: Path, config: Config, pool: ModelPool | None = None,
                 options: GuideOptions | None = None) -> Guides:
    """The PlatyPS pages for the PowerShell module at ``path`` (a folder or a file); nothing
    is written. Raises ``InputError`` when it has no exported command."""
    options = options or GuideOptions()
    pool = pool or ModelPool(config)
    prepared = [p for p in read_tree([path], config, options.exclude)
                if p.cand.language == "powershell"]
    result = Guides(module_name(path, prepared))
    result.problems += [f"{p.cand.path}: {p.error or p.skip}" for p in prepared
                        if p.error or p.skip]
    docs = unit_docs(prepared, config, policy=options.policy, cache_db=options.cache_db,
                     use_cache=options.use_cache)
    cache = DocCache(options.cache_db) if options.use_cache else None
    try:
        _build(prepared, docs, _Builder(config, pool, options, result, cache), path)
    finally:
        if cache is not None:
            cache.close()
    return result


def _build(prepared: Sequence[PreparedFile], docs: Sequence[UnitDoc], builder: _Builder,
           path: Path) -> None:
    result = builder.result
    helps: list[CommandHelp] = []
    seen: set[str] = set()
    for index, prep in enumerate(prepared):
        if prep.text is None or not prep.units:
            continue
        exported = exported_names(prep.text, prep.cand.path)
        infos = commands_info(prep.text, prep.cand.path)
        for item in (d for d in docs if d.file == index):
            unit = item.unit
            if (unit.kind != "function" or unit.parent is not None
                    or not is_exported(unit.name, exported, prep.cand.path)):
                continue
            if unit.name.lower() in seen:
                result.problems.append(f"{prep.cand.path}:{unit.start_line}: {unit.name} is "
                                       "defined twice; the first definition is documented")
                continue
            seen.add(unit.name.lower())
            helps.append(builder.command(item, infos[unit.start_line], prep))
    if not helps:
        raise InputError(f"{path}: no exported PowerShell command to document")
    helps.sort(key=lambda h: h.info.name.lower())
    for h in helps:
        result.pages[f"{h.info.name}.md"] = render_command(h)
    result.pages[f"about_{result.module}.md"] = builder.about(helps)


def _ours(text: str) -> bool:
    head = text.split("\n---", 1)[0]
    return f"\n{GENERATOR_KEY}: {GENERATOR}" in head or text.rstrip().endswith(ABOUT_MARKER)


def write_guides(guides: Guides, out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the pages into ``out_dir`` atomically; returns the files that changed.

    Raises:
        InputError: a page exists that docroute did not write (before anything is written;
            use ``force``).
    """
    foreign = []
    for name in guides.pages:
        target = out_dir / name
        try:
            old = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError):
            old = ""
        if not force and not _ours(old):
            foreign.append(str(target))
    if foreign:
        raise InputError("not written by docroute (use --force to replace): "
                         + ", ".join(foreign))
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in guides.pages.items():
        target = out_dir / name
        try:
            if target.read_text(encoding="utf-8") == text:
                continue
        except (OSError, UnicodeDecodeError):
            pass
        atomic_write(target, text)
        changed.append(target)
    return changed


def summary_line(guides: Guides) -> str:
    """What the guides were made of: pages, and where the command texts came from."""
    counts: dict[str, int] = {}
    for source in guides.sources.values():
        counts[source] = counts.get(source, 0) + 1
    parts = ", ".join(f"{n} from {s}" for s, n in sorted(counts.items()))
    return f"{len(guides.pages)} pages for module {guides.module} ({parts})"

