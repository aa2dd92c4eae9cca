"""The audit page as an auditor sees it: rendered by headless Chromium at 1200 px.

The screenshot is kept under ``test-artifacts/`` at the repository root.
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dropoutrisk.fairness import audit

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Measures every table against its own box and the page after layout; the numbers go
# into the title, which --dump-dom prints.
MEASURE = """
<script>
(function () {
  var vw = document.documentElement.clientWidth;
  var tables = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    var box = t.parentElement.getBoundingClientRect(), r = t.getBoundingClientRect();
    return {right: r.right, box: box.right, scroll: t.parentElement.scrollWidth,
            client: t.parentElement.clientWidth};
  });
  var svgs = Array.prototype.map.call(document.querySelectorAll("svg"), function (e) {
    var r = e.getBoundingClientRect(); return {w: r.width, h: r.height, right: r.right};
  });
  var verdict = document.getElementById("verdict").getBoundingClientRect();
  var first = document.querySelector("table").getBoundingClientRect();
  document.title = "MEASURE" + JSON.stringify({viewport: vw, tables: tables, svgs: svgs,
    scrollWidth: document.documentElement.scrollWidth, verdictTop: verdict.top,
    firstTableTop: first.top});
})();
</script>
"""


def _chromium(*args, tmp_path):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
           *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(frame, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    X, y, p = frame
    a = audit(features=X, labels=y, scores=p, groups=["gender", "newly_arrived", "care"],
              operating_point={"flag_rate": 0.2}, n_boot=100, random_state=0)
    path = tmp_path_factory.mktemp("audit_page") / "audit.html"
    path.write_text(a.to_html(title="Fairness audit"), encoding="utf-8")
    return a, path


def test_screenshot_at_1200px_is_kept(page, tmp_path):
    _, path = page
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "audit_report.png"
    shot.unlink(missing_ok=True)
    _chromium("--window-size=1200,3000", f"--screenshot={shot}", path.as_uri(), tmp_path=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.parametrize("width", [1200, 900])
def test_verdict_first_and_no_table_clipped(page, width, tmp_path):
    a, path = page
    copy = path.with_name(f"measure-{width}.html")
    copy.write_text(path.read_text("utf-8").replace("</body>", MEASURE + "</body>"), "utf-8")
    dom = _chromium(f"--window-size={width},1400", "--virtual-time-budget=3000", "--dump-dom",
                    copy.as_uri(), tmp_path=tmp_path)
    found = re.search(r"<title>MEASURE(.*?)</title>", dom, re.S)
    assert found, "the measuring script did not run"
    m = json.loads(html.unescape(found.group(1)))
    assert m["verdictTop"] < m["firstTableTop"]
    assert m["scrollWidth"] <= m["viewport"], m
    if width == 1200:  # at 1200 px every table fits its box: nothing to scroll to
        for t in m["tables"]:
            assert t["scroll"] <= t["client"] + 1 and t["right"] <= m["viewport"], t
    for s in m["svgs"]:
        assert s["w"] >= 350 and s["right"] <= m["viewport"] + 0.5, s  # readable, not cut
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())
    assert "Verdict" in text and "Slutsats" in text and "flag rate 0.2" in text
