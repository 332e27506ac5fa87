"""Parameter types shared by the `seocho` commands."""

import click

positive = click.IntRange(min=1)
non_negative = click.IntRange(min=0)
