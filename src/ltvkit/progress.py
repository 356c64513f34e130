"""Progress of a long step (an import, a fit, a report), told to whoever shows it.

The core reports what it is doing with :func:`step`; an edge that shows progress (the CLI's bar on a
terminal, the web app's job) wraps the call in :func:`reporting` with its callback. The callback travels in a
context variable rather than as a parameter of every function on the way, so a step deep down (one model of a
comparison, one language of a report) reports without each layer in between passing it on; nothing is
reported outside a :func:`reporting` block, and each thread starts with none.

A callback is called as ``callback(stage, done, total)``: ``stage`` names the step (an identifier, with a
detail after a colon such as ``"fit:paretonbd"`` or ``"render:ru"``, so an edge can write it in its reader's
language), ``done`` of ``total`` parts are finished (``total`` 0: not known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Callback = Callable[[str, int, int], None]

_CURRENT: ContextVar[Callback | None] = ContextVar("ltvkit_progress", default=None)


@contextmanager
def reporting(callback: Callback | None) -> Iterator[None]:
    """Send the :func:`step` reports made inside the block to ``callback`` (None: to nobody)."""
    token = _CURRENT.set(callback)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> Callback | None:
    """The callback of the enclosing :func:`reporting` block, for a function that takes one as a parameter."""
    return _CURRENT.get()


def step(stage: str, done: int = 0, total: int = 0) -> None:
    """Report that ``stage`` has started, ``done`` of ``total`` parts finished (``total`` 0: not known)."""
    callback = _CURRENT.get()
    if callback is not None:
        callback(stage, done, total)
