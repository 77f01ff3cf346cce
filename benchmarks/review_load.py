"""Load test of the review app: N simulated annotators (default 50) hammer a real server for a
fixed time over loopback, then every acknowledged answer is checked in the database.

Each simulated annotator logs in and loops: ask the queue for the next item (303), open the item
page, post answers for every candidate (303). No think time by default, so this is a stress test
well beyond 50 people clicking. Bounded: loopback only, a fixed duration, per-request timeouts,
one HTTP connection per annotator. The client shares the machine's cores with the server, so the
figures are a lower bound for the server alone.

Usage: ``python benchmarks/review_load.py [--annotators 50] [--seconds 60] [--think 0]
[--db URL] [--json OUT]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PASSWORD = "load-test-password"  # every simulated annotator's password
ITEM_RE = re.compile(r'action="/item/(\d+)"')
CAND_RE = re.compile(r'data-class="(\d+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ANSWERS = ("correct", "wrong", "unclear", "dont_know")


def build_project(path: Path, n_annotators: int, db_url: str | None) -> None:
    """A project over the 50,000 validation images: original labels, two synthetic models that
    disagree with them on ~25 % of images (so the novel queue is full)."""
    from errata import resources
    from errata.io.predictions import Predictions
    from errata.review import init_project, storage

    rng = np.random.default_rng(0)
    names = resources.val_file_names()
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
        reviews_per_item=10_000,
        classify_images=10,
    )
    project = storage.open_project(path)
    for i in range(n_annotators):
        storage.add_annotator(project, f"annotator{i:03d}", PASSWORD, queues=["novel"])
    project.engine.dispose()


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


async def drive(url: str, n: int, seconds: float, think: float) -> tuple[dict, list, list, float]:
    lat: dict = {"next": [], "item": [], "answer": [], "ready": [], "n": n}
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
    t0 = time.monotonic()
    await asyncio.gather(*tasks)
    del lat["ready"], lat["n"]
    return lat, acked, errors, time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds an annotator looks at a page before answering "
        "(uniform 0.5-1.5 times this); 0 = stress test",
    )
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary project)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not 1 <= args.annotators <= 200 or not 1 <= args.seconds <= 600:
        parser.error("bounded: 1-200 annotators, 1-600 seconds")

    from errata.review import storage

    with tempfile.TemporaryDirectory(prefix="errata-load-") as tmp:
        proj_dir = Path(tmp) / "project"
        t = time.perf_counter()
        build_project(proj_dir, args.annotators, args.db)
        print(f"project with {args.annotators} annotators built in {time.perf_counter() - t:.1f} s")
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "errata",
                "review",
                "serve",
                str(proj_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            import httpx

            for _ in range(300):
                try:
                    if httpx.get(url + "/login", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            lat, acked, errors, wall = asyncio.run(
                drive(url, args.annotators, args.seconds, args.think)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

        project = storage.open_project(proj_dir, db_url=args.db)
        ids = {a["name"]: a["id"] for a in storage.annotators(project)}
        from sqlalchemy import select

        from errata.review.models import Answer, Review

        with project.session() as s:
            notes = {(r.annotator_id, r.item_id): r.note for r in s.scalars(select(Review))}
            counts: dict[tuple[int, int], int] = {}
            for aid, iid in s.execute(select(Answer.annotator_id, Answer.item_id)).all():
                counts[(aid, iid)] = counts.get((aid, iid), 0) + 1
        lost = sum(
            1
            for name, item, note, k in acked
            if notes.get((ids[name], item)) != note or counts.get((ids[name], item), 0) != k
        )
        project.engine.dispose()

    all_lat = np.array(lat["next"] + lat["item"] + lat["answer"]) * 1000
    result = {
        "annotators": args.annotators,
        "seconds": round(wall, 1),
        "think_seconds": args.think,
        "requests": int(all_lat.size),
        "requests_per_second": round(all_lat.size / wall, 1),
        "answers_acknowledged": len(acked),
        "answers_per_second": round(len(acked) / wall, 1),
        "p50_ms": round(float(np.percentile(all_lat, 50)), 1),
        "p99_ms": round(float(np.percentile(all_lat, 99)), 1),
        "per_request": {
            k: {
                "n": len(v),
                "p50_ms": round(float(np.percentile(v, 50)) * 1000, 1),
                "p99_ms": round(float(np.percentile(v, 99)) * 1000, 1),
            }
            for k, v in lat.items()
            if v
        },
        "errors": len(errors),
        "first_errors": errors[:5],
        "lost_answers": lost,
        "database": args.db or "sqlite",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if lost == 0 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
