"""The provisioning spec as data: the only place spec facts live.

Status codes, cipher-suite numbers, default delays, User-Agent grammars, the CN
rule and syslog templates are read from the TOML files beside this module
(`data/` for the seeds' tables, `families/` for one file per device family).
No sockets, no clocks and no judging here: rules live in `harness.rules`.
"""

from harness.spec.catalog import Requirement, catalog, requirement
from harness.spec.ciphers import TABLE_3_2, cipher_suite_name, is_grease, is_signalling
from harness.spec.family import Family, FamilyError, family_names, load_family
from harness.spec.status_table import Action, StatusRow, status_row, transport_row

__all__ = [
    "TABLE_3_2",
    "Action",
    "Family",
    "FamilyError",
    "Requirement",
    "StatusRow",
    "catalog",
    "cipher_suite_name",
    "family_names",
    "is_grease",
    "is_signalling",
    "load_family",
    "requirement",
    "status_row",
    "transport_row",
]
