"""Golden questions: (image, class) questions with a known expert answer, mixed into the queues
to measure each annotator's accuracy and, in training mode, to teach them (Shankar et al.).

Built in: ImageNet-ReaL's ``golden.npz`` (five expert raters on 1,135 questions about 155 images),
the expected answer being the experts' majority (no / maybe / yes → Wrong / Unclear / Correct).
A project's own golden set is JSON: ``{FILE_NAME: {CLASS: "correct" | "wrong" | "unclear"}}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from errata.exceptions import ErrataInputError
from errata.io.files import read_json
from errata.review.models import ANSWER_CODES, DONT_KNOW

Golden = dict[str, dict[int, int]]  # file name → class index → expected answer code


def from_real_tensor(tensor: np.ndarray, info: np.ndarray) -> Golden:
    """Experts' one-hot ``(n_experts, n_questions, 3)`` answers → expected answer per question
    (the majority; a tie goes to *unclear*)."""
    votes = tensor.sum(axis=0)  # (n_questions, 3) no / maybe / yes
    best = votes.argmax(axis=1)
    tie = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) > 1
    best[tie] = 1
    out: Golden = {}
    for (name, cls), code in zip(info.tolist(), best.tolist()):
        out.setdefault(str(name), {})[int(cls)] = int(code)
    return out


def real_golden() -> Golden:
    """ReaL's expert golden questions, from the data directory (``errata data path
    real-golden``)."""
    from errata.io import data

    path = data.path("real-golden")
    with np.load(path, allow_pickle=False) as z:
        return from_real_tensor(z["tensor"], z["info"])


def from_json(path: str | Path) -> Golden:
    """A project's own golden questions (see the module docstring for the schema)."""
    from errata.io.labels import _class_index_of

    path = Path(path)
    data = read_json(path, what="golden questions {file name: {class: answer}}")
    if not isinstance(data, dict) or not data:
        raise ErrataInputError(f"{path}: expected an object {{file name: {{class: answer}}}}")
    out: Golden = {}
    for name, qs in data.items():
        if not isinstance(qs, dict):
            raise ErrataInputError(f"{path}: ['{name}'] must map classes to answers")
        for cls, ans in qs.items():
            code = ANSWER_CODES.get(str(ans).lower())
            if code is None or code == DONT_KNOW:
                raise ErrataInputError(
                    f"{path}: ['{name}']['{cls}']: '{ans}' is not one of correct, wrong, unclear"
                )
            out.setdefault(name, {})[_class_index_of(cls, where=f"{path}: ['{name}']")] = code
    return out


def load_golden(source: str | Path | None) -> Golden | None:
    """``"real"`` → ReaL's golden set; a path → the project's own; None/"none" → no golden."""
    if source is None or str(source) == "none":
        return None
    if str(source) == "real":
        return real_golden()
    return from_json(source)
