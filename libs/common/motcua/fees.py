"""The fees of a procedure as a dossier's channel sees them: one rule for intake's receipt and
postal's collection on the agency's behalf.

`fees` are a procedure version's fee schedule (motcua_contracts.catalog.FeeSchema, loaded):
each with `amount_vnd`, `online_amount_vnd` (a reduced fee for online filing, when any) and
`confirmed` (a source confirmed the amount).
"""


def channel_amount(fee: dict, channel: str) -> int | None:
    """The fee's amount for this channel; None where no confirmed amount is known."""
    online = fee.get("online_amount_vnd") if channel == "online" else None
    amount = online if online is not None else fee["amount_vnd"]
    return amount if fee["confirmed"] else None


def fees_due(fees: list[dict], channel: str) -> int | None:
    """What the receipt can promise for this channel; None leaves it to the agency's payment request.

    A catalogue's fee list mixes alternatives (on time / late registration) with charges
    that add up (a fee plus an appraisal charge) and does not say which is which, so only
    an unambiguous amount is stated: no fee, a single fee, or several that are all zero.
    An amount that is null or unconfirmed is never stated.
    """
    amounts = []
    for fee in fees:
        amount = channel_amount(fee, channel)
        if amount is None:
            return None
        amounts.append(amount)
    if not any(amounts):
        return 0
    return amounts[0] if len(amounts) == 1 else None


def fee_schedule(fees: list[dict], channel: str) -> list[dict]:
    """Each fee of the schedule with its amount for this channel; null where no confirmed amount is known."""
    return [{"code": fee["code"], "name": fee["name"], "amount_vnd": channel_amount(fee, channel)} for fee in fees]
