"""Every string that comes from data — class names, file names, reasons, superclass and model
names, metadata CSV cells and headers — reaches the page as text, never as markup or script."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from errata import resources
from errata.report.diff import diff_report, model_diff
from errata.report.model import model_report
from errata.report.study import study_report
from tests.report.conftest import PAYLOAD, PAYLOAD_ATTR, synthetic_analysis, write_images


@pytest.fixture(scope="module")
def pages(small_study, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The three reports built from hostile strings: class names that carry script (they also
    end up in every reason), file, superclass and model names, metadata cells and headers."""
    table = resources.classes()
    names = tuple(f"{PAYLOAD}{PAYLOAD_ATTR}{n}" for n in table.names)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(resources, "classes", lambda: dataclasses.replace(table, names=names))
        return hostile_pages(tmp_path_factory.mktemp("hostile"), small_study)


def hostile_pages(tmp_path: Path, small_study) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    odd = f"{PAYLOAD_ATTR}.JPEG"  # file names cannot hold a slash
    a = synthetic_analysis(
        name=f"A{PAYLOAD}",
        odd_name=odd,
        superclass_names=(PAYLOAD, PAYLOAD_ATTR, "tools", "vehicles"),
    )
    b = synthetic_analysis(
        name=f"B{PAYLOAD_ATTR}",
        odd_name=odd,
        seed=1,
        accuracy=0.8,
        superclass_names=(PAYLOAD, PAYLOAD_ATTR, "tools", "vehicles"),
    )
    models = small_study.models["model"].tolist()
    meta = tmp_path / "meta.csv"
    pd.DataFrame(
        {
            "model": models,
            PAYLOAD: [PAYLOAD] * len(models),
            "family": [PAYLOAD_ATTR if i % 2 else PAYLOAD for i in range(len(models))],
        }
    ).to_csv(meta, index=False)
    images = tmp_path / "val"
    write_images(images, a.errors["file_name"].tolist())
    return {
        "model": model_report(a, tmp_path / "model.html")["report"],
        "model-with-images": model_report(a, tmp_path / "model-images.html", images=images)[
            "report"
        ],
        "study": study_report(
            small_study, tmp_path / "study.html", metadata=meta, color_by="family"
        )["report"],
        "diff": diff_report(model_diff(a, b), tmp_path / "diff.html")["report"],
    }


def own_scripts(html: str) -> int:
    """Script elements the report itself writes: one per embedded table, plus the page script."""
    return html.count('<script type="application/json" id="') + 1


def test_no_data_string_becomes_markup(pages) -> None:
    for kind, path in pages.items():
        html = path.read_text(encoding="utf-8")
        assert PAYLOAD not in html, kind
        assert PAYLOAD_ATTR not in html, kind
        assert "<img src=x" not in html, kind
        assert html.count("<script") == own_scripts(html), kind
        # the strings are still there, escaped: as entities in HTML/SVG, as \u003c in JSON
        assert "&lt;script&gt;window.__pwned=1" in html or "\\u003cscript\\u003e" in html, kind


@pytest.mark.browser
def test_no_data_string_runs_in_the_browser(pages, browser) -> None:
    for kind, path in pages.items():
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_function("document.documentElement.dataset.ready === '1'")
        assert page.evaluate("window.__pwned") is None, kind
        assert page.locator("img[src='x']").count() == 0, kind
        # the hostile text is shown as text: searching for it finds rows
        search = page.locator(".etable input.search").first
        search.fill("window.__pwned")
        assert not page.locator(".etable").first.locator("tbody tr").count() == 0, kind
        assert dialogs == [], kind
        page.close()
