"""The HTML report as a person sees it: rendered by headless Chromium.

Debian's ``chromium`` package provides the browser. The screenshot is kept
under ``test-artifacts/`` at the repository root.
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dropoutrisk.report import student_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Written into the page copy: measures every chart and the page width after layout
# and puts the numbers in the title, which --dump-dom then prints.
MEASURE = """
<script>
(function () {
  var vw = document.documentElement.clientWidth;
  var charts = Array.prototype.map.call(document.querySelectorAll("svg.chart, img"), function (e) {
    var r = e.getBoundingClientRect();
    return {name: e.getAttribute("data-chart") || e.tagName, w: r.width, h: r.height,
            left: r.left, right: r.right};
  });
  var wide = Array.prototype.filter.call(document.body.querySelectorAll("*"), function (e) {
    var r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5);
  }).map(function (e) { return e.tagName + "#" + (e.id || "") + "." + (e.className.baseVal || e.className || ""); });
  document.title = "MEASURE" + JSON.stringify({viewport: vw,
    scrollWidth: document.documentElement.scrollWidth, charts: charts, overflowing: wide.slice(0, 10)});
})();
</script>
"""


def _chromium(*args, tmp_path, timeout=90):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--force-device-scale-factor=1",
           f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(synth, explained_synth, flagged_id, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    t = synth["tables"]
    rep = student_report(explained_synth, flagged_id, attendance=t["attendance"],
                         students=t["students"], model_id="abc123def456")
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(rep.to_html(), encoding="utf-8")
    return rep, path, folder


def _measure(page_path, width, tmp_path):
    copy = page_path.with_name(f"measure-{width}.html")
    copy.write_text(page_path.read_text("utf-8").replace("</body>", MEASURE + "</body>"), "utf-8")
    dom = _chromium(f"--window-size={width},1200", "--virtual-time-budget=3000", "--dump-dom",
                    copy.as_uri(), tmp_path=tmp_path)
    title = re.search(r"<title>MEASURE(.*?)</title>", dom, re.S)
    assert title, "the measuring script did not run"
    return json.loads(html.unescape(title.group(1))), dom


def test_screenshot_is_taken_and_kept(page, tmp_path):
    _, path, _ = page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "student_report.png"
    shot.unlink(missing_ok=True)
    _chromium("--window-size=1100,2600", f"--screenshot={shot}", path.as_uri(), tmp_path=tmp_path)
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("width", [1100, 420])
def test_rendered_page_has_sentences_charts_and_no_overflow(page, width, tmp_path):
    rep, path, _ = page
    m, dom = _measure(path, width, tmp_path)
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    text = " ".join(text.split())
    sentences = [r["sentence"] for r in rep.content["reasons"] + rep.content["protective"]]
    assert sentences
    for s in sentences:
        assert " ".join(s.split()) in text
    assert {c["name"] for c in m["charts"]} == {"dimensions", "waterfall", "attendance"}
    for c in m["charts"]:
        assert c["w"] > 50 and c["h"] > 50, c
        assert c["right"] <= m["viewport"] + 0.5, c
    assert m["scrollWidth"] <= m["viewport"], m
    assert m["overflowing"] == [], m
