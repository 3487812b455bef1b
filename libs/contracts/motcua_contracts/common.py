"""Value shapes shared by several messages.

Phone numbers: `^(?:0|\\+84)(?:2[0-9]{9}|[35789][0-9]{8})$`. Since the 2017-2018 renumbering a
Vietnamese number after the trunk 0 (or +84) is either a landline, 2 + area code + subscriber,
10 digits (Hai Phong 0225 xxx xxxx, Ha Noi 024 xxxx xxxx), or a mobile, 9 digits starting 3, 5,
7, 8 or 9. The looser `^(0|\\+84)[1-9][0-9]{8,9}$` also accepts the retired 11-digit 01xx
mobiles and numbers under 04/06/1x that belong to nobody, so an SMS would go nowhere. Spaces,
dots, dashes and brackets people type are dropped before the check.
"""
import re
from enum import StrEnum
from typing import Any

from marshmallow import ValidationError, fields, validate

from motcua_contracts.base import StrictSchema
from motcua_contracts.codes import AGENCY_CODE_REGEX, DOSSIER_CODE_REGEX



class DossierState(StrEnum):
    """The lifecycle's states (docs/architecture.md section 4); their national codes are motcua.national_codes'."""

    SUBMITTED = "submitted"  # waiting for the one-stop officer to check it
    RECEIVED = "received"  # accepted at intake, code and appointment issued
    REFUSED = "refused"  # not accepted: ineligible
    IN_PROGRESS = "in_progress"  # with an agency
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # citizen asked for documents
    AWAITING_PAYMENT = "awaiting_payment"  # fee or tax due
    WITHDRAWN = "withdrawn"  # by the citizen
    STOPPED = "stopped"  # processing stopped by the agency, with a reason
    COMPLETED = "completed"  # result ready
    RETURNED = "returned"  # result handed over or delivered


class Channel(StrEnum):
    """How a dossier came in."""

    COUNTER = "counter"
    ONLINE = "online"
    POSTAL = "postal"


class ReturnMethod(StrEnum):
    """How the result goes back to the citizen."""

    COUNTER = "counter"
    POSTAL = "postal"
    ONLINE = "online"


# The values as the schemas' OneOf and the documents list them.
STATES = tuple(state.value for state in DossierState)
CHANNELS = tuple(channel.value for channel in Channel)
RETURN_METHODS = tuple(method.value for method in ReturnMethod)
ACTOR_KINDS = ("citizen", "official", "department_system", "carrier", "scheduler", "system")

class WholeMatch(validate.Regexp):
    """validate.Regexp over the whole value: its `re.match` with `$` lets a trailing newline through."""

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


AGENCY_CODE = WholeMatch(f"^{AGENCY_CODE_REGEX}$", error="Not a QCVN 102 agency code.")
DOSSIER_CODE = WholeMatch(f"^{DOSSIER_CODE_REGEX}$", error="Not a dossier code.")


class ActorSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ACTOR_KINDS))
    id = fields.String(load_default=None, allow_none=True)
    agency_code = fields.String(load_default=None, allow_none=True)


class AttachmentRefSchema(StrictSchema):
    attachment_id = fields.String(required=True)
    document_code = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


# `$`, not `\Z`, so that the documents (ECMA regex) say the same; separators, a final newline included,
# are gone before the check.
PHONE = r"^(?:0|\+84)(?:2[0-9]{9}|[35789][0-9]{8})$"
MAX_EMAIL_LENGTH = 254  # RFC 5321's longest path, less its brackets


class PhoneNumber(fields.String):
    """A Vietnamese phone number, stored without the separators people type."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return re.sub(r"[\s.\-()]", "", super()._deserialize(value, attr, data, **kwargs))


def phone_field(**kwargs: Any) -> PhoneNumber:
    return PhoneNumber(validate=validate.Regexp(PHONE, error="Not a Vietnamese phone number."), **kwargs)


def email_field(messages: dict | None = None, **kwargs: Any) -> fields.Email:
    """One address (never a list, never a header): marshmallow's Email check, within SMTP's length."""
    return fields.Email(validate=validate.Length(max=MAX_EMAIL_LENGTH, error="At most {max} characters."),
                        error_messages={"invalid": "Not a valid e-mail address.", **(messages or {})}, **kwargs)


class ApplicantSchema(StrictSchema):
    """Whom a dossier or a pickup is for, and how to reach them: the one set of contact rules."""

    full_name = fields.String(required=True, validate=[validate.Length(min=1, error="This field is required."),
                                                       validate.Length(max=200, error="At most {max} characters.")])
    phone = phone_field(load_default=None, allow_none=True)
    email = email_field(load_default=None, allow_none=True)
