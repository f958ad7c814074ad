"""
The client's exception tables held against the server's: every Status the /rest edge can
answer and every problem type /v1 can answer has its own class, in one family per outcome.
"""

from __future__ import annotations

import pytest

import quickotp_client
from quickotp.web import problems
from quickotp.web.amoot_wire import Status, status_for
from quickotp_client import ERROR_FOR_PROBLEM, ERROR_FOR_STATUS

FAMILIES = (
    quickotp_client.AuthError,
    quickotp_client.InvalidRequestError,
    quickotp_client.AccountError,
    quickotp_client.VerificationError,
    quickotp_client.GuardError,
    quickotp_client.ConflictError,
    quickotp_client.ServiceError,
)
UNSPECIFIC = {quickotp_client.Failed, quickotp_client.RequestRejectedProblem}


def server_problem_types() -> set[str]:
    kinds = {kind.uri for kind in problems.PROBLEM_FOR_ERROR.values()}
    return kinds | {problems.SERVER_ERROR.uri, problems.NOT_FOUND.uri}


def families(cls: type[Exception]) -> set[type[Exception]]:
    return {family for family in FAMILIES if issubclass(cls, family)}


def test_the_client_knows_every_status_the_server_can_send() -> None:
    """Adding a Status on the server without teaching the client fails here."""
    server = {status.value for status in Status} - {Status.SUCCESS.value}

    assert server - set(ERROR_FOR_STATUS) == set()


def test_the_client_knows_every_problem_type_the_server_can_send() -> None:
    """Adding a problem type on the server without teaching the client fails here."""
    assert server_problem_types() - set(ERROR_FOR_PROBLEM) == set()


def test_every_status_and_problem_type_has_a_class_of_its_own() -> None:
    """No two Status names, and no two problem types, share an exception class."""
    assert len(set(ERROR_FOR_STATUS.values())) == len(ERROR_FOR_STATUS)
    assert len(set(ERROR_FOR_PROBLEM.values())) == len(ERROR_FOR_PROBLEM)


def test_class_names_follow_the_wire_names() -> None:
    """A Status class is its name without underscores; a problem class, its slug and Problem."""
    for status, status_class in ERROR_FOR_STATUS.items():
        assert status_class.__name__ == status.replace("_", "")
    for kind, problem_class in ERROR_FOR_PROBLEM.items():
        slug = kind.removeprefix(problems.TYPE_PREFIX)
        assert (
            problem_class.__name__ == "".join(w.capitalize() for w in slug.split("-")) + "Problem"
        )


@pytest.mark.parametrize("cls", [*ERROR_FOR_STATUS.values(), *ERROR_FOR_PROBLEM.values()])
def test_every_class_is_in_exactly_one_family(cls: type[Exception]) -> None:
    """Each outcome's class has one family, so one `except` catches it from either API."""
    expected = 0 if cls in UNSPECIFIC else 1

    assert len(families(cls)) == expected


# Failed and ServerError name no outcome: errors that /rest folds into them are left out.
NAMED_ON_BOTH = [
    error
    for error in problems.PROBLEM_FOR_ERROR
    if status_for(error("x")) not in {Status.FAILED, Status.SERVER_ERROR}
]


@pytest.mark.parametrize("error", NAMED_ON_BOTH, ids=lambda error: error.__name__)
def test_one_server_error_lands_in_one_family_on_both_apis(error: type[Exception]) -> None:
    """The same server-side error is in the same family whether /rest or /v1 reports it."""
    status = status_for(error("x"))
    problem = problems.problem_for(error("x"))

    assert families(ERROR_FOR_STATUS[status]) == families(ERROR_FOR_PROBLEM[problem.uri])


def test_every_class_is_exported() -> None:
    """Callers reach every exception class as quickotp_client.<Name>."""
    classes = [*ERROR_FOR_STATUS.values(), *ERROR_FOR_PROBLEM.values()]

    assert [
        c.__name__ for c in classes if getattr(quickotp_client, c.__name__, None) is not c
    ] == []
    assert {c.__name__ for c in classes} <= set(quickotp_client.__all__)


def test_a_status_error_reads_as_its_name_and_meaning() -> None:
    """The message is the Status and what it means, for a person to read."""
    error = quickotp_client.CodeExpired("Code_Expired", method="VerifyQuickOTP")

    assert str(error) == "Code_Expired: the code has expired"
