"""Review states: what a response's state is, now or as of any instant, and which responses a ranking counts.

The history is the append-only `review_event` table; a state is never stored as a fact of its own but
derived from the latest review action and the revisions:

- `received`: no review action yet (by the instant asked about);
- `approved` | `has_issues` | `rejected`: the latest review action's state, while the revision it looked at
  is still the latest revision;
- `edited`: a revision newer than the one the latest review looked at has been received (a revision answers
  a `has_issues`; it also reopens an approval or a rejection, since the reviewed content changed).

"Latest" compares revision numbers, not clocks: a review records the revision that was current when it was
stored (under the response's row lock), so a review and a revision racing each other cannot be misread.

Which responses a ranking counts (`review` of priorities and rankings), as of its instant T, using the review
actions received by T and the response's latest revision received by T:

- `any`: every response;
- `not_rejected` (the default): every response whose state as of T is not `rejected`, i.e. never reviewed,
  or its latest review by T is not a rejection, or a revision arrived after the rejection (`edited`);
  `has_issues` responses count;
- `approved`: only responses whose state as of T is `approved`: the latest review by T approved them and no
  revision arrived after that approval.

A response that does not count is as if it had never been received: a facility's value for a question
then comes from its latest response that counts, or is missing.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from sqlalchemy import and_, false, or_, true

from app.models import Response

ReviewAction = Literal["approved", "has_issues", "rejected"]
ReviewState = Literal["received", "has_issues", "approved", "rejected", "edited"]
ReviewFilter = Literal["any", "not_rejected", "approved"]

ACTIONS: tuple[str, ...] = get_args(ReviewAction)
STATES: tuple[str, ...] = get_args(ReviewState)
FILTERS: tuple[str, ...] = get_args(ReviewFilter)
DEFAULT_FILTER: ReviewFilter = "not_rejected"


def derive(last_state: str | None, last_revision: int | None, revision: int) -> str:
    """The state of a response whose latest review action set `last_state` on `last_revision` (None: never
    reviewed) and whose latest revision is `revision`."""
    if last_state is None:
        return "received"
    if last_revision is not None and revision > last_revision:
        return "edited"
    return last_state


def counts(review: str, state: str) -> bool:
    """Whether a response in `state` counts for a ranking with this `review` filter."""
    if review == "any":
        return True
    if review == "approved":
        return state == "approved"
    return state != "rejected"


def state_is(states: list[str], last_state: Any, last_revision: Any, revision: Any) -> Any:
    """SQL: the derived state (from these three columns or expressions) is one of `states`."""
    reviewed = last_state.is_not(None)
    clauses = []
    for s in sorted(set(states)):
        if s == "received":
            clauses.append(last_state.is_(None))
        elif s == "edited":
            clauses.append(and_(reviewed, revision > last_revision))
        else:
            clauses.append(and_(last_state == s, revision <= last_revision))
    return or_(*clauses) if clauses else false()


def counted(review: str, last_state: Any, last_revision: Any, revision: Any) -> Any:
    """SQL: the response counts for a ranking with this `review` filter (the SQL form of `counts`)."""
    if review == "any":
        return true()
    if review == "approved":
        return state_is(["approved"], last_state, last_revision, revision)
    return state_is(["received", "has_issues", "approved", "edited"], last_state, last_revision, revision)


def current_is(states: list[str]) -> Any:
    """SQL on the response row: its state now (from the denormalised latest review) is one of `states`."""
    return state_is(states, Response.review_state, Response.review_revision, Response.current_revision)
