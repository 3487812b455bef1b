"""The dossier lifecycle as plain Python: no nameko, no SQLAlchemy."""
from status.domain.lifecycle import (
    DESK_SOURCES, FINAL_STATES, REGISTER_EVENT, RULES, SYSTEM, Actor, Change, ClockPause, Command, Dossier, Event,
    HistoryEntry, Rule, given_name, register, time_in_states_left,
)

__all__ = [
    "DESK_SOURCES", "FINAL_STATES", "REGISTER_EVENT", "RULES", "SYSTEM", "Actor", "Change", "ClockPause", "Command",
    "Dossier", "Event", "HistoryEntry", "Rule", "given_name", "register", "time_in_states_left",
]
