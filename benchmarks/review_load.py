"""Load test of the review app: N simulated annotators (default 50) work a real server over
loopback for a fixed time, each loading the item's image as a browser would, then every
acknowledged answer is checked in the database.

Each simulated annotator logs in and loops: ask the queue for the next item (303), open the item
page, load its picture (``/item/ID/image``, a ~110 KB JPEG like ImageNet's validation images), post
answers for every candidate (303). Three scenarios, on one SQLite (or ``--db``) project:

* ``think``: 2 s think time (uniform 0.5-1.5 x) before each answer — people working;
  target p99 < 200 ms.
* ``stress``: no think time at all — far beyond 50 people clicking; target p99 < 1 s.
* ``flood``: the ``think`` load while 32 anonymous clients (in a process of their own, each from
  its own loopback address 127.0.0.10-41) post wrong passwords as fast as the server answers,
  a new name every time (so no account locks; each address is locked after its 20th failure,
  with back-off after that) and ignoring ``Retry-After``; target p99 < 500 ms for the annotators.

Bounded: loopback only, a fixed duration per scenario, per-request timeouts, one HTTP connection
per client. The clients share the machine's two cores with the server, so the figures are an
upper bound on what the server alone would show.

Usage: ``python benchmarks/review_load.py [--annotators 50] [--seconds 60]
[--scenarios think,stress,flood] [--db URL] [--json OUT] [--write]`` (``--write`` rewrites this
benchmark's section of benchmarks/RESULTS.md, which ``run.py`` keeps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PASSWORD = "load-test-password"  # every simulated annotator's password
ITEM_RE = re.compile(r'action="/item/(\d+)"')
CAND_RE = re.compile(r'data-class="(\d+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
IMG_RE = re.compile(r'<img\b[^>]*\bsrc="(/(?:image|item)/[^"]+)"')  # the item's picture
ANSWERS = ("correct", "wrong", "unclear", "dont_know")
HERE = Path(__file__).resolve().parent
SECTION = "## Review app load (benchmarks/review_load.py)"  # SQLite; PostgreSQL's is its own
PG_SECTION = "## Review app load on PostgreSQL (benchmarks/review_load.py)"
TARGETS_MS = {"think": 200.0, "stress": 1000.0, "flood": 500.0}  # p99 targets, issue 21
THINK_S = {"think": 2.0, "stress": 0.0, "flood": 2.0}
FLOOD_CLIENTS = 32
FLOOD_FIRST_ADDRESS = 10  # the flood's clients connect from 127.0.0.10, .11, ...
N_JPEGS = 16  # distinct image files, hard-linked under every validation file name


def make_images(folder: Path, names: list[str]) -> float:
    """``N_JPEGS`` 500x375 JPEGs (noise over a gradient, ~110 KB like ImageNet's), hard-linked
    under every name; returns their mean size in KB."""
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    sources = []
    for k in range(N_JPEGS):
        base = np.linspace(0, 255, 500)[None, :, None] * np.ones((375, 1, 3))
        noise = rng.normal(0, 40, (375, 500, 3))
        pixels = np.clip(base * ((k + 1) / N_JPEGS) + noise, 0, 255).astype(np.uint8)
        src = folder / f".source{k}.jpg"
        Image.fromarray(pixels).save(src, format="JPEG", quality=80)
        sources.append(src)
    for i, name in enumerate(names):
        os.link(sources[i % N_JPEGS], folder / name)
    return float(np.mean([p.stat().st_size for p in sources]) / 1024)


def build_project(path: Path, n_annotators: int, db_url: str | None, images: Path) -> float:
    """A project over the 50,000 validation images (with image files): original labels, two
    synthetic models that disagree with them on ~25 % of images (so the novel queue is full).
    Returns the images' mean size in KB."""
    from errata import resources
    from errata.io.predictions import Predictions
    from errata.review import init_project, storage

    rng = np.random.default_rng(0)
    names = resources.val_file_names()
    kb = make_images(images, [str(n) for n in names])
    orig = resources.validation_labels().astype(np.int16)
    models = []
    for m in range(2):
        top1 = orig.copy()
        flip = rng.random(len(orig)) < 0.25
        top1[flip] = rng.integers(0, 1000, flip.sum())
        models.append(Predictions(file_names=names, topk=top1[:, None], name=f"synthetic-{m}"))
    init_project(
        path,
        labels="original",
        predictions=models,
        db_url=db_url,
        images=images,
        reviews_per_item=10_000,
        classify_images=10,
    )
    project = storage.open_project(path)
    for i in range(n_annotators):
        storage.add_annotator(project, f"annotator{i:03d}", PASSWORD, queues=["novel"])
    project.engine.dispose()
    return kb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def annotator(
    name: str,
    url: str,
    deadline: float,
    think: float,
    lat: dict,
    acked: list,
    errors: list,
    login_gate: asyncio.Semaphore,
    start: asyncio.Event,
) -> None:
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as c:
        async with login_gate:  # argon2 is slow and memory-hard by design: log in a few at a time
            page = await c.get("/login")
            token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
            r = await c.post(
                "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, timeout=60
            )
            if r.status_code != 303:
                errors.append(f"login: {r.status_code}")
                return
        lat["ready"].append(1)
        if len(lat["ready"]) == lat["n"]:
            start.set()
        await start.wait()  # measure only while all annotators are working
        deadline = time.monotonic() + deadline
        rng = np.random.default_rng(abs(hash(name)) % 2**32)
        if think:  # people do not all start in the same millisecond
            await asyncio.sleep(rng.uniform(0, think))
        seq = 0
        while time.monotonic() < deadline:
            try:
                t = time.perf_counter()
                r = await c.get("/queue/novel")
                lat["next"].append(time.perf_counter() - t)
                if r.status_code != 303:
                    errors.append(f"next: {r.status_code}")
                    return
                t = time.perf_counter()
                page = await c.get(r.headers["location"])
                lat["item"].append(time.perf_counter() - t)
                item_id = int(ITEM_RE.search(page.text).group(1))  # type: ignore[union-attr]
                img = IMG_RE.search(page.text)
                if img is None:
                    errors.append("item page without an image")
                    return
                t = time.perf_counter()
                r = await c.get(img.group(1))
                lat["image"].append(time.perf_counter() - t)
                if r.status_code != 200 or not r.content.startswith(b"\xff\xd8"):
                    errors.append(f"image: {r.status_code}")
                cands = CAND_RE.findall(page.text)
                data = {
                    "csrf_token": CSRF_RE.search(page.text).group(1),  # type: ignore[union-attr]
                    "note": f"{name}-{seq}",
                    **{f"a_{k}": ANSWERS[(int(k) + seq) % 4] for k in cands},
                }
                if think:  # jittered, so the annotators do not move in lock-step waves
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
                t = time.perf_counter()
                r = await c.post(f"/item/{item_id}", data=data)
                lat["answer"].append(time.perf_counter() - t)
                if r.status_code == 303:
                    acked.append((name, item_id, f"{name}-{seq}", len(cands)))
                else:
                    errors.append(f"answer: {r.status_code}")
                seq += 1
            except (httpx.HTTPError, AttributeError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")


PRIORITY: list[int] = []  # the scheduling groups' niceness (--priority), set once parsed


def set_priority(pid: str | int = "self") -> None:
    """Give the scheduling group (Linux autogroup: the session) of ``pid`` the ``--priority``
    niceness: on a machine shared with other work, the server, the measuring clients and the
    flood each get the share of the cores they would have on machines of their own."""
    if not PRIORITY:
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(PRIORITY[0]))
    except OSError as exc:
        print(f"--priority: cannot set the autogroup niceness of {pid}: {exc}", file=sys.stderr)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    url: str, n: int, seconds: float, think: float, go: Any = None, pid: int = 0
) -> tuple[dict, list, list, float, float]:
    """Log the annotators in, then let them work for ``seconds``; ``go`` (an event of another
    process) is set when they start, for the flood to begin with them."""
    lat: dict = {"next": [], "item": [], "image": [], "answer": [], "ready": [], "n": n}
    acked: list = []
    errors: list = []
    gate, start = asyncio.Semaphore(4), asyncio.Event()
    tasks = [
        asyncio.create_task(
            annotator(f"annotator{i:03d}", url, seconds, think, lat, acked, errors, gate, start)
        )
        for i in range(n)
    ]
    await start.wait()
    if go is not None:
        go.set()
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    await asyncio.gather(*tasks)
    cpu = cpu_seconds(pid) - c0
    del lat["ready"], lat["n"]
    return lat, acked, errors, time.monotonic() - t0, cpu


async def _flood(url: str, seconds: float, go: Any, out: Any) -> None:
    import httpx

    while not go.is_set():
        await asyncio.sleep(0.05)
    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    lat: list[float] = []

    async def client(i: int) -> None:
        address = f"127.0.0.{FLOOD_FIRST_ADDRESS + i}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, timeout=30, transport=transport) as c:
            token = CSRF_RE.search((await c.get("/login")).text).group(1)  # type: ignore[union-attr]
            n = 0
            while time.monotonic() < deadline:
                data = {"name": f"intruder{i}-{n}", "password": "guess", "csrf_token": token}
                t = time.perf_counter()
                try:
                    r = await c.post("/login", data=data)
                    key = str(r.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                lat.append(time.perf_counter() - t)
                counts[key] = counts.get(key, 0) + 1
                n += 1

    await asyncio.gather(*(client(i) for i in range(FLOOD_CLIENTS)))
    out.put({"attempts": sum(counts.values()), "status": counts, "p50_ms": _ms(lat, 50)})


def flood_process(url: str, seconds: float, go: Any, out: Any, priority: list[int]) -> None:
    """32 anonymous clients posting wrong passwords, in a process and a session of their own (on
    Linux a session is a scheduling group: the flood gets its own share of the CPU, as an
    attacker's machines would, instead of the measuring clients')."""
    os.setsid()
    PRIORITY[:] = priority
    set_priority()
    asyncio.run(_flood(url, seconds, go, out))


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")


def start_server(proj_dir: Path, db: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "errata", "review", "serve", str(proj_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)] + (["--db", db] if db else [])
    # a session of its own: the server is scheduled apart from the clients that measure it
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, start_new_session=True)
    set_priority(server.pid)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def lost_answers(proj_dir: Path, db: str | None, acked: list) -> int:
    """Acknowledged answers whose review note or answer count is not in the database."""
    from sqlalchemy import select

    from errata.review import storage
    from errata.review.models import Answer, Review

    project = storage.open_project(proj_dir, db_url=db)
    ids = {a["name"]: a["id"] for a in storage.annotators(project)}
    with project.session() as s:
        notes = {(r.annotator_id, r.item_id): r.note for r in s.scalars(select(Review))}
        counts: dict[tuple[int, int], int] = {}
        for aid, iid in s.execute(select(Answer.annotator_id, Answer.item_id)).all():
            counts[(aid, iid)] = counts.get((aid, iid), 0) + 1
    project.engine.dispose()
    return sum(
        1
        for name, item, note, k in acked
        if notes.get((ids[name], item)) != note or counts.get((ids[name], item), 0) != k
    )


def run_scenario(
    name: str, proj_dir: Path, db: str | None, n: int, seconds: float
) -> dict[str, Any]:
    server, url = start_server(proj_dir, db)
    flood = None
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    try:
        if name == "flood":
            flood = ctx.Process(target=flood_process, args=(url, seconds, go, out, PRIORITY))
            flood.start()
        lat, acked, errors, wall, cpu = asyncio.run(
            drive(url, n, seconds, THINK_S[name], go if flood else None, server.pid)
        )
        flood_stats = out.get(timeout=seconds + 60) if flood else None
    finally:
        if flood is not None:
            flood.join(timeout=30)
            if flood.is_alive():
                flood.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    all_lat = np.array(lat["next"] + lat["item"] + lat["image"] + lat["answer"]) * 1000
    p99 = round(float(np.percentile(all_lat, 99)), 1)
    result = {
        "scenario": name,
        "annotators": n,
        "seconds": round(wall, 1),
        "think_seconds": THINK_S[name],
        "requests": int(all_lat.size),
        "requests_per_second": round(all_lat.size / wall, 1),
        "answers_acknowledged": len(acked),
        "answers_per_second": round(len(acked) / wall, 1),
        "p50_ms": round(float(np.percentile(all_lat, 50)), 1),
        "p99_ms": p99,
        "max_ms": round(float(all_lat.max()), 1),
        "server_cpu_ms_per_request": round(1000 * cpu / max(all_lat.size, 1), 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "target_p99_ms": TARGETS_MS[name],
        "met": bool(p99 < TARGETS_MS[name]),
        "per_request": {
            k: {"n": len(v), "p50_ms": _ms(v, 50), "p99_ms": _ms(v, 99)}
            for k, v in lat.items()
            if v
        },
        "errors": len(errors),
        "first_errors": errors[:5],
        "lost_answers": lost_answers(proj_dir, db, acked),
        "flood": flood_stats,
        "database": "postgresql" if db else "sqlite",
    }
    print(json.dumps(result, indent=2), flush=True)
    return result


def write_section(results: list[dict[str, Any]], kb: float) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md; ``run.py`` keeps it."""
    import datetime

    load = os.getloadavg()[0]
    section = SECTION if results[0]["database"] == "sqlite" else PG_SECTION
    lines = [
        section,
        "",
        f"{results[0]['annotators']} simulated annotators on loopback, each loading the item's "
        f"image ({N_JPEGS} JPEGs of {kb:.0f} KB on average), {results[0]['seconds']:.0f} s per "
        f"scenario, {results[0]['database']}, 2 cores shared by server, clients and other work "
        f"({datetime.date.today().isoformat()}; 'load' is the 1-minute load average at the end "
        f"of each scenario, {load:.1f} at the end"
        + (
            f"; server, clients and flood each in a scheduling group of niceness {PRIORITY[0]}"
            if PRIORITY
            else ""
        )
        + "). Latency over every request (next item, item "
        "page, image, answer), measured by the clients; server CPU per request from /proc "
        "(all the server's threads, hashing included, over the annotators' requests).",
        "",
        "| scenario | req/s | answers/s | p50 ms | p99 ms | target p99 | met | max ms "
        "| server CPU ms/req | load | errors | lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} (think {r['think_seconds']:g} s) | {r['requests_per_second']} "
            f"| {r['answers_per_second']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| < {r['target_p99_ms']:.0f} | {'yes' if r['met'] else '**no**'} | {r['max_ms']} "
            f"| {r['server_cpu_ms_per_request']} | {r['load_average_1min']} | {r['errors']} "
            f"| {r['lost_answers']} |"
        )
    for r in results:
        if r["flood"]:
            f = r["flood"]
            status = ", ".join(f"{k}: {v}" for k, v in sorted(f["status"].items()))
            lines += [
                "",
                f"Flood ({FLOOD_CLIENTS} clients, one loopback address each, wrong passwords, "
                f"a new name each time): {f['attempts']} attempts in {r['seconds']:.0f} s "
                f"({status}; 401 = checked and refused, 429 = address locked, 503 = hashing "
                f"pool full), median answer {f['p50_ms']} ms.",
            ]
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if section in text:
        before, _, rest = text.partition(section)
        nxt = rest.find("\n## ")
        text = before + "\n".join(lines) + "\n" + (rest[nxt:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    path.write_text(text)
    print(f"written: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="per scenario")
    parser.add_argument(
        "--scenarios", default="think,stress,flood", help="comma-separated: think, stress, flood"
    )
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary project)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument(
        "--priority",
        type=int,
        help="niceness (-20..19) of the scheduling groups of the server, the clients and the "
        "flood while the scenarios run (Linux autogroups; negative needs root): on a machine "
        "shared with other work, a share of the cores like a machine of their own",
    )
    args = parser.parse_args()
    scenarios = [x for x in args.scenarios.split(",") if x]
    if not 1 <= args.annotators <= 200 or not 1 <= args.seconds <= 600:
        parser.error("bounded: 1-200 annotators, 1-600 seconds")
    if not scenarios or any(x not in TARGETS_MS for x in scenarios):
        parser.error(f"--scenarios: expected some of {', '.join(TARGETS_MS)}")

    with tempfile.TemporaryDirectory(prefix="errata-load-") as tmp:
        proj_dir = Path(tmp) / "project"
        t = time.perf_counter()
        kb = build_project(proj_dir, args.annotators, args.db, Path(tmp) / "images")
        print(f"project with {args.annotators} annotators built in {time.perf_counter() - t:.1f} s")
        if args.priority is not None:
            PRIORITY[:] = [args.priority]
            try:
                os.setsid()  # a scheduling group of our own, not the shell's
            except OSError:
                pass
            set_priority()
        results = [
            run_scenario(x, proj_dir, args.db, args.annotators, args.seconds) for x in scenarios
        ]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    ok = all(r["lost_answers"] == 0 and not r["errors"] for r in results)
    if args.write and ok:
        write_section(results, kb)
    elif args.write:
        print("errors or lost answers: benchmarks/RESULTS.md left as it was", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
