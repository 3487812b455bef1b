"""A message the provider accepted while notify's PostgreSQL restarts is recorded once the database is back,
instead of being left to its lease, whose end would send it a second time (notify.sending.record_outcome)."""
import uuid
from datetime import timedelta

import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.migrations import upgrade
from notify import repository
from notify.models import metadata
from notify.sending import record_outcome
from tests.faults.servers import PrivatePostgres
from tests.service.test_notify_repository import NOW, row
from tests.support import LocalDatabase


def claimed_email(db: LocalDatabase) -> dict:
    """An e-mail notification taken for sending, as the sender takes it just before calling the provider."""
    with Session(db.engine) as session:
        repository.add_notification(session, row(str(uuid.uuid4()), channel="email", to_address="an@example.org"))
        [claimed] = repository.claim_due(session, "email", NOW, NOW + timedelta(minutes=2), 1)
        session.commit()
    return claimed


@pytest.fixture
def database():
    postgres = PrivatePostgres()
    postgres.start()
    try:
        url = postgres.database("notify")
        upgrade("notify", url)
        db = LocalDatabase(url, metadata, "notify")
        yield postgres, db
        db.engine.dispose()
    finally:
        postgres.close()


def test_a_send_is_recorded_when_the_database_comes_back(database):
    postgres, db = database
    claimed = claimed_email(db)
    postgres.kill()  # the provider has said 250; the database is gone before the outcome is kept
    recording = eventlet.spawn(record_outcome, db, claimed, "sent", {"status": "sent", "sent_at": NOW})
    eventlet.sleep(1.0)
    assert not recording.dead, "gave up while the database was away"
    postgres.start()
    assert recording.wait() is True
    with Session(db.engine) as session:
        assert repository.claim_due(session, "email", NOW + timedelta(hours=1), NOW + timedelta(hours=2), 5) == [], \
            "its lease over, the row would be sent again"
        assert [entry["status"] for entry in repository.log_for(session, row("x")["dossier_code"])] == ["sent"]


def test_a_database_that_stays_away_ends_in_the_error_and_the_lease_takes_over(database):
    postgres, db = database
    claimed = claimed_email(db)
    postgres.kill()
    with pytest.raises(sa.exc.OperationalError):
        record_outcome(db, claimed, "sent", {"status": "sent", "sent_at": NOW}, retry_seconds=(0.1, 0.1))
