"""One rule for the version of a procedure in force on a day (motcua.procedures), and its SQL twin
(motcua.db.procedure_in_force) giving the same answer on any version and day."""
from datetime import date, timedelta

import sqlalchemy as sa
from hypothesis import given, settings, strategies as st

from motcua.db import procedure_in_force
from motcua.procedures import in_force, version_in_force

versions = sa.Table("version", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("status", sa.String), sa.Column("valid_from", sa.Date), sa.Column("valid_to", sa.Date))
ENGINE = sa.create_engine("sqlite://")
versions.metadata.create_all(ENGINE)
DAY0 = date(2026, 1, 1)
days = st.integers(0, 60).map(lambda offset: DAY0 + timedelta(days=offset))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["draft", "published", "withdrawn"]), days, st.one_of(st.none(), days), days)
def test_the_sql_twin_agrees_with_the_rule(status, valid_from, valid_to, day):
    with ENGINE.begin() as conn:
        conn.execute(versions.delete())
        conn.execute(versions.insert().values(id=1, status=status, valid_from=valid_from, valid_to=valid_to))
        in_sql = conn.execute(sa.select(sa.func.count()).select_from(versions)
                              .where(procedure_in_force(versions, day))).scalar_one() == 1
    assert in_sql is in_force(status, valid_from, valid_to, day)


class Version:
    def __init__(self, version, status="published", valid_from=DAY0, valid_to=None):
        self.version, self.status, self.valid_from, self.valid_to = version, status, valid_from, valid_to


def test_valid_to_is_the_first_day_it_no_longer_applies_and_the_highest_of_overlapping_ones_wins():
    old = Version(1, valid_to=date(2026, 3, 1))
    new = Version(2, valid_from=date(2026, 2, 1))
    draft = Version(3, status="draft")
    assert version_in_force([new, old, draft], date(2026, 1, 31)) is old
    assert version_in_force([old, new, draft], date(2026, 2, 15)) is new  # overlapping: the higher, in any order
    assert version_in_force([old, new, draft], date(2025, 12, 31)) is None
