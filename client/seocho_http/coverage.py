"""Which HTTP route carries each contract transaction, and why the others have none (yet).

Generated from the declarations in `seocho.operations`, which a test holds to the contract's metadata: a
transaction added to the contract fails it until it is declared with a route or a reason to have none.
"""

from __future__ import annotations

from seocho.operations import TRANSACTIONS, NotOffered, Resident, Route


def _exposures() -> tuple[tuple[str, ...], dict[str, tuple[str, str]], dict[str, str]]:
    residents: list[str] = []
    terminals: dict[str, tuple[str, str]] = {}
    excluded: dict[str, str] = {}
    for declared in TRANSACTIONS:
        if isinstance(declared.http, NotOffered):
            excluded[declared.name] = declared.http.reason
            continue
        for exposure in declared.http:
            if isinstance(exposure, Resident):
                residents.append(declared.name)
            elif isinstance(exposure, Route):
                terminals[declared.name] = (exposure.method, exposure.path)
    return tuple(residents), terminals, excluded


RESIDENT_OPERATIONS, TERMINAL_ROUTES, EXCLUDED = _exposures()
"""Residents sign these themselves (`POST /v1/proposals` with `operation.name` = the transaction);
terminals' routes (the service signs as the terminal's staff identity); the reasons of the others."""
