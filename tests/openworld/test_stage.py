"""The OOV stage's decision logic on a tiny planted taxonomy, and proposals on real WordNet."""

from __future__ import annotations

import numpy as np
import pytest


class TinyGraph:
    """ImageNet classes 0..3 plus two non-ImageNet synsets: 'sled dog' (parent of 0, 1) and
    'working dog' (parent of sled dog and class 2), under the broad level 'dog'."""

    def __init__(self, cls: list[str]) -> None:
        self.cls = cls
        self.parent = {
            cls[0]: ["n09000001"],
            cls[1]: ["n09000001"],
            cls[2]: ["n09000002"],
            "n09000001": ["n09000002"],
            "n09000002": ["n02084071"],
            "n02084071": [],
            cls[3]: [],
        }
        self.names = {"n09000001": "sled dog", "n09000002": "working dog", "n02084071": "dog"}

    def hypernyms(self, w):
        return self.parent.get(w, [])

    def hyponyms(self, w):
        return [c for c, ps in self.parent.items() if w in ps]

    def ancestors(self, w):
        out, todo = set(), list(self.parent.get(w, []))
        while todo:
            a = todo.pop()
            out.add(a)
            todo.extend(self.parent.get(a, []))
        return out

    def lemmas(self, w):
        return [self.names.get(w, w)]


@pytest.fixture()
def tiny():
    from errata.openworld import build_proposals

    cls = [f"n0100000{i}" for i in range(4)]
    same = np.zeros((4, 4), bool)
    same[:3, :3] = True  # classes 0, 1, 2 form superclass 'dog'; class 3 is alone
    same[3, 3] = True
    members = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], bool)
    return build_proposals(
        graph=TinyGraph(cls),
        class_wnids=cls,
        same_superclass=same,
        superclass_members=members,
        superclass_names=np.array(["dog", "fish"], object),
    )


def _planted(props, winner_wnid: str, d: int = 8):
    """Orthogonal text embeddings; one image embedding placed next to ``winner_wnid``'s."""
    text = np.eye(len(props), d, dtype=np.float32)
    img = np.zeros((1, d), np.float32)
    img[0, props.wnids.tolist().index(winner_wnid)] = 1.0
    img[0, 0] = 0.3  # a bit of class 0 too: the winner must still win
    return text, img / np.linalg.norm(img)


def _labels(n: int, *classes: int) -> np.ndarray:
    lab = np.zeros((n, 4), bool)  # the tiny taxonomy has 4 classes
    lab[0, list(classes)] = True
    return lab


def test_proposals_of_tiny_graph(tiny) -> None:
    # prediction 0: itself, sibling 1 under 'sled dog', same superclass 2, ancestors below 'dog'
    assert tiny.of(0) == ["n01000000", "n01000001", "n01000002", "n09000001", "n09000002"]
    assert tiny.of(3) == ["n01000003"]
    assert tiny.is_imagenet.tolist() == [True] * 4 + [False] * 2  # vocabulary: classes first


def test_planted_oov_is_claimed(tiny) -> None:
    from errata.openworld import oov_stage

    text, img = _planted(tiny, "n09000001")  # the image looks like a 'sled dog'
    nn = np.array([[1, 3, 3, 3, 3, 3, 3, 3, 3, 3]], np.int16)  # one neighbour shares 'dog'
    claimed, reasons = oov_stage(np.array([0]), np.array([0]), _labels(1, 2), nn, img, text, tiny)
    assert claimed.tolist() == [True]
    assert "'sled dog' (n09000001)" in reasons[0] and "1/10 nearest" in reasons[0]
    assert "superclass 'dog'" in reasons[0]


def test_no_neighbour_evidence_no_claim(tiny) -> None:
    from errata.openworld import oov_stage

    text, img = _planted(tiny, "n09000001")
    nn = np.full((1, 10), 3, np.int16)  # all neighbours are 'fish': no shared superclass
    claimed, reasons = oov_stage(np.array([0]), np.array([0]), _labels(1, 2), nn, img, text, tiny)
    assert claimed.tolist() == [False] and reasons[0] == ""
    claimed, _ = oov_stage(
        np.array([0]), np.array([0]), _labels(1, 2), np.full((1, 10), -1), img, text, tiny
    )  # an image without embedding is never claimed
    assert claimed.tolist() == [False]


def test_label_ancestors_are_not_proposals(tiny) -> None:
    from errata.openworld import oov_stage

    text, img = _planted(tiny, "n09000001")
    nn = np.full((1, 10), 1, np.int16)
    # label 1 is a sled dog: 'sled dog' is its ancestor, so it cannot be the OOV answer
    claimed, _ = oov_stage(np.array([0]), np.array([0]), _labels(1, 1), nn, img, text, tiny)
    assert claimed.tolist() == [False]


def test_imagenet_winner_is_not_oov_and_many_models_share_work(tiny) -> None:
    from errata.openworld import oov_stage

    text, img = _planted(tiny, "n01000002")  # looks like class 2: an ImageNet class wins
    img = np.vstack([img, _planted(tiny, "n09000002")[1]])  # image 1 looks like 'working dog'
    nn = np.full((2, 10), 0, np.int16)
    lab = np.zeros((2, 4), bool)
    lab[:, 3] = True
    # three "models" stacked: the same two errors each, plus prediction 3 (alone in its superclass)
    rows, top1 = np.array([0, 1, 0, 1, 0, 1]), np.array([1, 1, 1, 1, 3, 3])
    claimed, reasons = oov_stage(rows, top1, lab, nn, img, text, tiny)
    assert claimed.tolist() == [False, True, False, True, False, False]
    assert reasons[1] == reasons[3] and "'working dog'" in reasons[1]


def test_stage_validates_shapes(tiny) -> None:
    from errata.exceptions import ErrataInputError
    from errata.openworld import oov_stage

    text, img = _planted(tiny, "n09000001")
    with pytest.raises(ErrataInputError, match="not the same CLIP model"):
        oov_stage(
            np.array([0]),
            np.array([0]),
            _labels(1, 2),
            np.zeros((1, 10), np.int16),
            img[:, :4],
            text,
            tiny,
        )
    with pytest.raises(ErrataInputError, match="top1"):
        oov_stage(
            np.array([0]),
            np.array([4]),
            _labels(1, 2),
            np.zeros((1, 10), np.int16),
            img,
            text,
            tiny,
        )


def test_proposals_on_real_wordnet() -> None:
    taxonomy = pytest.importorskip(
        "errata.taxonomy", reason="errata.taxonomy (WordNet extract) not available yet"
    )
    from errata import resources
    from errata.openworld import build_proposals

    wn = taxonomy.wordnet()
    eye = np.eye(1000, dtype=bool)  # superclasses left out here: siblings and ancestors only
    props = build_proposals(graph=wn, same_superclass=eye, superclass_members=eye[:, :1])
    cls = resources.classes()
    eskimo = cls.index_of("n02109961")
    got = set(props.of(eskimo))
    assert {"n02109811", "n02103406"} <= got  # sled dog, working dog: non-ImageNet dog synsets
    assert set(wn.hyponyms("n02103406")) <= got  # siblings: every other kind of working dog
    assert "n02084071" not in got  # 'dog' is the broad level: never a proposal
    assert len(props) > 1000 and props.lemmas[props.wnids.tolist().index("n02109811")] == "sled dog"
    malamute = cls.index_of("n02110063")
    # the label's ancestors are flagged, so the stage drops them for a malamute-labelled image
    anc = set(props.wnids[props.ancestors[malamute]].tolist())
    assert {"n02109811", "n02103406", "n02110063"} <= anc
    assert anc <= set(wn.ancestors("n02110063")) | {"n02110063"}
    assert "n02109961" not in anc  # Eskimo dog is no ancestor of malamute
    for c in range(1000):  # every class proposes itself first
        assert props.of(c)[0] == cls.wnids[c]


def test_proposals_with_real_superclasses() -> None:
    taxonomy = pytest.importorskip("errata.taxonomy", reason="errata.taxonomy not available yet")
    if not hasattr(taxonomy, "superclasses"):
        pytest.skip("errata.taxonomy.superclasses() not available yet")
    from errata import resources
    from errata.openworld import build_proposals

    props = build_proposals()
    cls = resources.classes()
    eskimo = cls.index_of("n02109961")
    same = np.flatnonzero(np.asarray(taxonomy.same_superclass())[eskimo])
    assert set(cls.wnids[j] for j in same) <= set(props.of(eskimo))
    assert props.superclass_members.shape[0] == 1000
