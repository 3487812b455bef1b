"""Quiet hours for SMS: a message due in the night waits until the window's end, local time."""
from datetime import datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def is_quiet(local: time, start: time, end: time) -> bool:
    if start == end:  # an empty window: quiet hours switched off
        return False
    if start < end:  # inside one day, e.g. 12:00-13:30
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 21:00-07:00


def release_time(now: datetime, start: time, end: time, tz: tzinfo = VIETNAM) -> datetime:
    """When an SMS due at `now` may go: `now` outside quiet hours, else the next `end`; in UTC."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz)
    if not is_quiet(local.time().replace(tzinfo=None), start, end):
        return now.astimezone(timezone.utc)
    release = datetime.combine(local.date(), end, tzinfo=tz)
    if release <= local:  # past midnight's start side: the window ends tomorrow morning
        release = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return release.astimezone(timezone.utc)
