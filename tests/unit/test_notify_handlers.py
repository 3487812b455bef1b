"""notify's use cases (notify.handlers) on SQLite, without a broker or nameko: whom to tell is kept from
intake's event, each status event becomes one row per channel however often it comes, and a status event
that arrives before its contact is retried."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from motcua.errors import NotFound
from notify import handlers
from notify.models import metadata, notification
from notify.sending import Settings as SendingSettings
from notify.settings import NotifySettings
from tests.service.test_notify_service import AGENCY, CODE, OFFICIAL
from tests.support import LocalDatabase, PinnedClock, as_received, dossier_submitted

DAYTIME = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong: no quiet hours


@pytest.fixture
def db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/notify.db", metadata, "notify", create=True)


def submitted(prefs=None):
    return as_received("intake", "dossier_submitted", dossier_submitted(
        dossier_code=CODE, agency_code=AGENCY, notification_preferences=prefs,
        applicant={"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": "an@example.vn"}))


def received():
    return as_received("status", "dossier_received", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "accept", "from_state": "submitted",
        "to_state": "received", "national_status_code": 2, "agency_code": AGENCY, "channel": "online",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27)})


def notify(db, envelope, settings=NotifySettings()):
    handlers.notify_dossier(db, PinnedClock(DAYTIME), settings, SendingSettings.from_env(), "status", envelope)


def stored(db):
    with db.engine.connect() as conn:
        return conn.execute(sa.select(notification.c.channel, notification.c.template_id, notification.c.body)
                            .order_by(notification.c.channel)).all()


def test_each_status_event_is_one_row_per_channel_however_often_it_comes(db):
    handlers.record_recipient(db, PinnedClock(DAYTIME), submitted())
    event = received()
    notify(db, event)
    notify(db, event)
    assert [(channel, template) for channel, template, _ in stored(db)] == [("email", "receipt"), ("sms", "receipt")]


def test_the_citizen_is_told_on_the_channels_they_chose_with_the_portal_of_the_settings(db):
    handlers.record_recipient(db, PinnedClock(DAYTIME), submitted(prefs={"channels": ["email"]}))
    notify(db, received(), NotifySettings(portal_url="https://dichvucong.haiphong.example"))
    [(channel, _, body)] = stored(db)
    assert channel == "email" and "https://dichvucong.haiphong.example" in body


def test_a_status_event_before_its_contact_is_retried_and_stores_nothing(db):
    with pytest.raises(NotFound):
        notify(db, received())
    assert stored(db) == []
