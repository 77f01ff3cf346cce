"""Kill the server (SIGKILL) in the middle of a stream of answers: every answer it acknowledged
must be in the database afterwards."""

from __future__ import annotations

import re
import signal
import threading

import pytest
from review_helpers import csrf_of, start_server

ACKS_BEFORE_KILL = 30  # acknowledged reviews after which the server is killed


@pytest.mark.slow
def test_acknowledged_answers_survive_sigkill(project):
    import httpx

    from errata.review import storage
    from errata.review.models import ANSWER_CODES

    proj, _ = project
    proj.engine.dispose()
    proc, url = start_server(proj.path)
    acked: list[tuple[str, int, dict[int, str], str]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def annotate(name: str, queue: str) -> None:
        with httpx.Client(base_url=url, timeout=5) as c:
            try:  # log-ins share one hashing thread: the kill may come while one waits
                token = csrf_of(c.get("/login").text)
                c.post(
                    "/login",
                    data={"name": name, "password": "correct horse battery", "csrf_token": token},
                )
            except httpx.HTTPError:
                return  # the server is gone
            seq = 0
            while not killed.is_set():
                try:
                    page = c.get(f"/queue/{queue}", follow_redirects=True)
                    m = re.search(r'action="/item/(\d+)"', page.text)
                    if not m:
                        return  # queue finished
                    item_id = int(m.group(1))
                    cands = [int(x) for x in re.findall(r'data-class="(\d+)"', page.text)]
                    answers = {k: ("correct", "wrong", "unclear")[(k + seq) % 3] for k in cands}
                    note = f"{name}-{seq}"
                    r = c.post(
                        f"/item/{item_id}",
                        data={
                            "csrf_token": csrf_of(page.text),
                            "note": note,
                            **{f"a_{k}": v for k, v in answers.items()},
                        },
                        follow_redirects=False,
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code in (200, 303):
                    with lock:
                        acked.append((name, item_id, answers, note))
                        if len(acked) >= ACKS_BEFORE_KILL and not killed.is_set():
                            killed.set()
                            proc.send_signal(signal.SIGKILL)
                seq += 1

    threads = [
        threading.Thread(target=annotate, args=(n, q))
        for n, q in (("ann1", "audit"), ("ann2", "audit"), ("ann3", "novel"))
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert killed.is_set(), f"only {len(acked)} answers acknowledged before the queues ran out"
    assert proc.returncode == -signal.SIGKILL

    reopened = storage.open_project(proj.path, db_url=proj.db_url)
    ids = {a["name"]: a["id"] for a in storage.annotators(reopened)}
    for name, item_id, answers, note in acked:
        view = storage.item_view(reopened, item_id, ids[name])
        assert view["done"], (name, item_id)
        assert view["note"] == note
        assert view["answers"] == {k: ANSWER_CODES[v] for k, v in answers.items()}
    reopened.engine.dispose()
