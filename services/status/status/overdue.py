"""The overdue sweep: an apology with a new date (template 04) for each dossier past its date.

nameko's timer fires on every replica (docs/stack-notes.md), so a run is claimed in the database: on
PostgreSQL a transaction-scoped advisory lock makes replicas firing together skip at once,
and the `sweep_run` row makes replicas firing apart skip an interval already swept. The
claim, the apologies, the dossiers' new dates, their history and their `dossier_overdue`
events commit in one transaction, so a crash leaves either all of a run or none of it.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from nameko.timer import Timer
from prometheus_client import Counter
from sqlalchemy.orm import Session

from motcua.calendar import local_date
from motcua.db import Db, TimeSource, UnitOfWork
from motcua.errors import Conflict, IllegalTransition
from motcua.logs import dossier_context
from status import repository
from status.domain import Actor
from status.domain.deadlines import apology_new_date
from status.models import apology, dossier, sweep_run
from status.settings import StatusSettings

log = logging.getLogger(__name__)

SWEEP_NAME = "overdue"
SWEEP_LOCK = 7_300_466_001  # advisory lock key of this sweep; unique among status's advisory locks
SCHEDULER = Actor("scheduler")

APOLOGIES = Counter("motcua_apologies_total", "Apologies (template 04) issued by the overdue sweep", ["agency"])


class SweepTimer(Timer):
    """nameko's timer, its interval (StatusSettings.sweep_seconds) read when a container is built, not at import:
    a timer's interval is fixed before the container's dependencies are set up."""

    def __init__(self, **kwargs):
        super().__init__(interval=StatusSettings.from_env().sweep_seconds, **kwargs)


def sweep_overdue(db: Db, clock: TimeSource, settings: StatusSettings) -> None:
    """The sweep's use case: claim the run, apologise for each dossier past its date."""
    now = clock()
    with db.unit_of_work() as uow:
        swept = _claim_run(uow.session, now, settings.sweep_seconds)
        issued = _sweep(uow, now, settings.apology_extension_working_days) if swept else []
        uow.commit()
    for agency in issued:
        APOLOGIES.labels(agency).inc()


def _claim_run(session: Session, now: datetime, interval_seconds: float) -> bool:
    """True when this replica is the one to sweep now; the claim commits with the sweep."""
    if (session.get_bind().dialect.name == "postgresql"
            and not session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(SWEEP_LOCK))).scalar()):
        return False  # another replica is sweeping right now
    last = session.execute(sa.select(sweep_run.c.last_run_at).where(sweep_run.c.name == SWEEP_NAME)
                           .with_for_update()).scalar()
    # 0.9: timers drift, and a replica firing a little early must not skip a whole interval.
    if last is not None and last > now - timedelta(seconds=0.9 * interval_seconds):
        return False
    if last is None:
        session.execute(sweep_run.insert().values(name=SWEEP_NAME, last_run_at=now))
    else:
        session.execute(sweep_run.update().where(sweep_run.c.name == SWEEP_NAME).values(last_run_at=now))
    return True


def _sweep(uow: UnitOfWork, now: datetime, extension_working_days: int) -> list[str]:
    """Apologise for every dossier that needs it; returns the apologising agencies, one per apology."""
    today, columns = local_date(now), dossier.c
    # The query narrows on the (state, appointment_date) index; the aggregate (Dossier.apologise) decides.
    candidates = uow.session.execute(
        sa.select(columns.code)
        .where(repository.needs_apology(today),
               ~sa.exists().where(apology.c.dossier_code == columns.code,
                                  apology.c.original_appointment_date == columns.appointment_date))
        .order_by(columns.appointment_date, columns.code)
    ).scalars().all()
    new_date = apology_new_date(today, extension_working_days)
    issued = []
    for code in candidates:
        with dossier_context(code):
            agency = _apologise(uow, code, today, new_date, now)
            if agency is not None:
                issued.append(agency)
    return issued


def _apologise(uow: UnitOfWork, code: str, today: date, new_date: date, now: datetime) -> str | None:
    """The apology for one dossier, committed with the rest of the run; the apologising agency, or None."""
    found = repository.get(uow.session, code)
    read_version, original = found.version, found.appointment_date
    try:
        change = found.apologise(today, new_date, SCHEDULER, now)
        repository.update(uow.session, found, read_version)
    except (Conflict, IllegalTransition):
        log.info("dossier changed while being swept; the next sweep looks at it again")
        return None
    uow.session.execute(apology.insert().values(
        dossier_code=code, agency_code=found.holder_agency_code, issued_at=now,
        original_appointment_date=original, new_appointment_date=new_date, reason=change.entry.reason))
    repository.add_history(uow.session, code, change.entry)
    uow.record_event(change.event.type, change.event.data, dossier_code=code)
    log.info("apology issued: appointment %s moved to %s", original, new_date)
    return found.holder_agency_code
