"""What a caller can pass `ask()` that is not a question it can answer: named errors with one
line that says what was wrong and what to do, never a ValueError from inside."""

import pytest

from core.errors import FilterError, InvalidTextError, RagError
from rag import ask

QUESTION = "What did Hussein say about mediation?"


@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": "2005/01/01"},
        {"date_from": "yesterday"},
        {"date_to": "2005-02-30"},
        {"date_to": "2005-1-5"},
        {"date_from": "２００５-０１-０１"},  # full-width digits, which int() would read
    ],
)
def test_a_date_filter_that_is_not_yyyy_mm_dd_says_so(seed_store, filters):
    (value,) = filters.values()
    with pytest.raises(FilterError) as raised:
        ask(QUESTION, store=seed_store, **filters)
    assert isinstance(raised.value, RagError) and isinstance(raised.value, ValueError)
    assert str(raised.value) == (
        f"{value!r} is not a date as YYYY-MM-DD; give dates to filter by like 2005-01-31"
    )


def test_iso_dates_still_filter(seed_store):
    assert ask(QUESTION, store=seed_store, date_from="2025-01-01", date_to="2025-12-31").citations
    assert ask(QUESTION, store=seed_store, date_to="2000-01-01").abstained


@pytest.mark.parametrize("question", ["Who said \udcff?", "\ud800 mediation", "Hussein \udfff"])
def test_a_lone_surrogate_is_a_named_error_not_a_tokenizer_traceback(seed_store, question):
    with pytest.raises(InvalidTextError, match=r"which is not text .* as UTF-8 text"):
        ask(question, store=seed_store)
