from marshmallow import RAISE, Schema


class StrictSchema(Schema):
    """Unknown fields are refused on input, never silently dropped."""

    class Meta:
        unknown = RAISE
