"""Reports for city leaders: the on-time rate by the national rule, and the national export."""
from marshmallow import ValidationError, fields, validate, validates_schema

from motcua_contracts.base import StrictSchema


class ReportQuerySchema(StrictSchema):
    """A period of local (Asia/Ho_Chi_Minh) dates, both included."""

    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to", metadata={"description": "On or after `from`."})
    group_by = fields.String(load_default="agency", validate=validate.OneOf(("agency", "procedure", "city")))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["date_to"] < data["date_from"]:
            raise ValidationError("Before 'from'.", "to")


class OnTimeRowSchema(StrictSchema):
    key = fields.String(required=True)  # the agency's or the procedure's code, or "city"
    # What people read: the procedure's name (status keeps it), the agency's (the gateway adds it from the catalogue).
    name = fields.String(load_default=None, allow_none=True)
    received = fields.Integer(required=True)
    completed_on_time = fields.Integer(required=True)
    completed_late = fields.Integer(required=True)
    unfinished_late = fields.Integer(required=True)
    unfinished_on_time = fields.Integer(required=True)
    on_time_rate = fields.Float(load_default=None, allow_none=True)
    online_share = fields.Float(load_default=None, allow_none=True)
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class OnTimeReportSchema(StrictSchema):
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    group_by = fields.String(required=True)
    rows = fields.List(fields.Nested(OnTimeRowSchema), required=True)


class NationalFeeSchema(StrictSchema):
    TenPhiLePhi = fields.String(required=True)
    MaPhiLePhi = fields.String(required=True)
    Gia = fields.Integer(load_default=None, allow_none=True)


class NationalSyncRecordSchema(StrictSchema):
    """One dossier in the National Public Service Portal's synchronisation fields.

    Names as the national portal's dossier synchronisation uses them; dates are
    yyyyMMddHHmmss in Vietnam time; TrangThaiHoSo and KenhThucHien are the national codes.
    """

    MaHoSo = fields.String(required=True)
    MaTTHC = fields.String(required=True)
    TenTTHC = fields.String(required=True)
    DonViXuLy = fields.String(required=True)
    KenhThucHien = fields.Integer(required=True)
    NgayTiepNhan = fields.String(load_default=None, allow_none=True)
    NgayHenTra = fields.String(required=True)
    NgayKetThucXuLy = fields.String(load_default=None, allow_none=True)
    NgayTra = fields.String(load_default=None, allow_none=True)
    TrangThaiHoSo = fields.Integer(required=True)
    DanhSachLePhi = fields.List(fields.Nested(NationalFeeSchema), required=True)
