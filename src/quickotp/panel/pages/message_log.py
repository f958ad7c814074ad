"""
The message log's pages: an account user's log (filters, a count, keyset pages, a CSV
export streamed a page at a time) and the operator's search over every account.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from quickotp.domain.errors import GatewayError
from quickotp.domain.models import (
    Actor,
    MessagePage,
    MessageStatus,
    Token,
    VerificationStatus,
)
from quickotp.panel import charts, forms
from quickotp.panel.app import Access, Panel
from quickotp.panel.visits import Visit
from quickotp.services.message_log import (
    COUNT_CAP,
    Filters,
    LogPage,
    MessageLog,
    cursor_text,
)

CSV_COLUMNS = (
    "id",
    "accepted_at",
    "number",
    "sender",
    "status",
    "verification",
    "token",
    "parts",
    "cost",
    "reported_at",
    "text",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def routes(panel: Panel, log: MessageLog) -> list[Route]:
    pages = MessageLogPages(panel, log)
    return [
        panel.route("/messages", pages.account_log, access=Access.USER),
        panel.route("/messages/export.csv", pages.export, access=Access.USER),
        panel.route("/operator/messages", pages.operator_search, access=Access.OPERATOR),
    ]


def read_filters(query: QueryParams) -> Filters:
    """The log form's fields; InvalidInput for a day that is not one (forms.day)."""
    return Filters(
        search=forms.text(query, "q", 60),
        status=forms.text(query, "status", 20),
        token_id=forms.whole(query, "token"),
        outcome=forms.text(query, "outcome", 30),
        since=forms.day(query, "since"),
        until=forms.day(query, "until"),
        before=forms.text(query, "before", 40),
    )


def kept_fields(query: QueryParams) -> dict[str, str]:
    """The filters a page's links carry on (its cursor aside)."""
    return {key: value for key, value in query.items() if key != "before" and value}


def safe_cell(value: object) -> str:
    """
    A CSV cell a spreadsheet shows as text: one that could start a formula (=, +, -, @,
    a tab or a line break first) gets a leading apostrophe.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_rows(page: MessagePage, token_names: Mapping[int, str]) -> str:
    """One page of messages as CSV lines, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for message in page.items:
        token_id = page.token_ids.get(message.id)
        writer.writerow(
            safe_cell(cell)
            for cell in (
                message.id,
                _iso(message.created_at),
                message.mobile,
                message.sender,
                message.status.value,
                page.outcomes.get(message.id, ""),
                token_names.get(token_id, f"#{token_id}") if token_id is not None else "",
                message.parts,
                message.cost,
                _iso(message.reported_at),
                message.text,
            )
        )
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def token_name(token: Token) -> str:
    shown = f"{token.prefix}…" if token.prefix else f"#{token.id}"
    return f"{token.label} ({shown})" if token.label else shown


class MessageLogPages:
    def __init__(self, panel: Panel, log: MessageLog) -> None:
        self.panel = panel
        self.log = log

    async def account_log(self, visit: Visit) -> Response:
        user = visit.signed_in
        query = visit.request.query_params
        tokens = await self.panel.workspace.tokens(user)
        error = None
        try:
            search = self.log.account_query(read_filters(query))
        except GatewayError as exc:
            error = self.panel.problem(visit, exc)
            search = self.log.account_query(Filters())
        found = await self.log.account_page(user, search)
        return self.panel.render(
            visit,
            "message_log/account.html",
            found=found,
            **self._context(query, error, found),
            tokens=tokens,
            token_names={token.id: token_name(token) for token in tokens},
            outcomes=list(VerificationStatus),
        )

    async def export(self, visit: Visit) -> Response:
        """Every match as CSV, read and sent a page at a time (never the whole log at once)."""
        user = visit.signed_in
        try:
            search = self.log.account_query(read_filters(visit.request.query_params))
        except GatewayError as exc:
            return self.panel.error(visit, 422, self.panel.problem(visit, exc))
        names = {token.id: token_name(token) for token in await self.panel.workspace.tokens(user)}

        async def lines() -> AsyncIterator[str]:
            yield "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"  # the BOM: spreadsheets read UTF-8
            async for page in self.log.export(user, search):
                yield csv_rows(page, names)

        stamp = self.panel.users.clock().astimezone(self.panel.config.zone).strftime("%Y%m%d")
        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="messages-{stamp}.csv"'},
        )

    async def operator_search(self, visit: Visit) -> Response:
        query = visit.request.query_params
        error = None
        try:
            search = self.log.operator_query(read_filters(query))
        except GatewayError as exc:
            error = self.panel.problem(visit, exc)
            search = self.log.operator_query(Filters())
        found = await self.log.operator_page(Actor(visit.signed_in, visit.ip), search)
        return self.panel.render(
            visit,
            "message_log/operator.html",
            found=found,
            **self._context(query, error, found),
        )

    def _context(self, query: QueryParams, error: str | None, found: LogPage) -> dict[str, Any]:
        older = found.page.older
        return {
            "query": query,
            "kept": kept_fields(query),
            "older": cursor_text(older) if older is not None else None,
            "first_page": not query.get("before"),
            "error": error,
            "cap": COUNT_CAP,
            "statuses": list(MessageStatus),
            "status_labels": charts.STATUS_LABELS,
            "outcome_labels": charts.VERIFICATION_LABELS,
        }
