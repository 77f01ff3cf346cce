"""Each report type in Debian's Chromium (Playwright): plots render, tables sort and filter, and
no request leaves the page. Screenshots go to $ERRATA_SCREENSHOTS (or a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from errata.report.diff import diff_report, model_diff
from errata.report.model import model_report
from errata.report.study import study_report
from tests.report.conftest import synthetic_analysis, write_images

pytestmark = pytest.mark.browser


def open_page(browser, path: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("document.documentElement.dataset.ready === '1'")
    return page, requests, errors


def first_column(page, table: str, col: int) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"#{table} tbody tr").evaluate_all(
        f"rows => rows.map(r => r.children[{col}].textContent)"
    )


def check_plots(page) -> None:  # type: ignore[no-untyped-def]
    boxes = page.locator("svg.plot:visible").evaluate_all(
        "els => els.map(e => { const b = e.getBoundingClientRect(); "
        "return [b.width, b.height, e.querySelectorAll('path, use, image, text').length]; })"
    )
    assert boxes, "no visible plot"
    for w, h, marks in boxes:
        assert w > 100 and h > 50 and marks > 10


def check_sort(page, table: str, col: int, numeric: bool) -> None:  # type: ignore[no-untyped-def]
    header = page.locator(f"#{table} thead th").nth(col)
    header.locator("button").click()
    first = first_column(page, table, col)
    header.locator("button").click()
    second = first_column(page, table, col)
    assert header.get_attribute("aria-sort") in ("ascending", "descending")
    if numeric:
        vals = [float(v.replace(",", "").replace("%", "")) for v in second if v.strip()]
        order = (
            sorted(vals)
            if header.get_attribute("aria-sort") == "ascending"
            else sorted(vals, reverse=True)
        )
        assert vals == order
    assert first != second


def check_no_requests(requests: list[str], errors: list[str]) -> None:
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert outside == []
    assert errors == []


def test_model_report_in_chromium(
    browser, small_analysis, tmp_path: Path, screenshot_dir: Path
) -> None:
    path = model_report(small_analysis, tmp_path / "model.html")["report"]
    page, requests, errors = open_page(browser, path)
    check_plots(page)
    n = len(small_analysis.errors)
    count = page.locator("#error-table .count")
    assert count.text_content().startswith(f"{n:,} of {n:,}")
    check_sort(page, "error-table", 6, numeric=True)  # severity
    page.locator("#error-table select.filter").select_option("model failure")
    cats = set(first_column(page, "error-table", 4))
    assert cats == {"model failure"}
    name = small_analysis.errors["file_name"].iloc[0]
    page.locator("#error-table input.search").fill(name)
    assert page.locator("#error-table tbody tr").count() <= 1
    page.locator("#error-table select.filter").select_option("")
    assert first_column(page, "error-table", 0) == [name]
    check_no_overflow(page)
    page.screenshot(path=str(screenshot_dir / "model-report.png"), full_page=True)
    check_no_requests(requests, errors)
    page.close()


def check_no_overflow(page) -> None:  # type: ignore[no-untyped-def]
    """Nothing is wider than the page: no horizontal scrolling, no element past the right edge
    (the sortable tables scroll inside their own box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => "
        "!e.closest('.etable, dialog') && e.getBoundingClientRect().right > "
        "window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)"
    )
    assert wide == []


def test_model_report_grids_enlarge_on_a_click(
    browser, small_analysis, tmp_path: Path, screenshot_dir: Path
) -> None:
    names = small_analysis.errors["file_name"].tolist()
    write_images(tmp_path / "val", names, size=(240, 320))  # shown at 112 px, enlarged to 320
    path = model_report(small_analysis, tmp_path / "model.html", images=tmp_path / "val")["report"]
    page, requests, errors = open_page(browser, path)
    check_no_overflow(page)
    grid = page.locator("figure.grid").first
    grid.scroll_into_view_if_needed()
    thumb = grid.locator("img").first
    small = thumb.bounding_box()
    assert small is not None and small["width"] <= 120
    thumb.click()
    box = page.locator("dialog#lightbox")
    assert box.evaluate("d => d.open")
    big = box.locator("img").bounding_box()
    assert big is not None and big["width"] > 2 * small["width"]
    assert box.locator(".caption").text_content() == thumb.get_attribute("alt")
    page.screenshot(path=str(screenshot_dir / "model-report-lightbox.png"))
    box.click()
    assert not box.evaluate("d => d.open")
    check_no_requests(requests, errors)
    page.close()


def test_study_report_in_chromium(
    browser, small_study, tmp_path: Path, screenshot_dir: Path
) -> None:
    folder = small_study.written["models"].parent  # the report is rebuilt from the folder
    path = study_report(folder, tmp_path / "study.html")["report"]
    page, requests, errors = open_page(browser, path)
    check_plots(page)
    page.locator("#group-tabs button[data-tab='wordnet_artifact']").click()
    assert page.locator("section[data-panel='wordnet_artifact']").is_visible()
    assert not page.locator("section[data-panel='all']").is_visible()
    check_plots(page)
    check_sort(page, "model-table", 1, numeric=True)  # top-1
    page.locator("#model-table input.search").fill("model_0")
    shown = first_column(page, "model-table", 0)
    assert shown and all("model_0" in s for s in shown)
    check_no_overflow(page)
    page.screenshot(path=str(screenshot_dir / "study-report.png"), full_page=True)
    check_no_requests(requests, errors)
    page.close()


def test_diff_report_in_chromium(
    browser, small_analysis, tmp_path: Path, screenshot_dir: Path
) -> None:
    b = synthetic_analysis(name="better", seed=3, accuracy=0.85)
    d = model_diff(small_analysis, b)
    path = diff_report(d, tmp_path / "diff.html")["report"]
    page, requests, errors = open_page(browser, path)
    check_plots(page)
    page.locator("#changes-table select.filter").first.select_option("fixed")
    assert set(first_column(page, "changes-table", 0)) == {"fixed"}
    assert (
        page.locator("#changes-table .count")
        .text_content()
        .startswith(f"{d.summary['fixed']:,} of")
    )
    check_sort(page, "changes-table", 1, numeric=False)
    page.screenshot(path=str(screenshot_dir / "diff-report.png"), full_page=True)
    check_no_requests(requests, errors)
    page.close()
