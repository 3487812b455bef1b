"""notify's persistence on the real PostgreSQL: the de-duplication key, replicas claiming disjoint rows, and a
pickup's notices linked to its dossier whatever the order."""
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy.orm import Session

from motcua.db import make_engine
from notify import repository
from tests.conftest import truncate_all

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def engine(postgres_database):
    engine = make_engine(postgres_database("notify"))
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def empty(engine):
    truncate_all(engine.url.render_as_string(hide_password=False))


def row(event_id: str, channel: str = "sms", **values) -> dict:
    return {"dossier_code": "000.00.00.H49-261125-0007", "event_id": event_id, "event_occurred_at": NOW,
            "template_id": "receipt", "template_version": 1, "channel": channel, "to_address": "0912345678",
            "subject": None, "body": "text", "html": None, "length": 4, "segments": 1, "encoding": "GSM-7",
            "status": "queued", "attempts": 0, "created_at": NOW, "not_before": NOW, "updated_at": NOW, **values}


def test_the_same_event_template_and_channel_is_stored_once(engine):
    event_id = str(uuid.uuid4())
    with Session(engine) as session:
        assert repository.add_notification(session, row(event_id))
        assert not repository.add_notification(session, row(event_id))
        assert repository.add_notification(session, row(event_id, channel="email"))
        session.commit()
        assert len(repository.log_for(session, "000.00.00.H49-261125-0007")) == 2


def test_two_replicas_claim_disjoint_rows_without_waiting_and_only_due_ones(engine):
    with Session(engine) as session:
        for _ in range(4):
            repository.add_notification(session, row(str(uuid.uuid4())))
        repository.add_notification(session, row(str(uuid.uuid4()), status="held",
                                                  not_before=NOW + timedelta(hours=8)))
        session.commit()
    lease = NOW + timedelta(minutes=2)
    with Session(engine) as first, Session(engine) as second:
        mine = repository.claim_due(first, "sms", NOW, lease, 2)  # its transaction stays open: rows locked
        theirs = repository.claim_due(second, "sms", NOW, lease, 10)  # skips them instead of waiting
        assert len(mine) == 2 and len(theirs) == 2
        assert not {r["id"] for r in mine} & {r["id"] for r in theirs}
        assert {r["attempts"] for r in mine + theirs} == {1}
        first.commit()
        second.commit()
    with Session(engine) as session:
        assert repository.claim_due(session, "sms", NOW, lease, 10) == []  # leased, and the held one is not due
        assert len(repository.claim_due(session, "sms", lease, lease + timedelta(minutes=2), 10)) == 4  # lease over


def test_linking_a_pickup_waits_for_a_notice_in_flight_and_links_it_too(engine):
    pickup_id, code = uuid.uuid4(), "000.00.00.H49-261125-0008"
    contact = {"given_name": "An", "phone": "0912345678", "email": None,
               "preferences": {"channels": ["sms", "email"], "language": "vi", "opted_out": False},
               "procedure_name": "Đăng ký khai sinh", "agency_code": "000.00.00.H49", "created_at": NOW}
    with Session(engine) as session:
        assert repository.save_pickup_recipient(session, {**contact, "pickup_id": pickup_id})
        session.commit()
    with Session(engine) as notice:
        # A pickup notice's handler holds the recipient while it adds its rows, not yet committed.
        assert repository.lock_pickup_recipient(notice, pickup_id)["dossier_code"] is None
        repository.add_notification(notice, row(str(uuid.uuid4()), dossier_code=None, pickup_id=pickup_id,
                                                template_id="pickup_collected"))

        def link():
            with Session(engine) as session:
                before = repository.link_pickup(session, pickup_id, code, contact)
                session.commit()
                return before

        linking = eventlet.spawn(link)
        eventlet.sleep(0.3)
        assert not linking.dead  # waits on the lock instead of missing the uncommitted row
        notice.commit()
        assert linking.wait()["given_name"] == "An"
    with Session(engine) as session:
        assert [r["template_id"] for r in repository.log_for(session, code)] == ["pickup_collected"]
        assert repository.lock_pickup_recipient(session, pickup_id)["dossier_code"] == code


def test_a_dossier_linked_before_its_booking_stores_the_pickup_recipient_already_linked(engine):
    pickup_id, code = uuid.uuid4(), "000.00.00.H49-261125-0009"
    contact = {"given_name": "An", "phone": None, "email": "an@example.vn",
               "preferences": {"channels": ["email"], "language": "vi", "opted_out": False},
               "procedure_name": "Đăng ký khai sinh", "agency_code": "000.00.00.H49", "created_at": NOW}
    with Session(engine) as session:
        assert repository.link_pickup(session, pickup_id, code, contact) is None
        assert not repository.save_pickup_recipient(session, {**contact, "pickup_id": pickup_id})  # the booking, late
        assert repository.lock_pickup_recipient(session, pickup_id)["dossier_code"] == code
        session.commit()
