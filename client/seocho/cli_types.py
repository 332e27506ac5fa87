"""Parameter types shared by the `seocho` commands."""

from __future__ import annotations

import click

from seocho.errors import BadRequestError
from seocho.i18n import _


class WholeNumber(click.ParamType):
    """A whole number of coins, units or KRW of at least `minimum`.

    Text that is no number is a usage error (exit 2); a number out of range ("-3", "0" coins) is a bad
    request (exit 3), as the chaincode would answer it.
    """

    name = "integer"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(_("{value!r} is not a whole number").format(value=value), param, ctx)
        if number < self.minimum:
            what = param.human_readable_name if param is not None else _("the number")
            raise BadRequestError(
                400,
                _("{what} must be a whole number of at least {minimum}, got {value}").format(
                    what=what, minimum=self.minimum, value=number
                ),
            )
        return number


positive = WholeNumber(1)
non_negative = WholeNumber(0)
