"""The one-model report: its figures against naive references, thumbnails, plot export, and
that bad input writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata.core import categories as K
from errata.exceptions import ErrataInputError
from errata.report.model import facts, model_report
from tests.report._page import column, table_data
from tests.report.conftest import write_images


@pytest.fixture(scope="module")
def written(small_analysis, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One report (with its plots exported) shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("model")
    return model_report(small_analysis, out / "r.html", plots=out / "plots")


def test_report_holds_every_error_and_the_metrics(small_analysis, written) -> None:
    html = written["report"].read_text(encoding="utf-8")
    errors = small_analysis.errors
    data = table_data(html, "errors-data")
    assert len(data["rows"]) == len(errors) > 0
    assert column(data, "file_name") == errors["file_name"].tolist()
    cats = [data["categories"][c] for c in column(data, "category")]
    assert cats == errors["category"].astype(str).tolist()
    assert [data["reasons"][r] for r in column(data, "reason")] == errors["reason"].tolist()
    for key, m in small_analysis.metrics.items():
        assert f'data-metric="{key}"' in html
        assert f"{100 * m['value']:.2f} %" in html
    assert html.count('<svg class="plot"') >= 3
    assert "fine-grained OOV" in html and "not run" in html


def test_superclass_accuracy_matches_a_naive_count(small_analysis) -> None:
    f = facts(small_analysis)
    tax = small_analysis.context.taxonomy
    cat = small_analysis.classified.category[0]
    original = small_analysis.labels.original
    for _, row in f.superclasses.iterrows():
        s = list(tax.superclass_names).index(row["superclass"])
        hits = n = 0
        for c, o in zip(cat.tolist(), original.tolist(), strict=False):  # naive per-image reference
            if o < 0 or c == K.EXCLUDED or not tax.superclass_members[o, s]:
                continue
            n += 1
            hits += c in K.CORRECT_CODES
        assert row["images"] == n
        assert row["accuracy"] == pytest.approx(hits / n)


def test_confused_pairs_count_errors(small_analysis) -> None:
    f = facts(small_analysis)
    errors = small_analysis.errors
    assert f.pairs["count"].is_monotonic_decreasing
    assert f.pairs["count"].sum() <= len(errors)
    top = f.pairs.iloc[0]
    assert (errors["top1"] == top["top1"]).sum() >= top["count"]
    breakdown = dict(f.breakdown)["all images"]
    assert sum(breakdown.values()) == small_analysis.summary["top1_errors"]


def test_thumbnails_are_embedded_up_to_the_cap(small_analysis, tmp_path: Path) -> None:
    from PIL import Image

    names = small_analysis.errors["file_name"].tolist()
    images = tmp_path / "val"
    rng = np.random.default_rng(0)
    for i, name in enumerate(names[:12]):  # half flat, half in class folders; noise is big JPEG
        folder = images if i % 2 else images / "n01440764"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(folder / name)
    (images / names[12]).write_bytes(b"not a jpeg")
    page = tmp_path / "r.html"
    model_report(small_analysis, page, images=images, thumbnail_size=64)
    data = table_data(page.read_text(encoding="utf-8"), "errors-data")
    assert set(data["images"]) == set(names[:12])
    assert all(u.startswith("data:image/jpeg;base64,") for u in data["images"].values())
    assert column(data, "image") == names
    from errata.report.thumbnails import thumbnail

    one = len(thumbnail(images / "n01440764" / names[0], 64))
    model_report(
        small_analysis, page, images=images, thumbnail_size=64, max_image_bytes=int(5.5 * one)
    )
    capped = table_data(page.read_text(encoding="utf-8"), "errors-data")["images"]
    assert 0 < len(capped) < 12
    assert list(capped) == names[: len(capped)]  # in table order
    assert "size cap reached" in page.read_text(encoding="utf-8")


def test_plots_are_exported_as_svg_pdf_and_png(written) -> None:
    plots = written["report"].parent / "plots"
    for name in ("category_breakdown", "mla_variants", "superclass_accuracy"):
        assert (plots / f"{name}.svg").read_text().lstrip().startswith("<?xml")
        assert (plots / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        pdf = (plots / f"{name}.pdf").read_bytes()
        assert pdf[:5] == b"%PDF-" and b"/Subtype /Image" not in pdf  # vector, no raster
        assert f"{name}.png" in written and f"{name}.pdf" in written


def test_report_text_follows_the_run_settings(small_analysis, written, tmp_path: Path) -> None:
    """The intervals line says what the run did (Wilson by default, the bootstrap with its
    resamples and seed when asked), and without images one line says how to get them."""
    import dataclasses

    html = written["report"].read_text(encoding="utf-8")
    assert "Wilson score interval" in html and "bootstrap" not in html.split("Intervals")[1][:80]
    assert "No example images: give the validation images" in html
    boot = dataclasses.replace(
        small_analysis,
        options=dataclasses.replace(
            small_analysis.options, interval="bootstrap", n_resamples=500, seed=3
        ),
    )
    other = model_report(boot, tmp_path / "b.html")["report"].read_text(encoding="utf-8")
    assert "percentile bootstrap over images, 500 resamples, seed 3" in other


def test_real_report_has_an_mla_card(tmp_path: Path, data_dir: Path) -> None:
    import errata

    a = errata.analyze("cleanlab-resnet50", labels="real", order="imagefolder")
    html = model_report(a, tmp_path / "r.html")["report"].read_text(encoding="utf-8")
    mla = a.summary["mla_variants"]["mla"]["value"]
    card = html.split('data-metric="mla"')[1][:200]
    assert f"{100 * mla:.2f} %" in card
    # no --openworld: the sentence on the open-world limits, with the counts of the ViT-3B
    # review as errata experts computes them, escaped, after the category table
    from errata.experts import expert_agreement

    lim = expert_agreement("vit3b-mistakes", labels="real").summary["limits"]["open_world"]
    spurious = lim["filed_as"].get("Spurious Correlation", 0)
    note = html.split('id="openworld-note">')[1].split("</p>")[0]
    assert html.index("</tbody></table>") < html.index('id="openworld-note"')
    assert f"{lim['expert_oov']} of the {lim['errors']} errors are fine-grained OOV" in note
    assert f"files {spurious} of them as spurious correlation" in note
    assert "the docs&#39; extras page" in note and "'" not in note


def test_openworld_caveat_without_the_review_has_no_counts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from errata.experts import open_world_caveat, open_world_note

    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path))  # an empty data directory
    text = open_world_caveat()
    assert "needs the images and CLIP weights (--openworld" in text
    assert "ViT-3B" not in text and not any(ch.isdigit() for ch in text)
    ran = {"categories": {"fine-grained OOV": {"count": 1, "share": 0.5}}}
    assert open_world_note(ran) == ""


def test_bad_input_writes_nothing(small_analysis, tmp_path: Path) -> None:
    with pytest.raises(ErrataInputError, match="not a folder"):
        model_report(small_analysis, tmp_path / "r.html", images=tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


def test_plots_on_a_full_disk_leave_the_folder_as_it_was(  # type: ignore[no-untyped-def]
    small_analysis, tmp_path: Path, monkeypatch
) -> None:
    """The plots are written as one unit: a write that fails half-way (a full disk) leaves the
    folder as it was, not some of the plots, and is one line."""
    import matplotlib.figure

    from errata.report import _render
    from errata.report.model import model_figures

    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "mine.txt").write_text("a user's file")
    real = matplotlib.figure.Figure.savefig
    calls: list[object] = []

    def full(self, fname, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(fname)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, fname, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    with pytest.raises(ErrataInputError) as info:
        _render.export(model_figures(small_analysis), plots)
    assert str(info.value) == f"{plots}: cannot write (No space left on device)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots"]
    assert sorted(p.name for p in plots.iterdir()) == ["mine.txt"]
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", real)
    written = _render.export(model_figures(small_analysis), plots)
    assert sorted(p.name for p in plots.iterdir()) == sorted([*written, "mine.txt"])


# --- example grids, progress, the split into sections (issue 23 item 2) ------------------------


def grids_of(html: str) -> dict[str, list[str]]:
    """Each example grid's id and the file names (alt text) of its images, in page order."""
    import re
    from html import unescape

    out = {}
    for m in re.finditer(r'<figure class="grid" id="([^"]+)".*?</figure>', html, re.S):
        out[m.group(1)] = [
            unescape(a)
            for a in re.findall(
                r'<img src="data:image/jpeg;base64,[^"]+" alt="([^"]*)"', m.group(0)
            )
        ]
    return out


def test_example_grids_per_category_and_per_pair(small_analysis, tmp_path: Path) -> None:
    from errata.report.model import N_GRID, N_GRID_PAIRS, confused_label

    errors = small_analysis.errors
    names = errors["file_name"].tolist()
    write_images(tmp_path / "val", names[:-5])  # the last five images are missing
    steps: list[tuple[int, int, str]] = []
    page = model_report(
        small_analysis,
        tmp_path / "r.html",
        images=tmp_path / "val",
        progress=lambda d, t, w: steps.append((d, t, w)),
    )["report"]
    html = page.read_text(encoding="utf-8")
    grids = grids_of(html)
    have = set(names[:-5])
    for c in K.ERRORS:  # every category with errors: its first images, in table order
        rows = [n for n, k in zip(names, errors["category"]) if k == c.name]
        if rows:
            assert grids[f"grid-{c.key}"] == [n for n in rows if n in have][:N_GRID], c.name
        else:
            assert f"grid-{c.key}" not in grids
    f = facts(small_analysis)
    label = confused_label(small_analysis.errors_table)
    for i in range(min(N_GRID_PAIRS, len(f.pairs))):  # the pairs, most frequent first
        o, p = f.pairs["original"].iloc[i], f.pairs["top1"].iloc[i]
        rows = [n for n, lab, t in zip(names, label, errors["top1"]) if lab == o and t == p]
        assert grids[f"grid-pair-{i + 1}"] == [n for n in rows if n in have][:N_GRID]
    assert 'id="lightbox"' in html and "click one to enlarge it" in html
    assert [w for _, _, w in steps] == ["figures", "population", "images", "tables", "page", "done"]
    assert steps[-1] == (5, 5, "done")


def test_grids_read_only_images_inside_the_folder(small_analysis, tmp_path: Path) -> None:
    names = small_analysis.errors["file_name"].tolist()
    write_images(tmp_path / "val", names[1:])
    write_images(tmp_path / "elsewhere", names[:1])
    (tmp_path / "val" / names[0]).symlink_to(tmp_path / "elsewhere" / names[0])
    page = model_report(small_analysis, tmp_path / "r.html", images=tmp_path / "val")["report"]
    html = page.read_text(encoding="utf-8")
    shown = {n for files in grids_of(html).values() for n in files}
    assert names[0] not in shown and names[1] in shown
    assert names[0] not in table_data(html, "errors-data")["images"]


def test_without_images_one_line_says_how_to_get_them(written) -> None:
    html = written["report"].read_text(encoding="utf-8")
    assert grids_of(html) == {} and 'id="lightbox"' not in html
    assert "No example images: give the validation images" in html
    assert "--images FOLDER" in html


def test_model_report_is_one_function_per_section() -> None:
    import inspect

    from errata.report import model

    for fn in (
        model.model_report,
        model.example_images,
        model.error_table,
        model.pair_table,
        model.superclass_table,
        model.headline_cards,
        model.category_rows,
    ):
        assert len(inspect.getsource(fn).splitlines()) <= 90, fn.__name__
