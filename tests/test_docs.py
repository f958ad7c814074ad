"""The documentation holds together: a short front page, every page linked, links that
resolve, every setting documented, and no reference to files outside the repository."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from quickotp.web import problems
from quickotp.web.amoot_wire import Status

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
# Where the project's own text lives, and the kinds of file that hold text there.
TEXT_ROOTS = ("src", "sdk", "tests", "bench", "docs")
TEXT_SUFFIXES = {".py", ".md", ".lua", ".html", ".txt", ".toml", ".cfg", ".ini", ".mako"}
# Files outside the repository that the project's text must not lean on: the notes folder
# beside the checkout, and its notes by name, and "the seed" it was started from.
OUTSIDE = re.compile(
    r"shared/|smpp-notes|perf-notes|amoot-compat\b|design\.md|style\.md|\bthe seed\b|\bseed's\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def project_text_files() -> list[Path]:
    """README.md and every text file under the project's own folders, this one excepted."""
    found = [README]
    for folder in TEXT_ROOTS:
        for path in sorted((ROOT / folder).rglob("*")):
            inside = path.relative_to(ROOT).parts
            hidden = any(part.startswith(".") or part == "__pycache__" for part in inside)
            mine = path == Path(__file__)
            if path.is_file() and path.suffix in TEXT_SUFFIXES and not hidden and not mine:
                found.append(path)
    return found


def without_code_blocks(text: str) -> str:
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the headings of a Markdown file make, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(without_code_blocks(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """The targets of the Markdown links in `path` that point inside the repository."""
    text = without_code_blocks(path.read_text(encoding="utf-8"))
    return [
        target
        for target in _LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)  # http:, mailto:, ...
    ]


def test_the_readme_is_a_short_front_page() -> None:
    """README.md stays under 250 lines: reference belongs in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()

    assert len(lines) < MAX_README_LINES


def test_the_readme_starts_with_the_two_commands() -> None:
    """The first commands a reader meets are `scripts/serve` and `scripts/test`, in that order."""
    blocks = re.findall(r"^```console\n\$ (.+)$", README.read_text(encoding="utf-8"), re.M)

    assert blocks[:2] == ["scripts/serve", "scripts/test"]


def test_every_docs_page_is_linked_from_the_readme() -> None:
    """Each docs/*.md is reachable from the front page."""
    linked = {(README.parent / target.split("#")[0]).resolve() for target in relative_links(README)}

    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert missing == []


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.name)
def test_relative_links_point_at_files_and_headings_that_exist(page: Path) -> None:
    """Every relative link in README.md and docs/ names a file that exists, and a heading in it."""
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no such heading")

    assert broken == []


def test_no_project_file_refers_to_files_outside_the_repository() -> None:
    """The repository stands alone: no text points at the notes folder beside it, or the seed."""
    files = project_text_files()
    offenders = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")

    assert (
        ROOT / "src" / "quickotp" / "domain" / "errors.py" in files
    )  # the scan reaches the package
    assert offenders == []


def setting_names() -> set[str]:
    """Every QUICKOTP_* name the package reads: its string literals that are such a name."""
    names = set()
    for path in (ROOT / "src" / "quickotp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"QUICKOTP_[A-Z0-9_]+", node.value)
            ):
                names.add(node.value)
    return names


def test_the_settings_module_reads_what_the_scan_finds() -> None:
    """The scan sees settings.py's variables, so the check below cannot pass by seeing none."""
    names = setting_names()

    assert {"QUICKOTP_SECRET_KEY", "QUICKOTP_OPEN_SIGNUP", "QUICKOTP_SESSION_HOURS"} <= names
    assert "QUICKOTP_DEV_KEY_FILE" in names


def test_every_setting_is_documented_in_operations() -> None:
    """Each QUICKOTP_* variable the package reads appears, as a whole name, in operations.md."""
    text = (DOCS / "operations.md").read_text(encoding="utf-8")

    undocumented = sorted(
        name for name in setting_names() if not re.search(re.escape(name) + r"(?![A-Z0-9_])", text)
    )
    assert undocumented == []


def test_every_status_and_problem_type_is_documented() -> None:
    """Each Status name is in amoot-api.md, and each /v1 problem type in the API pages."""
    amoot = (DOCS / "amoot-api.md").read_text(encoding="utf-8")
    v1 = (DOCS / "v1-api.md").read_text(encoding="utf-8")
    kinds = [*problems.PROBLEM_FOR_ERROR.values(), problems.SERVER_ERROR, problems.NOT_FOUND]
    kinds += [problems.METHOD_NOT_ALLOWED, problems.MALFORMED_HTTP]

    assert [s.value for s in Status if f"`{s.value}`" not in amoot] == []
    assert sorted({k.slug for k in kinds if k.slug not in amoot + v1}) == []


def test_the_license_pyproject_names_is_there() -> None:
    """pyproject.toml says MIT, and the LICENSE file beside it is the MIT license."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert project["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) The QuickOTP authors" in license_text


def test_the_anchor_rule_matches_github() -> None:
    """Headings with code, punctuation and numbers make the anchors GitHub makes of them."""
    assert slug("Overload: `bench/overload.py`") == "overload-benchoverloadpy"
    assert slug("10. What 10,000 OTP/s takes, on paper") == "10-what-10000-otps-takes-on-paper"
    assert slug("Delivery reports to your URL") == "delivery-reports-to-your-url"
