"""The catalogue import file: read a YAML or JSON catalogue, validate all of it, or refuse all of it.

A file holds `format_version`, `sources`, `agencies`, `fields` and `procedures` (see the seed,
`seed/haiphong.yaml`, for a full example). `load_catalogue(path)` returns a `Catalogue` of frozen
dataclasses, or raises `CatalogueFileError` whose `.errors` name the line (and column, where the
value is written in the file) and the path of every offending value, sorted by line:

    line 42, column 11: procedures[3].versions[0].time_limit.working_days: Not a valid number.

Marshmallow schemas check each object; `_cross_check` then checks what relates objects to one
another (references, duplicates, the agency tree, overlapping versions). Positions come from
PyYAML's node tree (`yaml.compose`); JSON is YAML, so the same tree gives a JSON file's positions
(its values come from the json module, which is stricter about JSON).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from motcua.procedures import version_in_force
from motcua_contracts.base import shared
from motcua_contracts.codes import AGENCY_CODE_REGEX
from motcua_contracts.common import CHANNELS, RETURN_METHODS

SEED_PATH = Path(__file__).parent / "seed" / "haiphong.yaml"
FORMAT_VERSION = 1

AGENCY_CODE = f"^{AGENCY_CODE_REGEX}$"  # QCVN 102:2016, e.g. 000.00.00.H49
NATIONAL_CODE = re.compile(r"^[0-9]\.[0-9]{6}$")  # the national TTHC code, e.g. 1.001193
LOCAL_CODE = re.compile(r"^LOCAL-[0-9A-Z]+(-[0-9A-Z]+)*$")  # assigned here while the national one is unknown
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"

AGENCY_LEVELS = ("city", "department", "division", "commune", "commune_unit")
STATUSES = ("draft", "published", "withdrawn")
FILE_TYPES = ("pdf", "jpg", "png", "docx", "xml")
FORM_FIELD_TYPES = ("text", "number", "date", "choice", "citizen_id", "phone", "email")
ONLINE_LEVELS = ("toan_trinh", "mot_phan")  # Decree 42/2022: fully / partly online
WORKFLOW_ROLES = ("receptionist", "handler", "approver")
# Version attributes a source may leave unconfirmed (listed in a version's `unconfirmed`).
CONFIRMABLE = ("agency", "valid_from", "valid_to", "time_limit", "cutoff_hour", "fees", "documents",
               "form_fields", "service_level", "channels", "return_methods", "legal_basis", "workflow")


# --- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    key: str  # what versions cite, e.g. "S3"
    title: str
    url: str | None


@dataclass(frozen=True)
class Agency:
    code: str  # QCVN 102 form
    name: str
    level: str  # one of AGENCY_LEVELS
    parent: str | None  # None only at a root of the tree
    place: str | None  # địa danh, written before the date on its papers ("Vĩnh Bảo, ngày ..."); None: none


@dataclass(frozen=True)
class Field:
    code: str  # ASCII slug, e.g. "ho-tich"
    name: str  # the Vietnamese name of the field (linh vuc)


@dataclass(frozen=True)
class TimeLimit:
    working_days: Decimal  # 0 means the same day, before `cutoff_hour`
    confirmed: bool  # False: a source gives the number but not for sure (unit unstated, other province...)
    note: str | None


@dataclass(frozen=True)
class Fee:
    code: str
    name: str
    amount_vnd: int | None  # None: not confirmed by any source
    unit: str  # what one amount pays for: "lần", "trang", "bản"...
    online_amount_vnd: int | None  # when filed online; None: not stated
    confirmed: bool
    note: str | None


@dataclass(frozen=True)
class Document:
    code: str
    name: str
    mandatory: bool
    accepted_types: tuple[str, ...]
    max_size_mb: Decimal | None


@dataclass(frozen=True)
class FormField:
    name: str  # snake_case key of the submitted value
    label: str  # shown to the citizen, in Vietnamese
    type: str  # one of FORM_FIELD_TYPES
    required: bool
    choices: tuple[str, ...]  # only for type "choice"
    max_length: int | None  # only for type "text"
    min: Decimal | None  # only for type "number"
    max: Decimal | None


@dataclass(frozen=True)
class ServiceLevel:
    legacy: int | None  # levels 1-4 from before Decree 42/2022
    online: str | None  # one of ONLINE_LEVELS, None when not offered online


@dataclass(frozen=True)
class WorkflowStep:
    agency: str
    role: str  # one of WORKFLOW_ROLES
    working_days: Decimal


@dataclass(frozen=True)
class ProcedureVersion:
    version: int
    status: str  # one of STATUSES
    valid_from: dt.date
    valid_to: dt.date | None  # the first day it no longer applies; None: open-ended
    agency: str  # the responsible (receiving) agency
    time_limit: TimeLimit | None  # required once published
    cutoff_hour: dt.time  # a dossier received later counts from the next working day
    fees: tuple[Fee, ...]  # empty: no fee, unless "fees" is listed in `unconfirmed`
    documents: tuple[Document, ...]
    form_fields: tuple[FormField, ...]
    service_level: ServiceLevel
    channels: tuple[str, ...]
    return_methods: tuple[str, ...]
    legal_basis: tuple[str, ...]
    sources: tuple[str, ...]  # keys of `Catalogue.sources`, or URLs
    unconfirmed: tuple[str, ...]  # attributes (CONFIRMABLE) whose values no source confirmed
    workflow: tuple[WorkflowStep, ...]
    note: str | None
    withdrawn_by: str | None  # the repealing decision, for a withdrawn version



@dataclass(frozen=True)
class Procedure:
    code: str  # national code, or LOCAL-... when the national one is not confirmed
    name: str
    field: str
    versions: tuple[ProcedureVersion, ...]

    @property
    def national_code(self) -> bool:
        return NATIONAL_CODE.match(self.code) is not None

    def published_on(self, day: dt.date) -> ProcedureVersion | None:
        """The version a dossier filed on `day` is pinned to (motcua.procedures' rule)."""
        return version_in_force(self.versions, day)


@dataclass(frozen=True)
class Catalogue:
    sources: tuple[Source, ...]
    agencies: tuple[Agency, ...]
    fields: tuple[Field, ...]
    procedures: tuple[Procedure, ...]


class CatalogueFileError(Exception):
    """A refused catalogue file: `errors` holds every problem found, ordered by line."""

    def __init__(self, errors: list[str], name: str = "catalogue file") -> None:
        super().__init__(f"{name}: {len(errors)} error(s)\n" + "\n".join(errors))
        self.errors = errors


# --- schemas: each object on its own ------------------------------------------------------------

def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1), **kwargs)


def _note() -> fields.String:
    return fields.String(load_default=None, allow_none=True)


def _flag() -> fields.Boolean:
    # Only true/false: "yes" or "có" in a data file is more likely a slip than a choice.
    return fields.Boolean(required=True, truthy={True}, falsy={False})


def _distinct(values: list[Any]) -> None:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValidationError(f"Repeated item(s): {', '.join(repeated)}.")


def _subset(choices: tuple[str, ...], *, non_empty: bool) -> fields.List:
    presence: dict[str, Any] = {"required": True} if non_empty else {"load_default": []}
    rules = [_distinct, validate.Length(min=1)] if non_empty else [_distinct]
    return fields.List(fields.String(validate=validate.OneOf(choices)), validate=rules, **presence)


def _slug() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(SLUG, error="Not a lower-case ASCII slug."))


def _frozen(data: dict[str, Any]) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}


class _Strict(Schema):
    model: ClassVar[type]  # the dataclass a loaded object becomes

    class Meta:
        unknown = RAISE  # a misspelt key must refuse the file, never vanish silently

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return self.model(**_frozen(data))


class SourceSchema(_Strict):
    model = Source
    key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]+$"))
    title = _text(required=True)
    url = fields.Url(required=True, allow_none=True, schemes={"http", "https"})



class AgencySchema(_Strict):
    model = Agency
    code = fields.String(required=True, validate=validate.Regexp(
        AGENCY_CODE, error="Not an agency code in QCVN 102 form such as 000.00.00.H49."))
    name = _text(required=True)
    level = fields.String(required=True, validate=validate.OneOf(AGENCY_LEVELS))
    parent = fields.String(required=True, allow_none=True)
    place = _text(load_default=None, allow_none=True)



class FieldSchema(_Strict):
    model = Field
    code = _slug()
    name = _text(required=True)



class TimeLimitSchema(_Strict):
    model = TimeLimit
    working_days = fields.Decimal(required=True, validate=validate.Range(min=0))
    confirmed = _flag()
    note = _note()



class FeeSchema(_Strict):
    model = Fee
    code = _slug()
    name = _text(required=True)
    amount_vnd = fields.Integer(strict=True, required=True, allow_none=True, validate=validate.Range(min=0))
    unit = _text(required=True)
    online_amount_vnd = fields.Integer(strict=True, load_default=None, allow_none=True,
                                       validate=validate.Range(min=0))
    confirmed = _flag()
    note = _note()

    @validates_schema
    def _amount_behind_confirmation(self, data: dict[str, Any], **_: Any) -> None:
        if data["confirmed"] and data["amount_vnd"] is None:
            raise ValidationError("A fee without an amount cannot be confirmed.", "confirmed")



class DocumentSchema(_Strict):
    model = Document
    code = _slug()
    name = _text(required=True)
    mandatory = _flag()
    accepted_types = _subset(FILE_TYPES, non_empty=True)
    max_size_mb = fields.Decimal(load_default=None, allow_none=True,
                                 validate=validate.Range(min=0, min_inclusive=False))



class FormFieldSchema(_Strict):
    model = FormField
    name = fields.String(required=True, validate=validate.Regexp(SNAKE_CASE, error="Not a snake_case name."))
    label = _text(required=True)
    type = fields.String(required=True, validate=validate.OneOf(FORM_FIELD_TYPES))
    required = _flag()
    choices = fields.List(_text(), load_default=[], validate=_distinct)
    max_length = fields.Integer(strict=True, load_default=None, allow_none=True,
                                validate=validate.Range(min=1))
    min = fields.Decimal(load_default=None, allow_none=True)
    max = fields.Decimal(load_default=None, allow_none=True)

    @validates_schema
    def _choices_only_for_choice(self, data: dict[str, Any], **_: Any) -> None:
        if (data["type"] == "choice") != bool(data["choices"]):
            raise ValidationError("A choice field needs choices; other types take none.", "choices")

    @validates_schema
    def _bounds_fit_the_type(self, data: dict[str, Any], **_: Any) -> None:
        if data["max_length"] is not None and data["type"] != "text":
            raise ValidationError("Only a text field takes max_length.", "max_length")
        if data["type"] != "number" and (data["min"], data["max"]) != (None, None):
            raise ValidationError("Only a number field takes min and max.",
                                  "min" if data["min"] is not None else "max")
        if None not in (data["min"], data["max"]) and data["min"] > data["max"]:
            raise ValidationError("Must not be greater than max.", "min")



class ServiceLevelSchema(_Strict):
    model = ServiceLevel
    legacy = fields.Integer(strict=True, required=True, allow_none=True,
                            validate=validate.Range(min=1, max=4))
    online = fields.String(required=True, allow_none=True, validate=validate.OneOf(ONLINE_LEVELS))



class WorkflowStepSchema(_Strict):
    model = WorkflowStep
    agency = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(WORKFLOW_ROLES))
    working_days = fields.Decimal(required=True, validate=validate.Range(min=0))



class VersionSchema(_Strict):
    model = ProcedureVersion
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    agency = fields.String(required=True)
    time_limit = fields.Nested(TimeLimitSchema, required=True, allow_none=True)
    cutoff_hour = fields.Time(format="%H:%M", load_default=dt.time(15, 0))
    fees = fields.List(fields.Nested(FeeSchema), load_default=[])
    documents = fields.List(fields.Nested(DocumentSchema), load_default=[])
    form_fields = fields.List(fields.Nested(FormFieldSchema), load_default=[])
    service_level = fields.Nested(ServiceLevelSchema, required=True)
    channels = _subset(CHANNELS, non_empty=True)
    return_methods = _subset(RETURN_METHODS, non_empty=True)
    legal_basis = fields.List(_text(), load_default=[], validate=_distinct)
    sources = fields.List(_text(), required=True, validate=[_distinct, validate.Length(min=1)])
    unconfirmed = _subset(CONFIRMABLE, non_empty=False)
    workflow = fields.List(fields.Nested(WorkflowStepSchema), load_default=[])
    note = _note()
    withdrawn_by = _note()

    @validates_schema
    def _valid_to_after_valid_from(self, data: dict[str, Any], **_: Any) -> None:
        if data["valid_to"] is not None and data["valid_to"] <= data["valid_from"]:
            raise ValidationError("Must be after valid_from.", "valid_to")

    @validates_schema
    def _published_has_time_limit(self, data: dict[str, Any], **_: Any) -> None:
        if data["status"] == "published" and data["time_limit"] is None:
            raise ValidationError("A published version needs a time limit.", "time_limit")

    @validates_schema
    def _workflow_fits_the_time_limit(self, data: dict[str, Any], **_: Any) -> None:
        # Each step's deadline is carved out of the legal limit: together they may not exceed it.
        limit, days = data["time_limit"], sum(step.working_days for step in data["workflow"])
        if limit is not None and days > limit.working_days:
            raise ValidationError(f"The steps take {days.normalize():f} working days; the time limit is "
                                  f"{limit.working_days.normalize():f}.", "workflow")

    @validates_schema
    def _withdrawn_names_its_decision(self, data: dict[str, Any], **_: Any) -> None:
        if (data["status"] == "withdrawn") != (data["withdrawn_by"] is not None):
            raise ValidationError("Give the repealing decision for, and only for, a withdrawn version.",
                                  "withdrawn_by")

    @validates_schema
    def _doubts_are_declared(self, data: dict[str, Any], **_: Any) -> None:
        # `unconfirmed` is what the portal shows as "not confirmed": it must cover every doubt below.
        time_limit, listed = data["time_limit"], data["unconfirmed"]
        missing = [name for name, doubtful in (
            ("time_limit", time_limit is None or not time_limit.confirmed),
            ("fees", any(not fee.confirmed for fee in data["fees"])),
        ) if doubtful and name not in listed]
        if missing:
            raise ValidationError(f"Must list {', '.join(missing)}: not confirmed below.", "unconfirmed")


def _procedure_code(code: str) -> None:
    if not (NATIONAL_CODE.match(code) or LOCAL_CODE.match(code)):
        raise ValidationError(
            'Not a national procedure code such as "1.001193" nor a local one such as "LOCAL-H24-0001".')


class ProcedureSchema(_Strict):
    model = Procedure
    code = fields.String(required=True, validate=_procedure_code, error_messages={
        "invalid": 'Not a valid string (quote codes such as "1.001193", or YAML reads them as numbers).'})
    name = _text(required=True)
    field = fields.String(required=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True, validate=validate.Length(min=1))



_COLLECTIONS: dict[str, type[Schema]] = {
    "sources": SourceSchema, "agencies": AgencySchema, "fields": FieldSchema, "procedures": ProcedureSchema}


class CatalogueSchema(_Strict):
    model = Catalogue
    format_version = fields.Integer(strict=True, required=True, validate=validate.Equal(FORMAT_VERSION))
    sources = fields.List(fields.Nested(SourceSchema), required=True)
    agencies = fields.List(fields.Nested(AgencySchema), required=True, validate=validate.Length(min=1))
    procedures = fields.List(fields.Nested(ProcedureSchema), required=True)
    # Last: from here on, `fields` in this class body names this field, not the marshmallow module.
    fields = fields.List(fields.Nested(FieldSchema), required=True, validate=validate.Length(min=1))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Catalogue:
        del data["format_version"]  # checked above; not part of the catalogue itself
        return super()._make(data, **kwargs)


# --- relations between objects --------------------------------------------------------------------

Where = tuple[str | int, ...]  # a value's path in the file: ("procedures", 3, "versions", 0, "agency")
Problem = tuple[Where, str]
Loaded = dict[str, list[tuple[int, Any]]]  # per collection: (index in the file, loaded object)


def _repeats(items: Iterable[tuple[Where, str]], what: str) -> Iterator[Problem]:
    first: dict[str, Where] = {}
    for where, value in items:
        if value in first:
            yield where, f"Duplicate {what} {value!r} (first at {_path_text(first[value])})."
        first.setdefault(value, where)


def _raw_keys(raw: Any, collection: str, key: str) -> list[tuple[Where, str]]:
    """Keys as written, even in objects that failed validation: one bad agency must not make every
    procedure that names it report an unknown agency too."""
    items = raw.get(collection) if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return []
    return [((collection, i, key), item[key]) for i, item in enumerate(items)
            if isinstance(item, dict) and isinstance(item.get(key), str)]


def _cycles(parents: dict[str, str | None]) -> list[list[str]]:
    found, seen = [], set()
    for start in parents:
        trail: list[str] = []
        code: str | None = start
        while code in parents and code not in seen:
            seen.add(code)
            trail.append(code)
            code = parents[code]
        if code in trail:
            found.append(trail[trail.index(code):])
    return found


def _cross_check(raw: Any, loaded: Loaded) -> Iterator[Problem]:
    keys = {name: _raw_keys(raw, name, "key" if name == "sources" else "code") for name in _COLLECTIONS}
    for name, what in (("sources", "source key"), ("agencies", "agency code"),
                       ("fields", "field code"), ("procedures", "procedure code")):
        yield from _repeats(keys[name], what)
    sources, agencies, field_codes = ({value for _, value in keys[name]}
                                      for name in ("sources", "agencies", "fields"))

    index = {agency.code: position for position, agency in loaded["agencies"]}
    for position, agency in loaded["agencies"]:
        if agency.parent is not None and agency.parent not in agencies:
            yield ("agencies", position, "parent"), f"Unknown agency {agency.parent!r}."
    for cycle in _cycles({agency.code: agency.parent for _, agency in loaded["agencies"]}):
        first = min(cycle, key=index.__getitem__)
        yield ("agencies", index[first], "parent"), \
            f"Agencies form a cycle: {' -> '.join(cycle + cycle[:1])}."

    for position, procedure in loaded["procedures"]:
        at: Where = ("procedures", position)
        if procedure.field not in field_codes:
            yield at + ("field",), f"Unknown field {procedure.field!r}."
        yield from _repeats(((at + ("versions", j, "version"), str(v.version))
                             for j, v in enumerate(procedure.versions)), "version")
        yield from _overlaps(at, procedure.versions)
        for version_position, version in enumerate(procedure.versions):
            yield from _version_references(at + ("versions", version_position), version, agencies, sources)


def _overlaps(at: Where, versions: tuple[ProcedureVersion, ...]) -> Iterator[Problem]:
    published = sorted((v.valid_from, j, v) for j, v in enumerate(versions) if v.status == "published")
    for (_, _, earlier), (_, later_position, later) in zip(published, published[1:]):
        if earlier.valid_to is None or earlier.valid_to > later.valid_from:
            yield (at + ("versions", later_position, "valid_from"),
                   f"Published version {later.version} overlaps published version {earlier.version}: "
                   "at most one published version may be valid on any date.")


def _version_references(at: Where, version: ProcedureVersion, agencies: set[str],
                        sources: set[str]) -> Iterator[Problem]:
    if version.agency not in agencies:
        yield at + ("agency",), f"Unknown agency {version.agency!r}."
    for position, step in enumerate(version.workflow):
        if step.agency not in agencies:
            yield at + ("workflow", position, "agency"), f"Unknown agency {step.agency!r}."
    for position, source in enumerate(version.sources):
        if not source.startswith(("http://", "https://")) and source not in sources:
            yield at + ("sources", position), f"Unknown source {source!r}: not a key of `sources` nor a URL."
    for name, items, key in (("fees", version.fees, "code"), ("documents", version.documents, "code"),
                             ("form_fields", version.form_fields, "name")):
        yield from _repeats(((at + (name, k, key), getattr(item, key)) for k, item in enumerate(items)),
                            f"{name[:-1].replace('_', ' ')} {key}")


# --- reading the file, with positions --------------------------------------------------------------

class _Located(NamedTuple):
    line: int
    column: int | None  # None when the value is missing and the line is that of its parent
    text: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.column is None else f"line {self.line}, column {self.column}"
        return f"{where}: {self.text}"


def _path_text(path: Where) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _message(path: Where, message: str) -> str:
    return f"{_path_text(path)}: {message}" if path else message


def _at(mark: yaml.Mark, path: Where, message: str) -> _Located:
    return _Located(mark.line + 1, mark.column + 1, _message(path, message))


class _Reader:
    """Turns a composed node tree into plain values and remembers where each path is written
    (for a mapping entry, where its key is; for a sequence item, where it starts)."""

    _INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"

    def __init__(self, root: yaml.Node) -> None:
        self.marks: dict[Where, yaml.Mark] = {(): root.start_mark}
        self.problems: list[_Located] = []
        self._constructor = yaml.SafeLoader("")  # builds scalars exactly as yaml.safe_load would
        self.value = self._read(root, (), frozenset())

    def _read(self, node: yaml.Node, path: Where, ancestors: frozenset[int]) -> Any:
        if id(node) in ancestors:
            self.problems.append(_at(node.start_mark, path, "An alias refers to its own ancestor."))
            return None
        inner = ancestors | {id(node)}
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(_at(key_node.start_mark, path, "A key must be a plain string."))
                    continue
                key = key_node.value
                if key in mapping:
                    self.problems.append(_at(key_node.start_mark, path + (key,), "Duplicate key."))
                self.marks.setdefault(path + (key,), key_node.start_mark)
                mapping[key] = self._read(value_node, path + (key,), inner)
            return mapping
        if isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                self.marks[path + (position,)] = item.start_mark
            return [self._read(item, path + (i,), inner) for i, item in enumerate(node.value)]
        if node.tag in (self._INT, self._FLOAT) and ":" in node.value:
            return node.value  # YAML 1.1 reads 15:00 as the base-60 number 900: keep the "HH:MM" text
        try:
            return self._constructor.construct_object(node)
        except yaml.constructor.ConstructorError as error:
            self.problems.append(_at(node.start_mark, path, str(error.problem)))
            return None
        except ValueError:
            return node.value  # e.g. 2026-02-30 looks like a date but is none: the schema says so


def _locate(path: Where, marks: dict[Where, yaml.Mark], message: str) -> _Located:
    if path in marks:
        return _at(marks[path], path, message)
    known = path
    while known not in marks:  # a missing value: point at the object that lacks it
        known = known[:-1]
    return _Located(marks[known].line + 1, None, _message(path, message))


def _flatten(messages: Any, path: Where = ()) -> Iterator[Problem]:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _flatten(inner, path if key == "_schema" else path + (key,))
    elif isinstance(messages, list):
        for inner in messages:
            yield from _flatten(inner, path)
    else:
        yield path, str(messages)


def _validate(raw: Any) -> tuple[Catalogue | None, list[Problem]]:
    try:
        catalogue = shared(CatalogueSchema).load(raw)
    except ValidationError as error:
        # Check relations among the objects that did pass, so one run reports (nearly) everything.
        failed = error.messages if isinstance(error.messages, dict) else {}
        loaded = {name: _passed(raw, name, schema, failed.get(name)) for name, schema in _COLLECTIONS.items()}
        return None, [*_flatten(error.messages), *_cross_check(raw, loaded)]
    loaded = {name: list(enumerate(getattr(catalogue, name))) for name in _COLLECTIONS}
    problems = list(_cross_check(raw, loaded))
    return (None if problems else catalogue), problems


def _passed(raw: Any, name: str, schema: type[Schema], failed: Any) -> list[tuple[int, Any]]:
    items = raw.get(name) if isinstance(raw, dict) else None
    if not isinstance(items, list) or isinstance(failed, list):  # a list: the whole collection is wrong
        return []
    return [(i, schema().load(item)) for i, item in enumerate(items) if i not in (failed or {})]


def parse_catalogue(text: str, fmt: Literal["yaml", "json"] = "yaml",
                    name: str = "catalogue file") -> Catalogue:
    """Validate a catalogue given as text; raise CatalogueFileError listing every problem."""
    raw: Any = None
    try:
        if fmt == "json":
            raw = json.loads(text)  # strict JSON syntax and JSON's own values (PyYAML reads 1e5 as text)
            text = text.replace("\t", " ")  # PyYAML, used for positions only, refuses tabs; same width
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except json.JSONDecodeError as error:
        raise CatalogueFileError([str(_Located(error.lineno, error.colno, error.msg))], name) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        found = _Located(mark.line + 1, mark.column + 1, str(error.problem or error.context)) if mark \
            else _Located(1, None, str(error))
        raise CatalogueFileError([str(found)], name) from None
    if root is None:
        raise CatalogueFileError([str(_Located(1, None, "The file holds no catalogue."))], name)
    reader = _Reader(root)
    catalogue, problems = _validate(raw if fmt == "json" else reader.value)
    located = reader.problems + [_locate(path, reader.marks, message) for path, message in problems]
    if catalogue is None or located:
        located.sort(key=lambda problem: (problem.line, problem.column or 0))
        raise CatalogueFileError([str(problem) for problem in located], name)
    return catalogue


def load_catalogue(path: str | os.PathLike[str]) -> Catalogue:
    """Read a catalogue file (`.json` as JSON, anything else as YAML) and validate all of it."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise CatalogueFileError([f"line {line}: Not UTF-8 text."], str(path)) from None
    return parse_catalogue(text, "json" if path.suffix.lower() == ".json" else "yaml", str(path))
