"""Who may see and who may act on a dossier at the officials' desk (docs/architecture.md section 7).

An official sees a dossier their agency holds or has held; a city admin sees every dossier.
Only officials of the agency holding it now act on it, each action needing a role that allows
it; the holder rule binds that agency's department system too. A dossier the official may not
see is answered as if it did not exist.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from motcua.errors import Forbidden, NotFound

CITY_ADMIN = "city_admin"

# The one-stop officer takes dossiers in and hands results out; the handler appraises and routes;
# the approver decides. The city admin monitors and acts on nothing (separation of duties).
ROLE_ACTIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "receptionist": frozenset({"accept", "refuse", "request_supplement", "return_result", "withdraw", "assign"}),
    "handler": frozenset({"assign", "transfer", "request_supplement", "request_payment", "record_payment"}),
    "approver": frozenset({"complete", "stop", "transfer", "refuse", "assign"}),
    CITY_ADMIN: frozenset(),
})


@dataclass(frozen=True)
class Official:
    subject: str
    agency_code: str
    roles: frozenset[str]

    @classmethod
    def of(cls, subject: str, agency_code: str, roles: Iterable[str]) -> Official:
        return cls(subject, agency_code, frozenset(roles))

    @property
    def city_admin(self) -> bool:
        return CITY_ADMIN in self.roles


def allowed_actions(official: Official) -> frozenset[str]:
    if official.city_admin:
        return frozenset()  # a token carrying city_admin acts on nothing, whatever else it carries
    return frozenset().union(*(ROLE_ACTIONS[role] for role in official.roles))


def available_actions(official: Official, holder_agency_code: str, sources: Mapping[str, Iterable[str]],
                      state: str) -> list[str]:
    """The desk actions this official may take on a dossier in `state` held by `holder_agency_code` now, in the
    lifecycle's order; `sources` maps each desk action to the states it starts from (status.domain.lifecycle)."""
    if official.agency_code != holder_agency_code:
        return []
    mine = allowed_actions(official)
    return [action for action, states in sources.items() if action in mine and state in states]


def can_see(official: Official, agency_has_held: bool) -> bool:
    """`agency_has_held`: the official's agency holds the dossier now or held it before."""
    return official.city_admin or agency_has_held


def check_action(official: Official, action: str, code: str, holder_agency_code: str,
                 agency_has_held: bool) -> None:
    """Raise NotFound (not seen), Forbidden (seen, not allowed to act) or return (allowed)."""
    if not can_see(official, agency_has_held):
        raise NotFound(f"No dossier {code}.")
    roles = ", ".join(sorted(official.roles))
    if official.city_admin:
        raise Forbidden(f"The city_admin role monitors and performs no action on dossiers ({action}).",
                        {"roles": [f"{CITY_ADMIN} cannot {action}."]})
    check_holder(official.agency_code, action, code, holder_agency_code, agency_has_held)
    if action not in allowed_actions(official):
        raise Forbidden(f"Your role ({roles}) does not allow {action}.",
                        {"roles": [f"{roles} cannot {action}."]})


def check_holder(agency_code: str, action: str, code: str, holder_agency_code: str, agency_has_held: bool) -> None:
    """Only the agency holding the dossier now acts on it, an official or its department's system:
    raise NotFound (never held: not seen), Forbidden (held before) or return."""
    if not agency_has_held:
        raise NotFound(f"No dossier {code}.")
    if agency_code != holder_agency_code:
        raise Forbidden(f"Dossier {code} is held by {holder_agency_code}; your agency {agency_code} "
                        f"may view it but not {action} it.", {"agency_code": ["Not the holding agency."]})
