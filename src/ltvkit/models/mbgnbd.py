"""MBG/NBD: the modified BG/NBD model.

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). "Empirical validation and comparison of models for
customer base analysis." International Journal of Research in Marketing 24(3), 201–209.

As BG/NBD, except that a customer may also drop out right after the first purchase, so customers with no
repeat purchase are not assumed alive::

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))

The computations are those of :class:`~ltvkit.models.bgnbd.BetaGeoModel` with ``x + 1`` in the beta terms.
"""

from __future__ import annotations

from ltvkit.models.bgnbd import BetaGeoModel


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD model; the same interface as :class:`~ltvkit.models.bgnbd.BetaGeoModel`."""

    _shift = 1
    _label = "model_name_mbgnbd"
