"""Personal data by shape (e-mail addresses, phone numbers), and its redaction from the text the
platform shows people: a contract check's failure sample, a rejected row's reason.

A failing value is shown so its owner can fix the rule or the source; a value whose shape is
personal (an address typed into the country field) is shown as ``REDACTED`` instead. Names have
no shape: the values of a personal (``pii``) column are withheld whole.
"""

from __future__ import annotations

import polars as pl

EMAIL_SHAPE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_SHAPE = r"\+[1-9][0-9 ()-]{7,}[0-9]"
REDACTED = "<personal value redacted>"
WITHHELD = "<value of a personal column withheld>"
_PERSONAL_SHAPES = f"{EMAIL_SHAPE}|{PHONE_SHAPE}"


def redacted(values: pl.Expr) -> pl.Expr:
    """The string expression with every e-mail address and phone number replaced by ``REDACTED``."""
    return values.str.replace_all(_PERSONAL_SHAPES, REDACTED)
