"""`--lang zh` gives a Chinese map, monthly report and evidence package that a
browser and a PDF viewer draw with CJK glyphs (no tofu boxes, no mojibake).

What is checked mechanically: the pages declare UTF-8 and lang zh-CN, the
Chinese texts are in them; the font their CSS names first (Noto Sans CJK SC,
as fontconfig resolves it) has a glyph for every CJK character of the page
(a character without one is what becomes a tofu box); the report's PDF
(headless Chromium) gives the Chinese headings back through `pdftotext`
character for character (no mojibake on the way); the map is printed to PDF
the same way (its legend, layer names and the detection popup, opened by a
script, come back as Chinese text), and screenshotted (the map renders, no
JavaScript error). The PNGs (`pdftoppm` of the report, Chromium's
screenshot of the map) are left in `$FBSDETECT_I18N_PNG_DIR` when set, to look
at them (the session did; see NOTES).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from fbsdetect.store import open_store
from tests.mapping.fixtures import populate
from tests.support.browser import chromium, render


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (scripts/setup --system installs poppler-utils)")
    return exe


def _cjk_font_installed() -> None:
    fc = shutil.which("fc-list")
    if (
        fc is None
        or "Noto Sans CJK"
        not in subprocess.run([fc, ":lang=zh-cn", "family"], capture_output=True, text=True).stdout
    ):
        pytest.skip("no Noto Sans CJK font (scripts/setup --system installs fonts-noto-cjk)")


def _keep(p: Path) -> None:
    d = os.environ.get("FBSDETECT_I18N_PNG_DIR")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, Path(d) / p.name)


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(
        [_need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def _without_glyph(page: str) -> set[str]:
    """The CJK characters of `page` (and full-width punctuation) that the Noto Sans CJK SC face,
    as fontconfig finds it, has no glyph for."""
    from fontTools.ttLib import TTCollection, TTFont

    path = subprocess.run(
        ["fc-match", "Noto Sans CJK SC", "--format=%{file}"], capture_output=True, text=True, check=True
    ).stdout
    assert "NotoSansCJK" in path or "NotoSansSC" in path, path
    fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
    face = next((f for f in fonts if "CJK SC" in str(f["name"].getDebugName(1))), fonts[0])
    cmap = face.getBestCmap()
    return {c for c in set(_WIDE.findall(page)) if ord(c) not in cmap}


def _print_pdf(page: Path, pdf: Path) -> None:
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={pdf.parent / 'chromium-profile'}",
            "--virtual-time-budget=4000",
            f"--print-to-pdf={pdf}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert pdf.exists() and pdf.stat().st_size > 0


@pytest.fixture
def surveyed(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    with open_store(url) as store:
        populate(store)
    return url


def test_report_csv_is_the_same_in_every_language(surveyed: str, tmp_path: Path) -> None:
    """Review item 9: a Chinese run (--lang zh, or a zh_CN locale) writes the same CSV bytes as an
    English one (column names, values, encoding); only the HTML page is translated."""
    assert main(["handover", "1", "--to", "police", "--ref", "XN-2026-031", "--at", "2026-03-05T09:00:00Z",
                 "--db", surveyed]) == 0
    for lang in ("en", "zh"):
        assert main(["--lang", lang, "report", "--month", "2026-03", "-o", str(tmp_path / lang), "--db",
                     surveyed]) == 0
    names = sorted(p.name for p in (tmp_path / "en").glob("*.csv"))
    assert names == ["detections-2026-03.csv", "handovers-2026-03.csv", "summary-2026-03.csv"]
    for n in names:
        en, zh = (tmp_path / "en" / n).read_bytes(), (tmp_path / "zh" / n).read_bytes()
        assert en == zh, (n, en[:300], zh[:300])
        assert not en.startswith(b"\xef\xbb\xbf")
    import csv

    with (tmp_path / "zh" / "detections-2026-03.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    from fbsdetect.report.monthly import DETECTION_COLUMNS, HANDOVER_COLUMNS, SUMMARY_COLUMNS

    assert rows and list(rows[0]) == list(DETECTION_COLUMNS)
    assert rows[0]["operator"] == "China Mobile (460-00)" and rows[0]["severity"] in ("low", "medium", "high")
    for n, cols in (("summary-2026-03.csv", SUMMARY_COLUMNS), ("handovers-2026-03.csv", HANDOVER_COLUMNS)):
        first = (tmp_path / "zh" / n).read_text(encoding="utf-8").splitlines()[0]
        assert first == ",".join(cols)
    page = (tmp_path / "zh" / "report-2026-03.html").read_text(encoding="utf-8")
    assert "中国移动" in page and "China Mobile" not in page  # the page itself is translated


def _shown(raw: str) -> str:
    """The page with the JSON strings of its scripts (layer names, popups: \\uXXXX escapes) decoded."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)


def _squash(s: str) -> str:
    return "".join(s.split())


def test_report_in_chinese_as_pdf_and_png(surveyed: str, tmp_path: Path) -> None:
    _cjk_font_installed()
    chromium()
    out = tmp_path / "rep"
    assert main(["handover", "1", "--to", "police", "--ref", "XN-2026-031", "--at", "2026-03-05T09:00:00Z",
                 "--db", surveyed]) == 0
    assert (
        main(["--lang", "zh", "report", "--month", "2026-03", "-o", str(out), "--pdf", "--db", surveyed]) == 0
    )
    page = (out / "report-2026-03.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page and '<html lang="zh-CN">' in page and "Noto Sans CJK SC" in page
    for zh in (
        "月度报告",
        "2026年3月",
        "本月活动的可疑发射机",
        "按运营商统计的可疑发射机",
        "中国移动",
        "UTC+08:00",
        "公安机关 2026年3月5日 (XN-2026-031)",
        "每日观测次数",
    ):
        assert zh in page, zh
    # the CSV files are a machine interface: English column names, plain UTF-8, in every language
    assert (out / "detections-2026-03.csv").read_bytes().startswith(b"id,severity,score,operator,mcc,")
    assert not _without_glyph(page)
    pdf = out / "report-2026-03.pdf"
    text = _pdf_text(pdf)
    flat = _squash(text)
    for zh in (
        "fbsdetect：2026年3月月度报告",
        "本月活动的可疑发射机",
        "其中本月首次发现",
        "按运营商统计的可疑发射机",
        "中国移动",
        "移交给公安机关或无线电管理机构的事件",
    ):
        assert _squash(zh) in flat, (zh, text[:800])
    assert "\ufffd" not in text and "â€" not in text and "æ" not in text  # no replacement chars, no mojibake
    png = tmp_path / "report-zh"
    subprocess.run(
        [_need("pdftoppm"), "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(png)], check=True
    )
    first = next(tmp_path.glob("report-zh*.png"))
    assert first.stat().st_size > 10_000
    _keep(first)


def test_map_in_chinese_in_chromium(surveyed: str, tmp_path: Path) -> None:
    _cjk_font_installed()
    out = tmp_path / "map.html"
    assert (
        main(["--lang", "zh", "map", "-o", str(out), "--offline", "--profile", "cn", "--db", surveyed]) == 0
    )
    raw = out.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in raw and '<html lang="zh-CN">' in raw
    page = _shown(raw)
    for zh in ("行车轨迹", "基站库（已知小区）", "检测：高", "小区不在基站库或基线中", "UTC+08:00"):
        assert zh in page, zh
    assert "Noto Sans CJK SC" in page and not _without_glyph(page)
    # open the detection's popup, so that the screenshot and the printout show it
    opened = out.with_name("map-open.html")
    opened.write_text(
        raw.replace(
            "</body>",
            """<script>
window.addEventListener('load', function () {
  var m = Object.values(window).find(function (v) { return v instanceof L.Map; });
  m.eachLayer(function (l) { if (l.getPopup && l.getPopup() && l.options.radius > 8) l.openPopup(); });
});</script></body>""",
            1,
        ),
        encoding="utf-8",
    )
    run = render(opened, tmp_path / "map-zh.png", width=1280, height=900)
    assert run.errors == [], run.errors
    _keep(run.screenshot)
    pdf = tmp_path / "map-zh.pdf"
    _print_pdf(opened, pdf)
    text = _pdf_text(pdf)
    flat = _squash(text)
    for zh in (
        "检测：高",
        "观测到的小区（最强读数处）",
        "行车轨迹",
        "首次发现 2026年3月1日",
        "时间采用 Asia/Shanghai",
    ):
        assert _squash(zh) in flat, (zh, text[:1500])
    assert "\ufffd" not in text


def _evidence(surveyed: str, tmp_path: Path) -> zipfile.ZipFile:
    zpath = tmp_path / "evidence-1.zip"
    assert (
        main(
            [
                "--lang",
                "zh",
                "export",
                "--format",
                "evidence",
                "--detection",
                "1",
                "-o",
                str(zpath),
                "--db",
                surveyed,
            ]
        )
        == 0
    )
    return zipfile.ZipFile(zpath)


def test_evidence_package_map_in_chinese(surveyed: str, tmp_path: Path) -> None:
    with _evidence(surveyed, tmp_path) as z:
        m = _shown(z.read("map.html").decode("utf-8"))
    assert '<html lang="zh-CN">' in m and "小区不在基站库或基线中" in m


def test_evidence_package_report_in_chinese(surveyed: str, tmp_path: Path) -> None:
    with _evidence(surveyed, tmp_path) as z:
        report = z.read("report.html").decode("utf-8")
    assert "charset='utf-8'" in report.lower() or 'charset="utf-8"' in report.lower()
    assert "小区不在基站库或基线中" in report and "Cell not in the registry" not in report
