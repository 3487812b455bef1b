"""Preference rules: opt-out versus legally required notices, and missing addresses."""
import pytest

from notify.domain.preferences import DEFAULT, Preferences, channels_for
from notify.domain.templates import LEGALLY_REQUIRED, TEMPLATES

PHONE, EMAIL = "0912345678", "an@example.vn"
OPTIONAL = sorted(set(TEMPLATES) - LEGALLY_REQUIRED)
SMS_ONLY = Preferences(channels=frozenset({"sms"}))
OPTED_OUT = Preferences(opted_out=True)


def test_default_is_both_channels_vietnamese_not_opted_out():
    assert DEFAULT == Preferences(frozenset({"sms", "email"}), "vi", False)
    assert channels_for(DEFAULT, "result_ready", PHONE, EMAIL) == ["sms", "email"]


@pytest.mark.parametrize("template_id", sorted(LEGALLY_REQUIRED))
def test_legally_required_notices_ignore_opt_out(template_id):
    assert channels_for(OPTED_OUT, template_id, PHONE, EMAIL) == ["sms", "email"]
    assert channels_for(Preferences(frozenset({"email"}), opted_out=True), template_id, PHONE, EMAIL) == ["email"]


@pytest.mark.parametrize("template_id", OPTIONAL)
def test_other_notices_respect_opt_out(template_id):
    assert channels_for(OPTED_OUT, template_id, PHONE, EMAIL) == []
    assert channels_for(SMS_ONLY, template_id, PHONE, EMAIL) == ["sms"]


def test_legally_required_falls_back_to_any_channel_with_an_address():
    assert channels_for(SMS_ONLY, "receipt", None, EMAIL) == ["email"]
    assert channels_for(Preferences(frozenset({"email"}), opted_out=True), "apology", PHONE, " ") == ["sms"]


def test_other_notices_do_not_fall_back():
    assert channels_for(SMS_ONLY, "result_shipped", None, EMAIL) == []


def test_only_channels_with_an_address():
    assert channels_for(DEFAULT, "refusal", None, None) == []
    assert channels_for(DEFAULT, "result_ready", "", EMAIL) == ["email"]
    assert channels_for(DEFAULT, "pickup_booked", PHONE, None) == ["sms"]


def test_english_is_accepted_and_bad_preferences_are_refused():
    assert Preferences(language="en").language == "en"
    with pytest.raises(ValueError):
        Preferences(channels=frozenset())
    with pytest.raises(ValueError):
        Preferences(channels=frozenset({"fax"}))
    with pytest.raises(ValueError):
        Preferences(language="fr")


def test_unknown_template_is_refused():
    with pytest.raises(ValueError, match="unknown template"):
        channels_for(DEFAULT, "newsletter", PHONE, EMAIL)
