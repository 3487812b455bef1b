"""The desk's permission rules, without broker or database: every role x every action x the
official's agency holding the dossier now / having held it before / never having held it."""
import pytest

from motcua.errors import Forbidden, NotFound
from motcua_contracts.desk import DESK_ACTIONS, ROLES
from status.domain.permissions import Official, can_see, check_action

OWN, OTHER = "000.00.12.H49", "000.00.13.H49"
CODE = f"{OTHER}-261125-0001"

# The table, written out here rather than read from status.domain.permissions.
MAY = {
    "receptionist": {"accept", "refuse", "request_supplement", "return_result", "withdraw", "assign"},
    "handler": {"assign", "transfer", "request_supplement", "request_payment", "record_payment"},
    "approver": {"complete", "stop", "transfer", "refuse", "assign"},
    "city_admin": set(),
}
RELATIONS = {  # (holder, the official's agency holds or has held it)
    "own": (OWN, True),
    "held_before": (OTHER, True),
    "never_held": (OTHER, False),
}


def test_the_table_covers_every_role_and_every_desk_action():
    assert set(MAY) == set(ROLES)
    assert set().union(*MAY.values()) <= set(DESK_ACTIONS)
    assert len(DESK_ACTIONS) == 11


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("action", DESK_ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_the_permission_matrix(role, action, relation):
    official = Official.of("can-bo-1", OWN, [role])
    holder, has_held = RELATIONS[relation]

    def act():
        check_action(official, action, CODE, holder, has_held)

    if relation == "never_held" and role != "city_admin":
        assert not can_see(official, has_held)
        with pytest.raises(NotFound) as refused:
            act()
        assert refused.value.message == f"No dossier {CODE}."  # as for a code that does not exist
    elif relation == "own" and action in MAY[role]:
        act()  # allowed: no refusal
    else:
        assert can_see(official, has_held)  # seen, so a refusal may say why
        with pytest.raises(Forbidden) as refused:
            act()
        assert action in refused.value.message
        if relation == "own":
            assert role in refused.value.message


def test_roles_add_up_but_a_city_admin_token_acts_on_nothing():
    both = Official.of("can-bo-2", OWN, ["receptionist", "approver"])
    check_action(both, "accept", CODE, OWN, True)
    check_action(both, "complete", CODE, OWN, True)
    with pytest.raises(Forbidden, match="approver, receptionist"):
        check_action(both, "request_payment", CODE, OWN, True)
    admin_handler = Official.of("lanh-dao", OWN, ["city_admin", "handler"])
    with pytest.raises(Forbidden, match="city_admin"):
        check_action(admin_handler, "transfer", CODE, OWN, True)
    assert can_see(admin_handler, False)


def test_the_desk_offers_exactly_what_the_official_may_start_from_the_dossiers_state():
    from status.domain import DESK_SOURCES
    from status.domain.permissions import available_actions

    receptionist = Official.of("cb-1", "000.00.51.H24", ["receptionist"])
    approver = Official.of("cb-2", "000.00.51.H24", ["approver"])
    assert available_actions(receptionist, "000.00.51.H24", DESK_SOURCES, "submitted") == [
        "accept", "refuse", "withdraw"]
    assert available_actions(approver, "000.00.51.H24", DESK_SOURCES, "in_progress") == [
        "assign", "transfer", "complete", "stop"]
    assert available_actions(approver, "000.00.12.H24", DESK_SOURCES, "in_progress") == []  # not the holder
    assert available_actions(Official.of("a", "000.00.51.H24", ["city_admin"]), "000.00.51.H24", DESK_SOURCES,
                             "submitted") == []
    # Whatever the desk offers, check_action lets the official do.
    for state in ("submitted", "received", "in_progress", "awaiting_supplement", "completed"):
        for action in available_actions(receptionist, "000.00.51.H24", DESK_SOURCES, state):
            check_action(receptionist, action, "c", "000.00.51.H24", True)
