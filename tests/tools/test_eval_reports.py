"""report.html and comparison.html: they parse, inline their plots as real PNGs, escape the data,
and the comparison lists the ten examples that improved and worsened most."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from PIL import Image

from core.models import load_engine
from core.settings import Settings
from core.workspace import Workspace
from tests.fake_openai import FakeOpenAIServer
from tools.evaluation.compare import save_comparison
from tools.evaluation.plots import eval_images
from tools.evaluation.runner import EvalExample, run_eval
from tools.evaluation.store import EvalStore

N = 30
SCRIPT = "<script>alert(1)</script>"


class Page(HTMLParser):
    """Collects what the tests look at: images, links, headings, table rows, the text."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self.tables: list[int] = []
        self.text: list[str] = []
        self._heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag in ("a", "link", "script"):
            self.links.append(tag)
        if tag in ("h2", "h3"):
            self._heading = True
            self.headings.append("")
        if tag == "table":
            self.tables.append(0)
        if tag == "tr":
            self.tables[-1] += 1

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._heading = False

    def handle_data(self, data):
        self.text.append(data)
        if self._heading:
            self.headings[-1] += data


def parse(path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def decoded_pngs(page: Page) -> list[Image.Image]:
    images = []
    for src in page.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :], validate=True)))
        assert image.format == "PNG" and image.width > 100
        images.append(image)
    return images


def answer(body: dict) -> str:
    """'base' knows questions 0-11; 'tuned' knows 12-29 but forgot 0 and 1."""
    number = int(body["messages"][-1]["content"].split()[-1])
    knows = number < 12 if body["model"] == "base" else number >= 2
    if number == 5:
        return SCRIPT
    return f"Answer number {number} is right." if knows else "I do not know that one."


@pytest.fixture
def saved_evals(tunesmith_home, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TUNESMITH_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    examples = [
        EvalExample(f"r{i:02d}", [{"role": "user", "content": f"Question {i}"}],
                    f"Answer number {i} is right.")
        for i in range(N)
    ]  # fmt: skip
    ws = Workspace.from_settings()
    with FakeOpenAIServer(delay_s=0.0, responder=answer) as server:
        settings = Settings(home=tunesmith_home, openai_base_url=server.url, request_retries=0)
        store = EvalStore(ws)
        return [
            store.save(run_eval(load_engine(f"openai:{m}", settings), examples, dataset="ds:q@v1"))
            for m in ("base", "tuned")
        ]


def test_eval_report_html_is_self_contained_and_escaped(saved_evals):
    base = saved_evals[0]
    assert base.html_path == base.path / "report.html"
    html = base.html_path.read_text(encoding="utf-8")
    page = parse(base.html_path)
    assert len(decoded_pngs(page)) == 2  # metric bars, length distribution (no run: loss)
    assert page.links == [] and "http://" not in html and "https://" not in html
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT in "".join(page.text)  # shown as text
    assert {"Scores", "Cost", "Plots", "Best examples (ROUGE-L)"} <= set(page.headings)
    summary = json.loads((base.path / "summary.json").read_text())
    assert f"{summary['metrics']['exact_match']['mean']:.3f}" == "0.367"  # 11 of 30 by hand
    assert "eval loss skipped: openai:base is remote" in base.report_path.read_text()


def test_comparison_lists_the_ten_most_improved_and_the_worsened(saved_evals, tunesmith_home):
    base, tuned = saved_evals
    saved = save_comparison([base.id, f"eval:{tuned.id}"])
    assert saved.md_path.parent == tunesmith_home / "evals" / saved.id
    assert saved.id.startswith("cmp-") and saved.html_path.name == "comparison.html"
    [cand] = saved.result["candidates"]
    # tuned gains on 12-29 (18 examples), loses 0 and 1; 5 is the same script for both
    assert [m["id"] for m in cand["worsened"]] == ["r00", "r01"]
    assert len(cand["improved"]) == 10
    assert {m["id"] for m in cand["improved"]} <= {f"r{i:02d}" for i in range(12, 30)}
    assert cand["deltas"]["exact_match"]["delta"] == pytest.approx((18 - 2) / N)
    assert cand["deltas"]["exact_match"]["significant"] is True

    page = parse(saved.html_path)
    assert len(decoded_pngs(page)) == 2 and page.links == []
    assert "Improved most (ROUGE-L)" in page.headings
    assert "Worsened most (ROUGE-L)" in page.headings
    # tables: evaluations (header + 2) ... improved (header + 10), worsened (header + 2)
    assert page.tables[0] == 3 and page.tables[-2:] == [11, 3]
    text = "".join(page.text)
    assert "Answer number 0 is right." in text and "I do not know that one." in text
    markdown = saved.md_path.read_text()
    assert "| input | reference | baseline | candidate |" in markdown
    assert "| exact_match | 0.367 | 0.900 | +0.533 |" in markdown
    assert json.loads((saved.md_path.parent / "result.json").read_text())["n"] == N


def test_a_run_model_gets_its_loss_curve(tunesmith_home):
    ws = Workspace.from_settings()
    run = ws.artifact_dir("runs", "r-test")
    run.mkdir(parents=True)
    lines = [{"step": s, "loss": 3.0 / s} for s in range(1, 6)] + [{"step": 5, "eval_loss": 1.2}]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{torn")
    rows = [{"output": "a b", "reference": "a b c", "scores": {}}]
    fake = SimpleNamespace(id="e-1", summary={"model": "run:r-test", "metrics": {}}, rows=rows)
    folder = tunesmith_home / "out"
    captions = [caption for caption, _ in eval_images([fake], ws, folder)]
    assert captions[-1] == "Training loss of run:r-test"
    assert Image.open(folder / "loss-run-r-test.png").format == "PNG"
    other = SimpleNamespace(id="e-2", summary={"model": "run:missing", "metrics": {}}, rows=rows)
    assert all("Training loss" not in c for c, _ in eval_images([other], ws, folder))
