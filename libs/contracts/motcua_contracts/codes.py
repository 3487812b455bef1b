"""The agency code (QCVN 102:2016 `V1V2V3.Z1Z2.Y1Y2.Hxx`) and the dossier code (Circular 01/2018/TT-VPCP
art. 19: `{agency code}-{yymmdd}-{daily sequence}`), spelt once: the contracts, the catalogue file,
motcua.dossier_code and the broker's department permissions all check against these.

Plain regular expressions without named groups or look-arounds, so the OpenAPI and AsyncAPI
documents can carry them as JSON Schema patterns.
"""

AGENCY_CODE_REGEX = r"[0-9]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}"
# The sequence: exactly four digits, or five and more without a leading zero (past 9999), so each
# (agency, day, sequence) has exactly one spelling.
DOSSIER_CODE_REGEX = rf"({AGENCY_CODE_REGEX})-([0-9]{{6}})-([0-9]{{4}}|[1-9][0-9]{{4,}})"
