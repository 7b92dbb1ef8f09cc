"""The project's own exception types, and how a value is quoted in an error message.

Every error a user can fix (a model file, a scheme, a name, a command-line option) is a
:class:`TinybenchError` whose message names the file, field or option and the problem. The
command line prints these as one line and exits with status 2; any other exception is a
bug in tinybench and keeps its traceback. Each stage defines its own subclasses beside the
code that raises them (``ModelFormatError`` in ``models/container.py``, ``SchemeError`` in
``graph/schemes.py``, ...).
"""

from __future__ import annotations

import reprlib
from typing import Any


class TinybenchError(Exception):
    """An error in what the user gave tinybench; the message says what and where."""


_QUOTE = reprlib.Repr()
_QUOTE.maxstring = 60
_QUOTE.maxother = 60
_QUOTE.maxlevel = 3
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque", "maxarray"):
    setattr(_QUOTE, _attr, 6)


def quote(value: Any) -> str:
    """A short ``repr`` of an untrusted value for an error message: long strings, big
    containers and deep nesting are cut (``'xxxx...xxx'``, ``[[[...]]]``), so a hostile
    50 MB field gives a one-line error, and a 200,000-deep list no RecursionError."""
    try:
        return _QUOTE.repr(value)
    except Exception:  # a value whose repr fails is still described by its type
        return f"<{type(value).__name__}>"
