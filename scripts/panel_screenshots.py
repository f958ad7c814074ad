"""
The panel's screenshots in docs/panel/, as `scripts/screenshots` makes them.

It seeds a demo gateway (panel_demo.py) in a temporary SQLite file, starts the SMSC
simulator its route binds to (tests/adapters/transports/smpp/smsc_sim.py) and `quickotp
serve`, both on 127.0.0.1 and free ports, signs in as each role with Debian's Chromium
through Playwright, and saves every page of PAGES in the languages and widths it lists, as
palette PNGs named `<language>-<width>-<page>.png`. Then it stops the two processes it
started, by their ids, and removes the temporary files.

    scripts/screenshots                 # PAGES, as listed, into docs/panel/
    scripts/screenshots --all           # every page in both languages at both widths
    scripts/screenshots --only dashboard --out /tmp/shots

A page is added by adding a Page to PAGES (and a line to docs/panel.md that shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from panel_demo import Demo, Person, seed
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from quickotp.domain.models import Role

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "panel"
CHROMIUM = Path("/usr/bin/chromium")
SIMULATOR = ROOT / "tests" / "adapters" / "transports" / "smpp" / "smsc_sim.py"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
WIDTHS = {"desktop": (1366, 768), "mobile": (390, 844)}
TALLEST = {"desktop": 1500, "mobile": 2400}  # px: a long list is cut there
LANGUAGES = ("en", "fa")
STEP_MS = 30_000
START_SECONDS = 90

DESKTOP = ("en-desktop", "fa-desktop")
EVERY = tuple(f"{language}-{width}" for width in WIDTHS for language in LANGUAGES)


@dataclass(frozen=True)
class PanelPage:
    """A page to capture: who sees it, where, and in which `<language>-<width>` variants."""

    name: str  # the file name's last part
    role: Role | None  # who signs in to see it; None: nobody (the sign-in page)
    path: str  # {message} and {account}: the demo's message and first account
    variants: tuple[str, ...] = DESKTOP


PAGES = (
    PanelPage("sign-in", None, "/panel/sign-in", ("en-desktop", "fa-mobile")),
    PanelPage("dashboard", Role.USER, "/panel/dashboard?period=7d", EVERY),
    PanelPage("patterns", Role.USER, "/panel/patterns"),
    PanelPage("tokens", Role.USER, "/panel/tokens"),
    PanelPage("messages", Role.USER, "/panel/messages", (*DESKTOP, "en-mobile")),
    PanelPage("message", Role.USER, "/panel/messages/{message}", ("en-desktop", "fa-mobile")),
    PanelPage("credit", Role.USER, "/panel/credit"),
    PanelPage("operator-approvals", Role.OPERATOR, "/panel/operator", (*DESKTOP, "fa-mobile")),
    PanelPage("operator-traffic", Role.OPERATOR, "/panel/operator/dashboard?period=30d"),
    PanelPage("operator-accounts", Role.OPERATOR, "/panel/operator/accounts"),
    PanelPage("operator-account", Role.OPERATOR, "/panel/operator/accounts/{account}"),
    PanelPage("operator-people", Role.OPERATOR, "/panel/operator/invitations", ("en-desktop",)),
    PanelPage("operator-routes", Role.OPERATOR, "/panel/operator/routes", ("en-desktop",)),
    PanelPage("operator-guard", Role.OPERATOR, "/panel/operator/guard", ("en-desktop",)),
    PanelPage("operator-audit", Role.OPERATOR, "/panel/operator/audit", ("en-desktop",)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go (docs/panel)")
    parser.add_argument("--all", action="store_true", help="every page in every variant")
    parser.add_argument("--only", action="append", default=[], metavar="PAGE", help="(repeat)")
    args = parser.parse_args()
    unknown = set(args.only) - {page.name for page in PAGES}
    if unknown:
        parser.error(f"no such page: {', '.join(sorted(unknown))}")
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: .ci/install-browser installs Debian's chromium")
        return 1
    pages = [
        PanelPage(p.name, p.role, p.path, EVERY) if args.all else p
        for p in PAGES
        if not args.only or p.name in args.only
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:  # a page no longer listed leaves no picture behind
        for old in args.out.glob("*-*-*.png"):
            old.unlink()
    with tempfile.TemporaryDirectory(prefix="quickotp-shots-") as folder:
        written = capture(Path(folder), pages, args.out)
    total = sum(path.stat().st_size for path in written)
    print(f"{len(written)} screenshots, {total / 1e6:.2f} MB, in {args.out}")
    return 0


def capture(folder: Path, pages: list[PanelPage], out: Path) -> list[Path]:
    """Seed the demo in `folder`, serve it, and save `pages` into `out`."""
    env = {
        **os.environ,
        "QUICKOTP_SECRET_KEY": secrets.token_urlsafe(32),
        "QUICKOTP_DATABASE_URL": f"sqlite:///{folder / 'quickotp.db'}",
        "QUICKOTP_SINK_FILE": str(folder / "sms.jsonl"),
    }
    smsc_port, port = free_port(), free_port()
    print("seeding the demo gateway (a minute on a busy machine) ...")
    demo = asyncio.run(seed(env["QUICKOTP_DATABASE_URL"], env["QUICKOTP_SECRET_KEY"], smsc_port))
    with (
        process(
            [sys.executable, str(SIMULATOR), "--port", str(smsc_port), "--receipts"],
            folder / "smsc.log",
            env,
        ) as smsc,
        process(
            [sys.executable, "-m", "quickotp", "serve", "--host", "127.0.0.1", "--port", str(port)],
            folder / "serve.log",
            env,
        ) as server,
    ):
        wait_for(lambda: "READY" in (folder / "smsc.log").read_text(), smsc, folder / "smsc.log")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(base), server, folder / "serve.log")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=FLAGS, headless=True, timeout=STEP_MS
            )
            try:
                return shoot(browser, base, demo, pages, out)
            finally:
                browser.close()


def shoot(browser: Browser, base: str, demo: Demo, pages: list[PanelPage], out: Path) -> list[Path]:
    """Each page in each of its variants, one signed-in browser profile a role and variant."""
    written = []
    people = {None: None, Role.USER: demo.user, Role.OPERATOR: demo.operator}
    for role, person in people.items():
        for variant in EVERY:
            wanted = [p for p in pages if p.role is role and variant in p.variants]
            if not wanted:
                continue
            language, width = variant.split("-")
            context = browser.new_context(
                viewport=ViewportSize(width=WIDTHS[width][0], height=WIDTHS[width][1]),
                is_mobile=width == "mobile",
                has_touch=width == "mobile",
                locale="fa-IR" if language == "fa" else "en-US",
                timezone_id="Asia/Tehran",
            )
            context.set_default_timeout(STEP_MS)
            try:
                page = context.new_page()
                if person is None:
                    page.goto(f"{base}/panel/sign-in")
                else:
                    sign_in(page, base, person)
                choose_language(page, language)  # kept with the user, or in a cookie
                for wanted_page in wanted:
                    path = wanted_page.path.format(
                        message=demo.message_id, account=demo.accounts[0]
                    )
                    page.goto(base + path)
                    target = out / f"{variant}-{wanted_page.name}.png"
                    save(page, target, TALLEST[width])
                    print(f"  {target.name}: {target.stat().st_size // 1000} kB")
                    written.append(target)
            finally:
                context.close()
    return written


def sign_in(page: Page, base: str, person: Person) -> None:
    page.goto(f"{base}/panel/sign-in")
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    page.click("form[action*='/sign-in'] button[type=submit]")
    page.wait_for_load_state()
    if "/sign-in" in page.url:
        raise RuntimeError(f"{person.email} could not sign in: {page.inner_text('main')[:300]}")


def choose_language(page: Page, language: str) -> None:
    """The page in `language`: the language menu's button, as a person would press it."""
    if page.locator("html").get_attribute("lang") != language:
        page.click(f"button[name=language][value={language}]")
        page.wait_for_load_state()


def save(page: Page, target: Path, tallest: int) -> None:
    """The whole page, once its fonts and charts are in, down to `tallest` px, as a palette PNG."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    shot = page.screenshot(full_page=True, animations="disabled", caret="hide")
    with Image.open(io.BytesIO(shot)) as image:
        cut = image.convert("RGB").crop((0, 0, image.width, min(image.height, tallest)))
        cut.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


# the processes it starts --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def process(
    command: list[str], log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running, its output in `log`; stopped by its id on the way out."""
    with log.open("wb") as output:
        started = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield started
    finally:
        if started.poll() is None:
            started.terminate()  # SIGTERM to started.pid: the server shuts down cleanly
            try:
                started.wait(20)
            except subprocess.TimeoutExpired:
                started.kill()
                started.wait(5)


def wait_for(ready: Callable[[], bool], started: subprocess.Popen[bytes], log: Path) -> None:
    """Until `ready()`, for at most START_SECONDS; the process's log if it never is."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if started.poll() is not None:
            break
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{started.args!r} did not come up (exit {started.poll()}):\n{tail}")


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    sys.exit(main())
