"""The time ledger always balances, whatever mix of logging, confirming and rejecting."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.errors import DomainError
from marketplace.memberships import ledger, reciprocity
from marketplace.memberships.models import LogStatus
from marketplace.memberships.reciprocity import TimeGiven
from tests.memberships.conftest import NOW, matched

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("log"),
            st.integers(min_value=-60, max_value=26 * 60),  # some invalid on purpose
            st.integers(min_value=0, max_value=45),  # days ago (some in a closed month)
            st.sampled_from(["person", "ulo"]),
        ),
        st.tuples(st.just("confirm"), st.integers(min_value=0, max_value=50)),
        st.tuples(st.just("reject"), st.integers(min_value=0, max_value=50)),
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
def test_the_ledger_always_sums_to_zero(db_session, staff, org, giver, ops):
    person, _ = giver
    helped = staff  # staff can confirm anything; as the person helped they confirm theirs
    matched(db_session, org, person, helped)  # members log time only for people matched
    created = []
    nested = db_session.begin_nested()  # each example starts from the same state
    try:
        for op in ops:
            try:
                if op[0] == "log":
                    _, minutes, days_ago, whom = op
                    data = TimeGiven(
                        "buddy",
                        NOW.date() - timedelta(days=days_ago),
                        minutes,
                        helped.id if whom == "person" else None,
                    )
                    created.append(reciprocity.log_time(db_session, person, org, data, now=NOW))
                elif created:
                    entry = created[op[1] % len(created)]
                    decide = reciprocity.confirm if op[0] == "confirm" else reciprocity.reject
                    decide(db_session, helped, entry, now=NOW)
            except DomainError:
                pass  # refused input changes nothing
            result = ledger.check(db_session, org.id)
            assert result.balanced, result
        confirmed = sum(e.minutes for e in created if e.status == LogStatus.CONFIRMED.value)
        result = ledger.check(db_session, org.id)
        assert result.total_minutes == 0
        assert confirmed == result.confirmed_minutes == result.given_minutes
        assert result.given_minutes == result.received_minutes
    finally:
        nested.rollback()
