"""The outbox lag (motcua_outbox_pending, motcua_outbox_oldest_pending_seconds) is measured by a service's relay on
every pass, also while the broker cannot be reached, which is when it grows."""
import json
from datetime import timedelta

import sqlalchemy as sa
from prometheus_client import REGISTRY

from motcua.db import OUTBOX, add_messaging_tables, make_engine, utcnow
from motcua.dependencies import Database
from motcua.stack import free_port
from tests.support import wait_for

metadata = sa.MetaData()
add_messaging_tables(metadata)


class Writer:
    name = "lag_probe"
    db = Database(metadata)


def gauge(name):
    return REGISTRY.get_sample_value(name, {"service": "lag_probe"})


def test_with_the_broker_away_the_relay_still_reports_how_many_wait_and_for_how_long(container_factory, tmp_path):
    url = f"sqlite:///{tmp_path}/writer.db"
    engine = make_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(metadata.tables[OUTBOX].insert(), [
            {"event_id": f"event-{n}", "exchange": "lag_probe.events", "routing_key": "something_happened",
             "body": json.dumps({}), "headers": json.dumps({}), "created_at": utcnow() - timedelta(minutes=n)}
            for n in (5, 1)])  # committed in this order, the oldest first
    engine.dispose()
    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # no broker listens there
    container_factory(Writer, {"AMQP_URI": nobody, "DATABASE_URL": url}).start()

    assert wait_for(lambda: gauge("motcua_outbox_pending") == 2, seconds=30)
    assert gauge("motcua_outbox_oldest_pending_seconds") >= 300
