"""The gateway's added latency: the same requests straight to an upstream, and through docroute
(and through LiteLLM's proxy, when it is installed), at concurrency 1 and 32.

Upstreams:

* ``responder``: ``benchmarks/_responder.py``, a minimal OpenAI-compatible responder (a fixed
  one-token answer, no model, tens of microseconds per request), so the proxies' own cost is
  what the numbers show;
* ``llama.cpp`` (``--llama``): llama-cpp-python's server with the embedded SmolLM2-135M and
  ``max_tokens`` 1 (it runs one request at a time), at the levels of ``--llama-concurrency``
  (default 1).

Each proxy runs in its own process on 127.0.0.1 with per-request logging off: docroute with
``docroute.server.serve`` (``model: "auto"``, so routing runs on every request; request log on,
written after the response), LiteLLM with ``litellm --config`` (one worker). Rounds alternate
the order of the targets, so load from other processes on the machine spreads over all of them.
The machine's load average before and after the run is printed with the results.
Besides the client-side numbers, each proxy's own measure of its overhead is collected from its
response headers (``x-docroute-overhead-ms``, LiteLLM's ``x-litellm-overhead-duration-ms``: the
time in the proxy minus the upstream call): the "own" columns.
Before the rounds, every target gets a warm-up burst at the highest concurrency (its errors
are printed, not counted). For each target: p50 and p99 of the request latency (client-side,
keep-alive connections, a minimal asyncio HTTP/1.1 client so the load generator is not the
bottleneck), and the added latency: p50(proxy) - p50(direct), p99(proxy) - p99(direct).

    python benchmarks/bench_gateway.py [--requests 400] [--rounds 3] [--llama]
        [--llama-concurrency 1 32] [--floor] [--workers 1 2]
        [--litellm /path/to/venv/bin/litellm]   # default: $LITELLM_BIN or litellm on PATH

``--floor`` adds the bare uvicorn apps of ``_floor.py`` (one that answers by itself, two that
only forward, with ``httpx.AsyncClient`` and with a hand-written client): what a gateway on this
stack costs before it does anything of its own.

``--workers 1 2`` measures ``docroute serve`` with one worker process (``docroute``) and with
two (``docroute-w2``); CPU time counts the workers too. ``--baseline-src DIR`` adds docroute run
from another source tree (``PYTHONPATH=DIR``) as ``docroute-base``: before and after a change,
measured in the same run under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from docroute._testing import LlamaServer, Proc, free_port

HERE = Path(__file__).parent
ASK = [{"role": "user", "content": "Say hi."}]
KEY = "sk-bench-0123456789abcdef"  # both proxies check a bearer token on every request


@contextmanager
def process(args: list[str], ready_url: str, log: Path,
            env: dict[str, str] | None = None) -> Iterator[int]:
    """Run ``args`` until the block ends; yields its pid once ``ready_url`` answers."""
    proc = Proc(args, log, env)
    try:
        proc.wait_http(ready_url)
        yield proc.pid
    finally:
        proc.stop()


_DOCROUTE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from docroute.config import load_config
    from docroute.server import ServerSettings, serve
    workers = int(sys.argv[5])
    serve(load_config(Path(sys.argv[1])), settings=ServerSettings(
        port=int(sys.argv[2]), db=Path(sys.argv[3]), api_keys=[sys.argv[4]],
        max_concurrent_per_client=64), log_level="warning", access_log=False,
        **({"workers": workers} if workers > 1 else {}))
""")


def docroute_config(upstreams: dict[str, tuple[str, str]]) -> str:
    """One ``openai`` model per upstream (name -> (url, model id)); the first is the default."""
    parts = []
    for name, (url, model) in upstreams.items():
        parts.append(textwrap.dedent(f"""
            [models.{name}]
            backend = "openai"
            model = "{model}"
            urls = ["{url}"]
            max_context = 1024
            roles = ["small", "code", "prose"]
            options = {{ stream = false, retries = 0 }}
        """))
    first = next(iter(upstreams))
    parts.append(f'[routing]\npolicy = "single"\ndefault_model = "{first}"\n'
                 "[context]\nbuckets = [1024]\noutput_tokens = 16\n")
    return "\n".join(parts)


def litellm_config(upstreams: dict[str, tuple[str, str]]) -> str:
    lines = ["model_list:"]
    for name, (url, model) in upstreams.items():
        lines += [f"  - model_name: {name}", "    litellm_params:",
                  f"      model: openai/{model}", f"      api_base: {url}/v1",
                  "      api_key: none"]
    lines += ["litellm_settings:", "  telemetry: false", "  set_verbose: false",
              "  json_logs: false"]
    return "\n".join(lines) + "\n"


# The proxies' own measure of their overhead (time in the proxy minus the upstream call).
OVERHEAD_HEADERS = (b"x-docroute-overhead-ms", b"x-litellm-overhead-duration-ms")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, float | None]:
    """Read one HTTP/1.1 response (Content-Length or chunked body): its status code and the
    overhead the proxy reports in its headers (None: none reported)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, overhead = 0, False, None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name in OVERHEAD_HEADERS:
            with contextlib.suppress(ValueError):  # LiteLLM sends "None" if not measured
                overhead = float(value)
    if not chunked:
        await reader.readexactly(length)
        return status, overhead
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status, overhead


async def load(url: str, body: dict[str, Any], concurrency: int, n: int,
               warmup: int) -> tuple[list[float], list[float], int, float]:
    """``n`` POSTs by ``concurrency`` workers: latencies (ms), the overheads the proxy
    reported (ms), errors, requests per second.

    The load generator is a minimal asyncio HTTP/1.1 client, one keep-alive connection per
    worker (an HTTP library here would cost more CPU than the proxies being measured).
    """
    target = httpx.URL(url)
    payload = json.dumps(body).encode()
    request = (f"POST {target.raw_path.decode()} HTTP/1.1\r\nhost: {target.host}:{target.port}"
               f"\r\ncontent-type: application/json\r\nauthorization: Bearer {KEY}\r\n"
               f"content-length: {len(payload)}\r\n\r\n").encode() + payload
    latencies: list[float] = []
    overheads: list[float] = []
    errors = 0

    async def worker(count: int, record: bool) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            for _ in range(count):
                start = time.perf_counter()
                writer.write(request)
                try:
                    status, overhead = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):  # closed: an error
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(target.host, target.port)
                    continue
                elapsed = (time.perf_counter() - start) * 1000
                if status != 200:
                    errors += 1
                elif record:
                    latencies.append(elapsed)
                    if overhead is not None:
                        overheads.append(overhead)
        finally:
            writer.close()

    if warmup:
        await asyncio.gather(*(worker(max(1, warmup // concurrency), False)
                               for _ in range(concurrency)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency, True) for _ in range(concurrency)))
    return latencies, overheads, errors, len(latencies) / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid``, its threads and its child processes, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # itself, or a child
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Target = tuple[str, dict[str, Any], int]  # URL, body, pid of the server answering it


def run_matrix(targets: dict[str, Target], concurrencies: list[int], requests: int,
               rounds: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Every target at every concurrency, ``rounds`` times in rotating order.

    Besides latency: the CPU time the answering process (the upstream for ``direct``, the
    proxy otherwise) spent per request, which depends far less on other load than latency.
    """
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    errors: dict[tuple[str, int], int] = defaultdict(int)
    rates: dict[tuple[str, int], list[float]] = defaultdict(list)
    cpu: dict[tuple[str, int], list[float]] = defaultdict(list)
    reported: dict[tuple[str, int], list[float]] = defaultdict(list)
    names = list(targets)
    for name in names:  # a cold start (every worker, every connection) is not measured
        url, body, _ = targets[name]
        _, _, err, _ = asyncio.run(load(url, body, max(concurrencies), 4 * max(concurrencies),
                                        0))
        print(f"  warm-up   {name:<9} errors {err}", flush=True)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for c in concurrencies:
            for name in order:
                url, body, pid = targets[name]
                warmup = max(20, c * 2)
                before = cpu_seconds(pid)
                lat, own, err, rate = asyncio.run(load(url, body, c, requests, warmup=warmup))
                sent = (requests // c + max(1, warmup // c)) * c
                cpu[name, c].append((cpu_seconds(pid) - before) * 1000 / sent)
                samples[name, c] += lat
                reported[name, c] += own
                errors[name, c] += err
                rates[name, c].append(rate)
                print(f"  round {r + 1} c={c:<3} {name:<9} p50 {pct(lat, .5):7.3f} ms  "
                      f"p99 {pct(lat, .99):7.3f} ms  {rate:7.0f} req/s  "
                      f"cpu {cpu[name, c][-1]:6.3f} ms/req  errors {err}"
                      + (f"  own p50 {pct(own, .5):.3f} ms" if own else ""), flush=True)
    return {key: {"p50": pct(v, .5), "p99": pct(v, .99), "n": len(v), "errors": errors[key],
                  "rate": statistics.median(rates[key]), "cpu_ms": statistics.median(cpu[key]),
                  "own_p50": pct(reported[key], .5) if reported[key] else None,
                  "own_p99": pct(reported[key], .99) if reported[key] else None,
                  "own_n": len(reported[key])}
            for key, v in samples.items()}


def report(title: str, results: dict[tuple[str, int], dict[str, Any]], concurrencies: list[int],
           proxies: list[str]) -> list[str]:
    lines = [f"### {title}", "",
             "| concurrency | target | requests | p50 ms | p99 ms | req/s | CPU ms/request "
             "| added p50 ms | added p99 ms | own p50 ms | own p99 ms |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in concurrencies:
        direct = results["direct", c]
        for name in ["direct", *(p for p in proxies if (p, c) in results)]:
            row = results[name, c]
            added = ("", "") if name == "direct" else (
                f"{row['p50'] - direct['p50']:+.3f}", f"{row['p99'] - direct['p99']:+.3f}")
            own = [f"{row[k]:.3f}" if row[k] is not None else "" for k in ("own_p50", "own_p99")]
            lines.append(f"| {c} | {name} | {row['n']} | {row['p50']:.3f} | {row['p99']:.3f} "
                         f"| {row['rate']:.0f} | {row['cpu_ms']:.3f} | {added[0]} | {added[1]} "
                         f"| {own[0]} | {own[1]} |")
    return lines


def litellm_binary(given: str | None) -> str | None:
    found = given or os.environ.get("LITELLM_BIN") or shutil.which("litellm")
    return found if found and Path(found).exists() else None


def start_llama(stack: ExitStack, work: Path) -> tuple[str, int]:
    server = LlamaServer(work, alias="smol", n_ctx=1024, n_threads=1).start()
    stack.callback(server.stop)
    assert server.pid is not None
    return server.url, server.pid


def start_proxies(stack: ExitStack, work: Path, upstreams: dict[str, tuple[str, str]],
                  litellm: str | None, workers: list[int],
                  baseline: Path | None = None) -> dict[str, tuple[str, int]]:
    """docroute, once per worker count (``docroute``, ``docroute-w2``, ...), docroute from the
    ``baseline`` source tree (``docroute-base``, one worker), and LiteLLM:
    name -> (base URL, pid)."""
    (work / "docroute.toml").write_text(docroute_config(upstreams))
    proxies = {}
    runs: list[tuple[str, int, dict[str, str] | None]] = [
        ("docroute" if n == 1 else f"docroute-w{n}", n, None) for n in workers]
    if baseline is not None:
        runs.append(("docroute-base", 1, {**os.environ, "PYTHONPATH": str(baseline)}))
    for name, n, env in runs:
        port = free_port()
        pid = stack.enter_context(process(
            [sys.executable, "-c", _DOCROUTE, str(work / "docroute.toml"), str(port),
             str(work / f"requests-{name}.db"), KEY, str(n)],
            f"http://127.0.0.1:{port}/health", work / f"{name}.log", env))
        proxies[name] = (f"http://127.0.0.1:{port}", pid)
    if litellm:
        (work / "litellm.yaml").write_text(litellm_config(upstreams))
        port = free_port()
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
               "NO_DOCS": "True", "LITELLM_MASTER_KEY": KEY}
        pid = stack.enter_context(process(
            [litellm, "--config", str(work / "litellm.yaml"), "--host", "127.0.0.1",
             "--port", str(port), "--num_workers", "1"],
            f"http://127.0.0.1:{port}/health/liveliness", work / "litellm.log", env))
        proxies["litellm"] = (f"http://127.0.0.1:{port}", pid)
    return proxies


def start_floors(stack: ExitStack, work: Path,
                 upstreams: dict[str, tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """The bare uvicorn apps of ``_floor.py``: ``answer``, and ``forward-<upstream>``,
    ``raw-<upstream>`` per upstream."""
    found = {}
    for name, mode, upstream in [("answer", "answer", None),
                                 *((f"{m}-{u}", m, url) for u, (url, _) in upstreams.items()
                                   for m in ("forward", "raw"))]:
        port = free_port()
        pid = stack.enter_context(process(
            [sys.executable, str(HERE / "_floor.py"), mode, str(port),
             *([upstream] if upstream else [])],
            f"http://127.0.0.1:{port}/health", work / f"floor-{name}.log"))
        found[name] = (f"http://127.0.0.1:{port}", pid)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per target, round, level")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--llama", action="store_true", help="also behind llama.cpp")
    parser.add_argument("--no-responder", action="store_true",
                        help="skip the minimal responder upstream (with --llama)")
    parser.add_argument("--llama-concurrency", type=int, nargs="+", default=[1],
                        help="concurrency levels behind llama.cpp, e.g. 1 32")
    parser.add_argument("--llama-requests", type=int, default=0,
                        help="requests per target, round and level behind llama.cpp "
                        "(default: --requests / 8, at least 50)")
    parser.add_argument("--litellm", help="the litellm executable (litellm[proxy])")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--baseline-src", type=Path,
                        help="also run docroute from this source tree (its src/ folder, e.g. of "
                        "the previous commit) as docroute-base, for a before/after in one run")
    parser.add_argument("--floor", action="store_true",
                        help="also measure bare uvicorn apps (benchmarks/_floor.py): one that "
                        "answers by itself, one that only forwards: the least a gateway on "
                        "this stack can add")
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="docroute worker counts to measure, e.g. 1 2 (docroute serve "
                        "--workers)")
    args = parser.parse_args()
    litellm = litellm_binary(args.litellm)
    print(f"LiteLLM proxy: {litellm or 'not found (pip install litellm[proxy])'}")
    load_before = os.getloadavg()
    out: list[str] = []
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        port = free_port()
        responder = f"http://127.0.0.1:{port}"
        pids = {"bench": stack.enter_context(process(
            [sys.executable, str(HERE / "_responder.py"), str(port)],
            f"{responder}/v1/models", work / "responder.log"))}
        upstreams = {"bench": (responder, "bench")}
        if args.llama:
            url, pids["smol"] = start_llama(stack, work)
            upstreams["smol"] = (url, "smol")
        proxies = start_proxies(stack, work, upstreams, litellm, args.workers,
                                args.baseline_src)
        floors = start_floors(stack, work, upstreams) if args.floor else {}
        names = [*(["floor-answer", "floor-forward", "floor-raw"] if floors else []),
                 *proxies]
        path = "/v1/chat/completions"
        body = {"messages": ASK, "max_tokens": 1, "temperature": 0}

        def targets(upstream: str, model: str) -> dict[str, Target]:
            found = {"direct": (f"{upstreams[upstream][0]}{path}", {**body, "model": model},
                                pids[upstream])}
            for name in ("answer", "forward", "raw") if floors else ():
                if name == "answer" and upstream != "bench":
                    continue  # it answers by itself: a reference for the responder only
                url, pid = floors[name if name == "answer" else f"{name}-{upstream}"]
                found[f"floor-{name}"] = (f"{url}{path}", {**body, "model": model}, pid)
            for name in names:
                if name.startswith("docroute"):
                    url, pid = proxies[name]
                    found[name] = (f"{url}{path}", {
                        **body, "model": "auto" if upstream == "bench" else upstream}, pid)
            if "litellm" in proxies:
                url, pid = proxies["litellm"]
                found["litellm"] = (f"{url}{path}", {**body, "model": upstream}, pid)
            return found

        if not args.no_responder:
            print("upstream: minimal OpenAI-compatible responder (no model)")
            results = run_matrix(targets("bench", "bench"), [1, 32], args.requests, args.rounds)
            out += report("Minimal responder upstream (no model)", results, [1, 32], names)
            raw["responder"] = {f"{k[0]}@{k[1]}": v for k, v in results.items()}
        if args.llama:
            print("upstream: llama.cpp server, SmolLM2-135M, max_tokens 1")
            levels = args.llama_concurrency
            results = run_matrix(targets("smol", "smol"), levels,
                                 args.llama_requests or max(50, args.requests // 8), args.rounds)
            out += ["", *report("llama.cpp upstream (SmolLM2-135M, max_tokens 1)", results,
                                levels, names)]
            raw["llama"] = {f"{k[0]}@{k[1]}": v for k, v in results.items()}
    load_after = os.getloadavg()
    out.append(f"\n{os.cpu_count()} CPUs; load average (1, 5, 15 min) before "
               f"{', '.join(f'{x:.1f}' for x in load_before)}, after "
               f"{', '.join(f'{x:.1f}' for x in load_after)}")
    print()
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
