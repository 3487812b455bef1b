"""notify's use cases (notify.handlers) on SQLite, without a broker or nameko: whom to tell is kept from
intake's event, and an online dossier's citizen is told it was filed, once; each status event becomes one row
per channel however often it comes, naming the agency by its name; a status event that arrives before its
contact is retried, and so is one whose agency's name catalog could not give."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from motcua.errors import NotYet, ServiceUnavailable
from notify import handlers
from notify.models import metadata, notification
from notify.sending import Settings as SendingSettings
from notify.settings import NotifySettings
from tests.service.test_notify_service import AGENCY, CODE, OFFICIAL
from tests.support import LocalDatabase, PinnedClock, as_received, dossier_submitted

DAYTIME = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong: no quiet hours
AGENCY_NAME = "UBND phường Hồng Bàng"
NAMES = {AGENCY: AGENCY_NAME}.get  # catalog's names, as notify.agencies hands them out


@pytest.fixture
def db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/notify.db", metadata, "notify", create=True)


def submitted(prefs=None, channel="online"):
    return as_received("intake", "dossier_submitted", dossier_submitted(
        dossier_code=CODE, agency_code=AGENCY, notification_preferences=prefs, channel=channel,
        applicant={"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": "an@example.vn"}))


def record(db, envelope, agency_name=NAMES):
    handlers.record_recipient(db, PinnedClock(DAYTIME), NotifySettings(), SendingSettings.from_env(), agency_name,
                              envelope)


def received():
    return as_received("status", "dossier_received", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "accept", "from_state": "submitted",
        "to_state": "received", "national_status_code": 2, "agency_code": AGENCY, "channel": "online",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27)})


def notify(db, envelope, settings=NotifySettings(), agency_name=NAMES):
    handlers.notify_dossier(db, PinnedClock(DAYTIME), settings, SendingSettings.from_env(), agency_name, "status",
                            envelope)


def stored(db):
    with db.engine.connect() as conn:
        return conn.execute(sa.select(notification.c.channel, notification.c.template_id, notification.c.body)
                            .order_by(notification.c.channel)).all()


def test_an_online_dossier_is_told_filed_once_on_each_channel_however_often_intake_announces_it(db):
    event = submitted()
    record(db, event)
    record(db, event)  # redelivered
    record(db, submitted())  # announced again under another event id: the first contact stands, nothing more
    notices = stored(db)
    assert [(channel, template) for channel, template, _ in notices] == [
        ("email", "filed_online"), ("sms", "filed_online")]
    for _, _, body in notices:
        assert CODE in body and f"http://localhost:8000/tra-cuu?code={CODE}" in body and "trực tuyến" in body
    assert f"đến {AGENCY_NAME}" in notices[0][2] and AGENCY not in notices[0][2].replace(CODE, "")


@pytest.mark.parametrize("channel", ["counter", "postal"])
def test_a_dossier_handed_in_is_received_at_once_so_its_first_notice_is_the_receipt(db, channel):
    def unused(code):
        raise AssertionError("no filing notice: no agency name needed")

    record(db, submitted(channel=channel), agency_name=unused)
    assert stored(db) == []
    notify(db, received())
    assert {template for _, template, _ in stored(db)} == {"receipt"}


def test_the_filing_notice_follows_the_citizens_choice(db):
    record(db, submitted(prefs={"channels": ["email"], "opted_out": True}))
    assert stored(db) == []  # not a form the law requires: opting out silences it


def test_a_filing_whose_agency_name_catalog_cannot_give_yet_is_retried_and_stores_nothing(db):
    def catalogue_away(code):
        raise ServiceUnavailable("The catalogue did not answer.")

    with pytest.raises(ServiceUnavailable):
        record(db, submitted(), agency_name=catalogue_away)
    assert stored(db) == []
    record(db, submitted())  # the retry: the contact and the notice, together
    assert len(stored(db)) == 2


def test_each_status_event_is_one_row_per_channel_however_often_it_comes(db):
    record(db, submitted(channel="counter"))
    event = received()
    notify(db, event)
    notify(db, event)
    assert [(channel, template) for channel, template, _ in stored(db)] == [("email", "receipt"), ("sms", "receipt")]


def test_the_receipt_names_the_agency_by_its_name_and_a_stranger_in_general_words(db):
    record(db, submitted(channel="counter"))
    notify(db, received())
    [(_, _, email), _] = stored(db)
    assert f"đã được tiếp nhận tại {AGENCY_NAME}" in email and AGENCY not in email.replace(CODE, "")

    completed = as_received("status", "dossier_completed", {
        "dossier_code": CODE, "procedure_code": "1.001193", "action": "complete", "from_state": "in_progress",
        "to_state": "completed", "national_status_code": 9, "agency_code": "000.00.77.H49", "channel": "counter",
        "actor": OFFICIAL, "appointment_date": date(2026, 11, 27)})
    notify(db, completed, agency_name={}.get)  # catalog answered, without this agency
    ready = [body for _, template, body in stored(db) if template == "result_ready"]
    assert ready and all("Bộ phận Một cửa của cơ quan giải quyết" in body and "000.00.77.H49" not in body
                         for body in ready)


def test_the_citizen_is_told_on_the_channels_they_chose_with_the_portal_of_the_settings(db):
    record(db, submitted(prefs={"channels": ["email"]}, channel="counter"))
    notify(db, received(), NotifySettings(portal_url="https://dichvucong.haiphong.example"))
    [(channel, _, body)] = stored(db)
    assert channel == "email" and "https://dichvucong.haiphong.example" in body


def test_a_status_event_before_its_contact_is_retried_and_stores_nothing(db):
    with pytest.raises(NotYet):
        notify(db, received())
    assert stored(db) == []
