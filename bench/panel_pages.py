"""
Time every list page of the panel on a seeded database (bench/seed_messages.py), for both
roles: one `quickotp serve` process (no dispatcher), signed in as the biggest account's user
and as the operator, each page asked REQUESTS times in turn, one request at a time over a
kept-alive connection on 127.0.0.1, so each time is the server's own (loopback adds ~0.2 ms).

    .venv/bin/python bench/seed_messages.py --database-url sqlite:////tmp/m1.db
    .venv/bin/python bench/panel_pages.py --database-url sqlite:////tmp/m1.db

Prints a Markdown table: each page's p50, p95 and slowest answer in ms, the server's CPU
time an answer (all its threads, from /proc: what the page costs whatever else the machine
runs), and its bytes.
Pages that page further (the log's "Older" link) are asked at their second page too. The
goal is every list page under 200 ms at p95.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import cpu_seconds, free_port, quickotp_env, server

PASSWORD = "bench panel password 1"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
_OLDER = re.compile(r'<a rel="next" href="([^"]+)"')


@dataclass(frozen=True)
class Timing:
    page: str
    p50: float
    p95: float
    slowest: float
    size: int
    cpu: float  # the server's CPU time an answer (all its threads), ms


def signed_in(base: str, email: str) -> httpx.Client:
    """
    A client signed in as `email`. The panel's cookies are Secure (outside dev mode), which
    a cookie jar keeps off plain http: they are carried by hand in the Cookie header.
    """
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/panel/sign-in")
    cookies = dict(form.cookies)
    found = _CSRF.search(form.text)
    assert found is not None, form.text[:300]
    done = client.post(
        "/panel/sign-in",
        data={"csrf": found.group(1), "email": email, "password": PASSWORD},
        headers={"cookie": _cookie_header(cookies)},
    )
    assert done.status_code == 303, done.text[:300]
    cookies.update(done.cookies)
    client.headers["cookie"] = _cookie_header(cookies)
    client.headers["accept-language"] = "fa"
    return client


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def time_page(client: httpx.Client, path: str, requests: int, server: int) -> tuple[Timing, str]:
    """`requests` answers of `path` (after two unmeasured ones); the last answer's text."""
    for _ in range(2):
        client.get(path)
    cpu_before = cpu_seconds(server)
    times = []
    text = ""
    for _ in range(requests):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
        text = answer.text
    cpu = (cpu_seconds(server) - cpu_before) * 1000 / requests
    times.sort()
    p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
    timing = Timing(path, statistics.median(times), p95, times[-1], len(text.encode()), cpu)
    return timing, text


def pages(client: httpx.Client, paths: list[str], requests: int, server: int) -> list[Timing]:
    timings = []
    for path in paths:
        timing, text = time_page(client, path, requests, server)
        timings.append(timing)
        older = _OLDER.search(text)
        if older is not None:  # the next page, by its keyset link
            link = older.group(1).replace("&amp;", "&")
            timings.append(time_page(client, link, requests, server)[0])
    return timings


def a_number(client: httpx.Client) -> tuple[str, str]:
    """A number and a message id from the first page of the log, to search for."""
    text = client.get("/panel/messages").text
    number = re.search(r"\+([0-9\u06f0-\u06f9]{12})", text)
    message = re.search(r'/panel/messages/([0-9]+)"', text)
    assert number is not None
    assert message is not None
    digits = number.group(1).translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    return "0" + digits[2:], message.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=100, help="answers timed a page")
    parser.add_argument("--user", default="user1@bench.test")
    parser.add_argument("--operator", default="ops@bench.test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = quickotp_env(args.database_url, Path(tmp) / "sms.jsonl", QUICKOTP_NO_DISPATCH="1")
        port = free_port()
        setsid = ["setsid"] if shutil.which("setsid") else []
        argv = [*setsid, sys.executable, "-m", "quickotp", "serve", "--port", str(port)]
        base = f"http://127.0.0.1:{port}"
        with server(argv, env, f"{base}/healthz", cpu=None) as process:
            user = signed_in(base, args.user)
            number, message_id = a_number(user)
            day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * 86400))
            user_pages = [
                "/panel/messages",
                "/panel/messages?status=failed",
                "/panel/messages?outcome=max_attempts_reached",
                "/panel/messages?outcome=pending",
                f"/panel/messages?q={number}",
                "/panel/messages?q=1234",
                f"/panel/messages?q={number[-6:]}",
                f"/panel/messages?since={day}&until={day}",
                "/panel/messages?token=1",
                "/panel/tokens",
                "/panel/quick-start",
                "/panel/patterns",
                "/panel/credit",
                "/panel/dashboard",
            ]
            operator_pages = [
                "/panel/operator/messages",
                "/panel/operator/messages?status=failed",
                f"/panel/operator/messages?q={number}",
                "/panel/operator/messages?q=1234",
                f"/panel/operator/messages?q=%23{message_id}",
                f"/panel/operator/messages?since={day}&until={day}",
                "/panel/operator/accounts",
                "/panel/operator/accounts/1",
                "/panel/operator",
                "/panel/operator/invitations",
                "/panel/operator/audit",
                "/panel/operator/dashboard",
            ]
            rows = [("user", t) for t in pages(user, user_pages, args.requests, process.pid)]
            operator = signed_in(base, args.operator)  # now: an idle connection is closed
            rows += [
                ("operator", t) for t in pages(operator, operator_pages, args.requests, process.pid)
            ]
            user = signed_in(base, args.user)
            export_began = time.perf_counter()
            exported = 0
            with user.stream("GET", "/panel/messages/export.csv") as answer:
                for chunk in answer.iter_bytes():
                    exported += len(chunk)
            export_seconds = time.perf_counter() - export_began
    print(f"\n{args.requests} answers a page, one at a time; times in ms\n")
    print("| role | page | p50 | p95 | slowest | server CPU an answer | bytes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for role, t in rows:
        shown = re.sub(r"before=[0-9-]+", "before=…", t.page)
        print(
            f"| {role} | `{shown}` | {t.p50:.1f} | {t.p95:.1f} | {t.slowest:.1f}"
            f" | {t.cpu:.1f} | {t.size:,} |"
        )
    print(
        f"\nCSV export of the user's whole log: {exported / 1e6:.1f} MB in {export_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
