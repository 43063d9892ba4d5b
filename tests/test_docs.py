"""The documentation site (``make docs``): Sphinx builds it with warnings as errors,
every internal link and image of the built pages resolves (anchors included), the
README's links point at pages that exist, every Python example is Python whose rldebug
names and keywords exist, and a real browser shows the index's navigation and the
generated command-line reference."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from headless_browser import open_page

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("sphinx", reason="`make setup` installs the dev extras (sphinx)")
    out = tmp_path_factory.mktemp("docs") / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
                           "-q", str(DOCS), str(out)], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]  # -W: any warning fails the build
    return out


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_every_page_is_built_and_every_internal_link_and_image_resolves(site):
    pages = sorted(site.rglob("*.html"))
    sources = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
               if "_build" not in p.parts}
    assert sources <= {p.relative_to(site).with_suffix("").as_posix() for p in pages}
    ids = {page: _parse(page).ids for page in pages}
    broken, checked = [], 0
    for page in pages:
        for link in _parse(page).links:
            url = urlparse(link)
            if url.scheme or link.startswith(("mailto:", "data:", "//")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif url.fragment and target.suffix == ".html" and url.fragment not in (
                    ids[target] if target in ids else _parse(target).ids):
                broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert checked > 500 and not broken, broken[:20]


def test_the_readmes_links_point_at_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert len(links) >= 20
    assert [link for link in links if not (ROOT / link).is_file()] == []
    assert len(readme.splitlines()) <= 150  # the front door, not the manual


def test_the_cli_reference_is_generated_from_the_parser(site):
    from rldebug.cli import build_parser

    page = (site / "reference" / "cli.html").read_text()
    commands = re.findall(r"\{([a-z,-]+)\}", build_parser().format_usage())[0].split(",")
    assert all(f'id="rldebug-{name}"' in page for name in commands), commands
    assert "--verify" in page and "--iterations" in page  # doctor's own options


def test_a_browser_shows_the_navigation_and_a_reference_page(site):
    with open_page(site / "index.html") as evaluate:
        captions = evaluate("[...document.querySelectorAll('.sidebar-tree .caption')]"
                            ".map(c => c.textContent.trim())")
        pages = evaluate("document.querySelectorAll('.sidebar-tree a.reference').length")
    assert captions == ["Tutorial", "How-to guides", "Reference", "Explanation"]
    assert pages >= 20
    with open_page(site / "reference" / "api.html") as evaluate:
        names = evaluate("[...document.querySelectorAll('dt.sig .sig-name')]"
                         ".map(n => n.innerText)")
        heading = evaluate("document.querySelector('h1').innerText")
    assert heading.startswith("Python API")
    assert {"run", "explain", "diagnose", "verify_fix", "probe"} <= set(names), names


def test_the_pictures_from_real_runs_load_in_a_browser(site):
    """docs/pictures.py made them; each must decode to a real picture, not a broken link."""
    for page, expected in (("how-to/look-inside.html", {"policy_map.png", "action_probs.png",
                                                         "replay.gif"}),
                           ("how-to/doctor.html", {"doctor_report.png"})):
        with open_page(site / page) as evaluate:
            images = evaluate("[...document.images].map(i => [i.src.split('/').pop(), "
                              "i.naturalWidth, i.naturalHeight])")
        images = [image for image in images if image[0] in expected]
        assert {name for name, _, _ in images} == expected, images
        assert all(width >= 200 and height >= 150 for _, width, height in images), images


def _example_problems(code: str, where: str) -> list[str]:
    """What in one ```python example is not Python, or names an rldebug module,
    function, class or keyword argument that does not exist."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return [f"{where}: not Python ({err})"]
    problems, names = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name.split(".")[0]: importlib.import_module(
                a.name if a.asname else a.name.split(".")[0])
                for a in node.names if a.name.split(".")[0] == "rldebug"})
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rldebug"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    problems.append(f"{where}: from {node.module} import {alias.name}")
                names[alias.asname or alias.name] = getattr(module, alias.name, None)

    def resolve(node):
        if isinstance(node, ast.Name):
            return names.get(node.id)
        base = resolve(node.value) if isinstance(node, ast.Attribute) else None
        if base is None or not (inspect.ismodule(base) or inspect.isclass(base)):
            return None
        if not hasattr(base, node.attr):
            problems.append(f"{where}: {ast.unparse(node)} does not exist")
        return getattr(base, node.attr, None)

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            resolve(node)
        function = resolve(node.func) if isinstance(node, ast.Call) else None
        if callable(function):
            try:
                inspect.signature(function).bind_partial(
                    *[None for a in node.args if not isinstance(a, ast.Starred)],
                    **{k.arg: None for k in node.keywords if k.arg})
            except TypeError as err:
                problems.append(f"{where}: {ast.unparse(node):.80}: {err}")
            except ValueError:
                pass  # a signature inspect cannot read
    return list(dict.fromkeys(problems))  # an attribute is resolved again as a call


def test_every_python_example_is_python_with_rldebug_names_that_exist():
    """A `#` lost from a comment in an example (twice, when the docs moved out of the
    README) or a renamed keyword would leave the example broken for whoever copies it."""
    assert _example_problems("import rldebug\nrldebug.run(cfg, stopp=1)\n x", "t") == [
        "t: not Python (unexpected indent (<unknown>, line 3))"]
    assert sorted(_example_problems("import rldebug\nrldebug.run(cfg, stopp=1)\n"
                                    "rldebug.nope()", "t")) == [
        "t: rldebug.nope does not exist",
        "t: rldebug.run(cfg, stopp=1): got an unexpected keyword argument 'stopp'"]
    problems = []
    for page in [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md")
                                             if "_build" not in p.parts)]:
        text = page.read_text(encoding="utf-8")
        for example in re.finditer(r"```python\n(.*?)```", text, re.DOTALL):
            line = text[:example.start()].count("\n") + 2
            problems += _example_problems(example.group(1), f"{page.relative_to(ROOT)}:{line}")
    assert problems == []


_CITED = re.compile(r"(?<![\w/.-])((?:tests|rldebug|recipes|benchmarks|notebooks)/[\w./-]*\w)"
                    r"(?:::(?:\w+::)?(\w+))?"
                    r"|(?<![\w/.])::(test_\w+)")


def _citation_problems(text: str, where: str) -> list[str]:
    """Paths a page cites that do not exist, and tests not in the file cited with them
    (``tests/x.py::test_a``, or ``::test_b`` after it: a test of the last file named)."""
    problems, last = [], None
    for match in _CITED.finditer(text):
        path, name, bare = match.groups()
        if path:
            if re.search(r"\b[A-Z]{3,}\b", path):  # a placeholder: recipes/NAME.py
                continue
            if not (ROOT / path).exists():
                problems.append(f"{where}: {path} does not exist")
                continue
            last = path if path.startswith("tests/") and path.endswith(".py") else last
        name = name or bare
        in_file = path if path and path.endswith(".py") else last
        if name and not (in_file and re.search(rf"^\s*def {name}\b",
                                                (ROOT / in_file).read_text(), re.MULTILINE)):
            problems.append(f"{where}: ::{name} is not a test of {in_file}")
    return problems


def test_every_cited_file_and_test_exists_where_the_page_says():
    """Five citations on one page read `::test_x` after another file than the one that
    holds the test (an audit of the docs found them)."""
    assert _citation_problems("`tests/test_docs.py::test_nope`, `tests/nope.py`", "t") == [
        "t: ::test_nope is not a test of tests/test_docs.py", "t: tests/nope.py does not exist"]
    assert _citation_problems("`tests/test_docs.py` (`::test_the_readmes_links_point_at_"
                              "pages_that_exist`)", "t") == []
    problems = []
    for page in [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md")
                                             if "_build" not in p.parts)]:
        problems += _citation_problems(page.read_text(encoding="utf-8"),
                                       str(page.relative_to(ROOT)))
    assert problems == []
