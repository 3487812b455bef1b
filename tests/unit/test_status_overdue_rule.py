"""The overdue rules (status.domain.deadlines) and their SQL twins (status.repository.overdue and
needs_apology, which the desk's filter, the sweep and its gauge use) give the same answer for any dossier."""
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import given, settings, strategies as st
from sqlalchemy.orm import Session

from motcua.national_codes import DossierState
from status import repository
from status.domain.deadlines import is_overdue, needs_apology
from status.models import dossier, metadata
from tests.unit.test_status_lifecycle import make_dossier

ENGINE = sa.create_engine("sqlite://")
metadata.create_all(ENGINE)
TODAY = date(2026, 5, 4)
NOON = datetime(2026, 5, 4, 5, 0, tzinfo=timezone.utc)
offsets = st.integers(-5, 5).map(lambda offset: TODAY + timedelta(days=offset))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([s.value for s in DossierState if s is not DossierState.SUBMITTED]), offsets, offsets)
def test_the_sql_twins_agree_with_the_rules(state, legal_due_date, appointment_date):
    with Session(ENGINE) as session:
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())
        repository.add(session, make_dossier(state, legal_due_date=legal_due_date, appointment_date=appointment_date,
                                             updated_at=NOON))

        def matches(clause) -> bool:
            return session.execute(sa.select(sa.func.count()).select_from(dossier).where(clause)).scalar_one() == 1

        assert matches(repository.overdue(TODAY)) is is_overdue(legal_due_date, state, TODAY)
        assert matches(repository.needs_apology(TODAY)) is needs_apology(legal_due_date, appointment_date, state, TODAY)
