"""Per-class labelling guides: Markdown files in the project's guides/ folder, shown beside the
image for the item's candidate classes and in the hierarchy browser, HTML escaped."""

from __future__ import annotations

import re

from errata import resources
from errata.review.guides import Guides


def _candidates(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(x) for x in re.findall(r'data-class="(\d+)"', page.text)]


def test_a_guide_is_shown_for_the_right_class(project, client_for):
    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/novel", follow_redirects=True)
    first, second = _candidates(page)[:2]
    table = resources.classes()
    folder = proj.path / "guides"
    folder.mkdir()
    (folder / f"{table.wnids[first]}.md").write_text("Look at the **dorsal fin** first.\n")
    name = table.names[second].replace(" ", "_")
    (folder / f"{name}.md").write_text("# Tell apart\n\n- the *shell* pattern\n")
    (folder / f"{table.wnids[999]}.md").write_text("not a candidate here\n")
    assert 999 not in (first, second)
    page = c.get(page.url)
    assert f'id="guide-{first}"' in page.text and f'id="guide-{second}"' in page.text
    assert "Look at the <strong>dorsal fin</strong> first." in page.text
    assert "<li>the <em>shell</em> pattern</li>" in page.text
    assert "not a candidate here" not in page.text and 'id="guide-999"' not in page.text
    tree = c.get("/classes")
    assert 'id="tree-guide-999"' in tree.text and "not a candidate here" in tree.text
    assert f'id="tree-guide-{first}"' in c.get("/classes?fragment=1").text


def test_a_guide_with_html_is_escaped(project, client_for):
    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/novel", follow_redirects=True)
    first = _candidates(page)[0]
    folder = proj.path / "guides"
    folder.mkdir()
    evil = (
        '<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n'
        "[click](javascript:alert(1))\n"
    )
    (folder / f"{resources.classes().wnids[first]}.md").write_text(evil)
    text = c.get(page.url).text
    assert f'id="guide-{first}"' in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "<script>alert" not in text and "<img src=x" not in text
    assert 'href="javascript:' not in text


def test_a_missing_guide_shows_nothing(project, client_for):
    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/novel", follow_redirects=True)
    assert 'id="guides"' not in page.text  # no guides folder at all
    (proj.path / "guides").mkdir()
    (proj.path / "guides" / f"{resources.classes().wnids[999]}.md").write_text("toilet tissue\n")
    page = c.get(page.url)
    assert 999 not in _candidates(page) and 'id="guides"' not in page.text


def test_the_blind_classify_page_shows_no_candidate_guide(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    item = int(re.search(r'action="/item/(\d+)"', page.text).group(1))
    view = storage.item_view(proj, item, 2)
    folder = proj.path / "guides"
    folder.mkdir()
    wnids = resources.classes().wnids
    for cls in {view["original"], *view["candidates"]}:
        (folder / f"{wnids[cls]}.md").write_text("a guide that names the label\n")
    assert 'id="guides"' not in c.get(page.url).text  # it would give the label away
    assert "a guide that names the label" in c.get("/classes?fragment=1").text  # all classes


def test_guide_files_by_wnid_or_unique_name():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "guides"
        folder.mkdir()
        for name in ["n01491361.md", "Tiger_Shark.md", "great white shark.md", "crane.md", "x.txt"]:
            (folder / name).write_text("guide")
        files = Guides(tmp).files()
        table = resources.classes()
        shark = table.wnids.index("n01491361")
        assert files[shark].name == "n01491361.md"  # the WordNet id's file wins
        assert table.names[2] == "great white shark" and files[2].name == "great white shark.md"
        assert set(files) == {shark, 2}  # 'crane' names two classes: neither
        assert Guides(Path(tmp) / "nowhere").html() == {}
