"""Probabilistic customer-value models, one module a model, sharing :mod:`ltvkit.models.base`."""

from ltvkit.models.bgbb import BetaGeoBetaBinomModel
from ltvkit.models.bgnbd import BetaGeoModel
from ltvkit.models.gamma_gamma import GammaGammaModel
from ltvkit.models.mbgnbd import ModifiedBetaGeoModel
from ltvkit.models.pareto_nbd import ParetoNBDModel
from ltvkit.models.sbg import ShiftedBetaGeometricModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeometricModel",
]
