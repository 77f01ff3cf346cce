"""Database work per request of the review app: SQL statements, pooled-connection check-outs
(each with its liveness ping when the pool pings), commits and new connections, counted by
SQLAlchemy event listeners in the server's own process while one annotator works the load
test's loop (next item, item page, its image, the answer; :mod:`review_load`) in-process.

Two passes: with the session cache warm (the requests of one page come within its 2 s) and
with it off (every request reads its session and queues from the database), ``--rounds`` loops
each; per request the median and the maximum over the rounds. Counts, not times: they do not
depend on the machine's load.

Usage: ``python benchmarks/review_queries.py [--db URL] [--rounds 10]`` (default: SQLite in a
temporary project).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from review_load import CAND_RE, CSRF_RE, IMG_RE, ITEM_RE, PASSWORD, build_project  # noqa: E402

KINDS = ("next", "item", "image", "answer")
COUNTS = ("statements", "checkouts", "pings", "commits", "connects")


class Counter:
    """Per-kind counts of the database events of the request being measured."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = dict.fromkeys(COUNTS, 0)
        self.pre_ping = False

    def bump(self, what: str) -> None:
        with self.lock:
            self.now[what] += 1

    def take(self) -> dict[str, int]:
        with self.lock:
            out, self.now = self.now, dict.fromkeys(COUNTS, 0)
        if self.pre_ping:  # each check-out pings the server first (pool_pre_ping)
            out["pings"] = out["checkouts"]
        return out


def listen(counter: Counter) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    event.listen(Engine, "before_cursor_execute", lambda *a: counter.bump("statements"))
    event.listen(Engine, "commit", lambda *a: counter.bump("commits"))
    event.listen(Pool, "checkout", lambda *a: counter.bump("checkouts"))
    event.listen(Pool, "connect", lambda *a: counter.bump("connects"))


def loop(client: Any, counter: Counter, seq: int) -> dict[str, dict[str, int]]:
    """One round of the load test's loop; the counts of each of its four requests."""
    out: dict[str, dict[str, int]] = {}
    counter.take()
    r = client.get("/queue/novel", follow_redirects=False)
    out["next"] = counter.take()
    assert r.status_code == 303, r.status_code
    page = client.get(r.headers["location"])
    out["item"] = counter.take()
    item_id = int(ITEM_RE.search(page.text).group(1))  # type: ignore[union-attr]
    img = IMG_RE.search(page.text)
    assert img is not None
    r = client.get(img.group(1))
    out["image"] = counter.take()
    assert r.status_code == 200
    data = {
        "csrf_token": CSRF_RE.search(page.text).group(1),  # type: ignore[union-attr]
        "note": f"q-{seq}",
        **{f"a_{k}": "correct" for k in CAND_RE.findall(page.text)},
    }
    r = client.post(f"/item/{item_id}", data=data, follow_redirects=False)
    out["answer"] = counter.take()
    assert r.status_code == 303, r.status_code
    return out


def measure(proj_dir: Path, db: str | None, rounds: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from errata.review import storage
    from errata.review.app import create_app

    counter = Counter()
    project = storage.open_project(proj_dir, db_url=db)
    counter.pre_ping = bool(getattr(project.engine.pool, "_pre_ping", False))
    listen(counter)
    app = create_app(project)
    results: dict[str, Any] = {"pre_ping": counter.pre_ping}
    with TestClient(app, base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/login", data={"name": "annotator000", "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code in (200, 303), r.status_code
        seq = 0
        for cached in (True, False):
            project.session_cache.seconds = 2.0 if cached else 0.0
            project.session_cache.invalidate()
            loop(c, counter, seq)  # warm-up round (settings, pool)
            seq += 1
            per: dict[str, list[dict[str, int]]] = {k: [] for k in KINDS}
            for _ in range(rounds):
                for k, v in loop(c, counter, seq).items():
                    per[k].append(v)
                seq += 1
            results["cache" if cached else "no_cache"] = {
                k: {
                    what: (statistics.median(x[what] for x in v), max(x[what] for x in v))
                    for what in COUNTS
                }
                for k, v in per.items()
            }
    project.dispose()
    return results


def table(res: dict[str, Any]) -> str:
    lines = [
        "| session cache | request | statements | check-outs | pings | commits | new connections |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("cache", "no_cache"):
        for k in KINDS:
            row = res[mode][k]
            cells = [
                f"{row[w][0]:g}" + (f" (max {row[w][1]})" if row[w][1] != row[w][0] else "")
                for w in COUNTS
            ]
            lines.append(
                f"| {'warm' if mode == 'cache' else 'off'} | {k} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: SQLite in a temporary project)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds: expected 1-100")
    with tempfile.TemporaryDirectory(prefix="errata-queries-") as tmp:
        proj_dir = Path(tmp) / "project"
        build_project(proj_dir, 1, args.db, Path(tmp) / "images")
        res = measure(proj_dir, args.db, args.rounds)
    print(f"pool_pre_ping: {res['pre_ping']}")
    print(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
