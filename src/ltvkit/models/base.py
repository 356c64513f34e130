"""Shared machinery of the models: maximum likelihood on compressed data, standard errors, parameter draws.

A model subclass declares its parameter names, the data columns its likelihood needs, and implements
``_log_likelihood(params, **columns)`` (one value per row). This base class

- compresses the data: identical rows are merged and carry a weight, so fitting costs the same for 10^3
  or 10^7 customers once the number of distinct rows stops growing;
- maximises the weighted log-likelihood over log-parameters (all parameters are positive) with L-BFGS-B,
  using the model's analytic gradient, plus the log of a weakly informative prior when the data are thin
  (``regularization``, :mod:`ltvkit.models.priors`: a maximum a posteriori fit);
- takes the observed information (the Hessian of the negative log-likelihood at the optimum, by central
  differences of the gradient; with a prior, plus the prior's) for the covariance, standard errors and Wald
  intervals;
- draws parameter vectors from the asymptotic normal of the log-parameters, for prediction intervals.

Fitters take a pandas DataFrame or an Ibis table (compressed in its engine, only the distinct rows come
back).
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeAlias, get_args

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from ltvkit.choices import TimeUnit
from ltvkit.errors import (
    ConvergenceError,
    InputError,
    NotFittedError,
    ParameterError,
    WeakIdentificationWarning,
)
from ltvkit.i18n import Note
from ltvkit.models.data import Columns, as_arrays
from ltvkit.models.priors import (
    Prior,
    Reason,
    Regularization,
    RegularizationSetting,
    check_setting,
    is_thin,
    prior_for,
)

LOG_BOUNDS = (-18.0, 18.0)  # parameters between about 1.5e-8 and 6.6e7: beyond, the data cannot tell
EXTREME = (
    1e6  # a parameter beyond 10^±6 is at a limit of the model (e.g. no visible drop-out), not an estimate
)
FLAT_INFORMATION = 1.0  # information below this along a direction: a log-standard error above 1 there
HOW_OFTEN = "meaning_how_often"  # the i18n keys of what parameters describe, for the notes
STOP_BUYING = "meaning_stop_buying"
LOADING = 0.3  # a parameter takes part in a direction when its share of the eigenvector exceeds this


@dataclass(frozen=True)
class Identification:
    """How well the data pin down a fit's parameters, judged at the estimate from the observed information
    of the log-parameters (``information``, the Hessian of the negative log-likelihood).

    A parameter is weakly identified when

    - it sits at the edge of the allowed range or beyond 10^±6 (the likelihood keeps improving towards a limit
      of the model: a ridge or a boundary, wherever along it the optimiser happened to stop);
    - it takes part (loading above :data:`LOADING`) in an eigen-direction of the information whose
      eigenvalue is below :data:`FLAT_INFORMATION`: there the log-likelihood changes by less than 1/2 when
      the log-parameters move by 1, i.e. its standard error exceeds the estimate itself; a zero or negative
      eigenvalue (a flat or saddle-shaped likelihood, a Hessian that is not positive-definite) is the
      extreme case. Looking at the eigenvalues rather than the diagonal finds a ridge along which two
      parameters trade off, though each alone looks well determined.

    ``eigenvalues`` and ``condition`` (largest over smallest absolute eigenvalue) are kept for reporting.
    """

    weak: tuple[str, ...]
    reasons: tuple[str, ...]
    eigenvalues: tuple[float, ...]
    condition: float

    @classmethod
    def of(cls, names: tuple[str, ...], log_params: np.ndarray, information: np.ndarray) -> Identification:
        weak: dict[str, None] = {}
        reasons = []
        for name, value in zip(names, log_params, strict=True):
            at_edge = min(abs(value - LOG_BOUNDS[0]), abs(value - LOG_BOUNDS[1])) < 1e-3
            if at_edge or abs(value) > np.log(EXTREME):
                weak[name] = None
                reasons.append(f"{name} = {np.exp(value):.3g} is at a limit of the model")
        if not np.all(np.isfinite(information)):
            return cls(tuple(names), (*reasons, "the information matrix is not finite"), (), float("inf"))
        values, vectors = np.linalg.eigh(information)
        for value, vector in zip(values, vectors.T, strict=True):
            if value < FLAT_INFORMATION:
                involved = [n for n, v in zip(names, vector, strict=True) if abs(v) > LOADING]
                weak.update(dict.fromkeys(involved))
                shape = "flat" if abs(value) < 1e-9 else ("not convex" if value < 0 else "almost flat")
                reasons.append(
                    f"the likelihood is {shape} along {' and '.join(involved)} (eigenvalue {value:.3g})"
                )
        magnitude = np.abs(values)
        condition = float(magnitude.max() / magnitude.min()) if magnitude.min() > 0 else float("inf")
        ordered = tuple(n for n in names if n in weak)
        return cls(ordered, tuple(reasons), tuple(float(v) for v in values), condition)

    def to_dict(self) -> dict[str, Any]:
        return {"weak": list(self.weak), "reasons": list(self.reasons), "condition": self.condition}


Data: TypeAlias = pd.DataFrame | ir.Table


def as_frame(data: Data, columns: tuple[str, ...]) -> pd.DataFrame:
    """``data`` as a DataFrame: a DataFrame as it is, an Ibis table compressed where it lives to the distinct
    rows of ``columns`` with a ``weight`` (the sum of its ``weight`` column, or the number of rows)."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, ir.Table):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise InputError(f"the table has no column {', '.join(missing)}")
        weight = data.weight.sum() if "weight" in data.columns else data.count()
        return data.group_by(list(columns)).aggregate(weight=weight.cast("float64")).execute()
    raise InputError(f"fit takes a pandas DataFrame or an Ibis table, not {type(data).__name__}")


def compress(
    data: pd.DataFrame, columns: tuple[str, ...], weights: pd.Series | np.ndarray | None = None
) -> pd.DataFrame:
    """Distinct rows of ``columns`` with a ``weight`` column (the number of rows, or the sum of
    ``weights``)."""
    frame = data[list(columns)].copy()
    frame["weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    return frame.groupby(list(columns), sort=True, as_index=False)["weight"].sum()


class BaseModel:
    """Template for a maximum-likelihood model. See the module docstring."""

    _param_names: ClassVar[tuple[str, ...]] = ()
    _data_columns: ClassVar[tuple[str, ...]] = ()
    _initial: ClassVar[tuple[float, ...]] = ()
    _label: ClassVar[str] = "model_name_generic"  # the i18n key of the model's name
    _param_meanings: ClassVar[dict[str, str]] = {}  # what each parameter describes, for the notes

    def __init__(
        self, *, regularization: RegularizationSetting = "auto", tol: float = 1e-9, max_iter: int = 5000
    ) -> None:
        self.regularization = regularization
        self.tol = tol
        self.max_iter = max_iter

    # --- to be provided by a model --------------------------------------------------------------------------

    _log_likelihood: Callable[..., np.ndarray]
    """``(params, **columns)``: the log-likelihood of each row."""

    _gradient: Callable[..., np.ndarray]
    """``(params, **columns)``: the analytic gradient of each row's log-likelihood w.r.t. the parameters,
    shape (rows, params)."""

    def _validate(self, data: pd.DataFrame) -> None:
        """Raise :class:`InputError` for data the model cannot use."""

    def _prepare(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Data as ``_log_likelihood`` takes it during fitting (a model may add precomputed levels)."""
        return arrays

    # --- fitting ----------------------------------------------------------------------------------------

    def fit(self, data: Data, *, weights: pd.Series | np.ndarray | None = None) -> Self:
        """Fit to ``data`` (one row per customer, or compressed rows with ``weights`` or a ``weight`` column;
        a DataFrame or an Ibis table) by maximum likelihood, or maximum a posteriori with the priors of
        :mod:`ltvkit.models.priors` as ``regularization`` says ("auto": when the data are thin).

        Sets ``params_``, ``standard_errors_``, ``covariance_``, ``log_likelihood_`` (of the data, at the
        estimate), ``n_customers_``, ``n_distinct_``, ``regularization_`` (:class:`Regularization`: whether
        the priors were used and why) and ``identification_`` (:class:`Identification`, of the data alone:
        what the likelihood cannot pin down is then set by the prior); warns with
        :class:`~ltvkit.errors.WeakIdentificationWarning` when the data cannot pin the parameters down.

        The BLAS runs on one thread here: the matrices are small, and a thread pool splits the weighted sums
        differently from run to run, so that two fits of the same data stopped ulps apart (and is slower
        when the machine is busy).
        """
        check_setting(self.regularization)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(as_frame(data, self._data_columns), weights)

    def _fit(self, data: pd.DataFrame, weights: pd.Series | np.ndarray | None) -> Self:
        table, arrays, w = self._fitting_data(data, weights)
        customers, informative = self._evidence(table)
        prior = prior_for(self, arrays, w)
        setting = self.regularization
        reason: Reason
        if setting == "auto":
            thin = is_thin(customers, informative)
            weight, reason = (1.0, "thin_data") if thin else (0.0, "enough_data")
        elif setting == "none":
            weight, reason = 0.0, "off"
        else:
            weight, reason = float(setting), ("asked" if float(setting) > 0 else "off")
        log_params = self._optimise(arrays, w, prior, weight)
        if setting == "auto" and weight == 0 and np.any(np.abs(log_params) > np.log(EXTREME) - 1e-9):
            weight, reason = 1.0, "at_limit"  # the plain fit ran to a limit of the model
            log_params = self._optimise(arrays, w, prior, weight)
        self.regularization_ = Regularization(weight, reason, float(customers), float(informative))
        params = np.exp(log_params)
        self.params_ = pd.Series(params, index=list(self._param_names), dtype=float)
        self.log_likelihood_ = float(w @ self._log_likelihood(params, **arrays))
        self.n_customers_ = float(w.sum())
        self.n_distinct_ = len(table)
        information = self._information(log_params, arrays, w)
        self.identification_ = Identification.of(self._param_names, log_params, information)
        self._set_covariance(information + weight * prior.precision, floor=not weight)
        if self.identification_.weak:
            warnings.warn(self._weak_identification_note(), WeakIdentificationWarning, stacklevel=3)
        return self

    def _optimise(self, arrays: dict[str, Any], w: np.ndarray, prior: Prior, weight: float) -> np.ndarray:
        """The log-parameters maximising the mean log-likelihood less ``weight`` × the prior's penalty per
        customer (L-BFGS-B within :data:`LOG_BOUNDS`)."""
        total = w.sum()

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(log_params)
            penalty, penalty_grad = prior.penalty(log_params)
            with np.errstate(all="ignore"):
                value = (-(w @ self._log_likelihood(params, **arrays)) + weight * penalty) / total
                if not np.isfinite(value):
                    return 1e100, np.zeros_like(log_params)
                grad = (-(w @ self._gradient(params, **arrays)) * params + weight * penalty_grad) / total
            return float(value), np.nan_to_num(grad)

        start = prior.centre if weight > 0 else np.log(np.asarray(self._initial, dtype=float))
        result = optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=self._log_bounds(),
            options={"maxiter": self.max_iter, "ftol": self.tol * 1e-3, "gtol": self.tol},
        )
        if not np.all(np.isfinite(result.x)) or (not result.success and result.nit >= self.max_iter):
            raise ConvergenceError(
                f"{type(self).__name__} did not converge ({result.message}); try regularization=1 (or "
                f"more) or check the data summary for extreme values",
                result,
            )
        return np.asarray(result.x, dtype=float)

    def _evidence(self, table: pd.DataFrame) -> tuple[float, float]:
        """Customers in the compressed ``table`` and the informative ones among them: who bought again
        (``frequency`` > 0), who cancelled (``churned``), or all."""
        w = table["weight"].to_numpy(dtype=float)
        if "churned" in table.columns:
            return w.sum(), w[table["churned"].to_numpy() == 1].sum()
        if "frequency" in table.columns:
            return w.sum(), w[table["frequency"].to_numpy() > 0].sum()
        return w.sum(), w.sum()

    def _log_bounds(self) -> list[tuple[float, float]]:
        """Bounds of the log-parameters during fitting (a model narrows one for a constraint)."""
        return [LOG_BOUNDS] * len(self._param_names)

    def _fitting_data(
        self, data: pd.DataFrame, weights: pd.Series | np.ndarray | None
    ) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray]:
        """The data checked and compressed to distinct rows: the table, the arrays ``_log_likelihood`` takes,
        and the rows' weights."""
        missing = [c for c in self._data_columns if c not in data.columns]
        if missing:
            raise InputError(f"{type(self).__name__} needs columns {', '.join(missing)}")
        if weights is None and "weight" in data.columns:
            weights = data["weight"]
        self._validate(data)
        table = compress(data, self._data_columns, weights)
        table = table[table["weight"] > 0]
        if table.empty:
            raise InputError(f"{type(self).__name__} has no data to fit")
        arrays = self._prepare({c: table[c].to_numpy(dtype=float) for c in self._data_columns})
        return table, arrays, table["weight"].to_numpy()

    def check_identification(
        self, data: Data, *, weights: pd.Series | np.ndarray | None = None
    ) -> Identification:
        """How well ``data`` pin down the model's parameters at their current values (fitted, or set with
        :meth:`from_params`): :class:`Identification` at that point, without fitting."""
        _, arrays, w = self._fitting_data(as_frame(data, self._data_columns), weights)
        log_params = np.log(self._p)
        return Identification.of(self._param_names, log_params, self._information(log_params, arrays, w))

    def log_likelihood(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """The log-likelihood of each row (a customer's history) under the current parameters, from ``data``
        or the model's data columns as keyword arguments; its weighted sum at the fit is
        ``log_likelihood_``."""
        self._check_fitted()
        values = as_arrays(data, columns, self._data_columns)
        shape = values[0].shape
        frame = pd.DataFrame({c: v.ravel() for c, v in zip(self._data_columns, values, strict=True)})
        self._validate(frame)
        arrays = self._prepare({c: frame[c].to_numpy(dtype=float) for c in self._data_columns})
        return np.asarray(self._log_likelihood(self._p, **arrays)).reshape(shape)

    def _information(self, log_params: np.ndarray, arrays: dict[str, Any], w: np.ndarray) -> np.ndarray:
        """Observed information in log-parameters: the Hessian of the total negative log-likelihood at the
        estimate, by central differences of its gradient, symmetrised."""

        def total_gradient(lp: np.ndarray) -> np.ndarray:
            params = np.exp(lp)
            return -(w @ self._gradient(params, **arrays)) * params

        k = len(log_params)
        hessian = np.empty((k, k))
        for j in range(k):
            step = np.zeros(k)
            step[j] = 1e-4 * max(1.0, abs(log_params[j]))
            hessian[:, j] = (total_gradient(log_params + step) - total_gradient(log_params - step)) / (
                2 * step[j]
            )
        return (hessian + hessian.T) / 2

    def _set_covariance(self, information: np.ndarray, *, floor: bool = True) -> None:
        """Covariance of the log-parameters, the inverse of the information, taken through its eigenvalues so
        that it is symmetric positive-definite by construction: along a direction the data cannot pin down
        (information below :data:`FLAT_INFORMATION`, including a flat or negative curvature), the variance
        is capped at 1/FLAT_INFORMATION, so that parameter draws stay finite; such a fit is reported as weakly
        identified (``identification_``) and its standard errors as unknown. With a prior (``floor`` off) the
        information includes the prior's, so the posterior spread is used as it is (the eigenvalues are
        still kept positive). The natural-scale covariance follows by the delta method."""
        values, vectors = np.linalg.eigh(information)
        cov_log = (vectors / np.maximum(values, FLAT_INFORMATION if floor else 1e-6)) @ vectors.T
        params = self.params_.to_numpy()
        names = list(self._param_names)
        self._cov_log = cov_log
        self.covariance_ = pd.DataFrame(cov_log * np.outer(params, params), index=names, columns=names)
        se = np.sqrt(np.diag(self.covariance_))
        weak = np.isin(names, self.identification_.weak)
        self.standard_errors_ = pd.Series(np.where(weak, np.nan, se), index=names)

    def _weak_identification_note(self) -> Note:
        """The weak identification in words a marketer reads: what the data cannot tell, and what follows."""
        weak = self.identification_.weak
        known = sorted({self._param_meanings[name] for name in weak if name in self._param_meanings})
        unknown = [name for name in weak if name not in self._param_meanings]
        meanings = [Note(key) for key in known] + [Note("meaning_parameter", name=n) for n in unknown]
        what = functools.reduce(lambda a, b: Note("note_or", a=a, b=b), meanings)
        values = [Note("note_param_value", name=name, value=float(self.params_[name])) for name in weak]
        return Note(
            "note_weak_one" if len(weak) == 1 else "note_weak_many",
            model=Note(self._label),
            what=what,
            values=values,
            consequence=self._weak_consequence(),
        )

    def _weak_consequence(self) -> Note:
        """What a weakly identified fit means for its predictions, in plain words."""
        regularized = getattr(self, "regularization_", None) is not None and self.regularization_.applied
        return Note("note_weak_prior" if regularized else "note_weak_rough")

    # --- fitted state ------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit() or from_params() first"
            )

    @property
    def _p(self) -> np.ndarray:
        self._check_fitted()
        return self.params_.to_numpy()

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """A model with given parameters (no data, no standard errors), e.g. for simulation or what-if."""
        names = set(cls._param_names)
        if set(params) != names:
            raise ParameterError(f"{cls.__name__} takes parameters {', '.join(cls._param_names)}")
        bad = {k: v for k, v in params.items() if not (np.isfinite(v) and v > 0)}
        if bad:
            raise ParameterError(f"{cls.__name__} parameters must be positive and finite: {bad}")
        model = cls()
        model.params_ = pd.Series([float(params[n]) for n in cls._param_names], index=list(cls._param_names))
        return model

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals (Wald on the log scale, so they stay positive), and
        whether the data pin each parameter down (``identified``); a weakly identified parameter has no
        standard error or interval (NaN): its uncertainty is not known."""
        self._check_fitted()
        out = pd.DataFrame({"estimate": self.params_})
        if hasattr(self, "standard_errors_"):
            log_se = np.sqrt(np.clip(np.diag(self._cov_log), 0, None))
            known = self.standard_errors_.notna()
            out["standard_error"] = self.standard_errors_
            out["lower_95"] = (self.params_ * np.exp(-1.96 * log_se)).where(known)
            out["upper_95"] = (self.params_ * np.exp(1.96 * log_se)).where(known)
            out["identified"] = ~self.params_.index.isin(self.identification_.weak)
        return out

    @property
    def log_covariance_(self) -> np.ndarray:
        """Covariance of the log-parameters (see :meth:`_set_covariance`); only a fitted model has one."""
        self._check_fitted()
        if not hasattr(self, "_cov_log"):
            raise NotFittedError("intervals need a fitted model (from_params() has no uncertainty)")
        return np.asarray(self._cov_log)

    def sample_params(self, n: int, random_state: int | np.random.Generator | None = None) -> np.ndarray:
        """``n`` parameter vectors drawn from the asymptotic normal of the log-parameters, shape (n, k)."""
        self._check_fitted()
        if not hasattr(self, "_cov_log"):
            raise NotFittedError("parameter draws need a fitted model (from_params() has no uncertainty)")
        rng = np.random.default_rng(random_state)
        return np.exp(rng.multivariate_normal(np.log(self._p), self._cov_log, size=n, method="eigh"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (model, parameters, standard errors, log-likelihood)."""
        self._check_fitted()
        out: dict[str, Any] = {"model": type(self).__name__, "params": self.params_.to_dict()}
        if hasattr(self, "standard_errors_"):
            out |= {
                "standard_errors": {
                    k: (None if np.isnan(v) else float(v)) for k, v in self.standard_errors_.items()
                },
                "identification": self.identification_.to_dict(),
                "log_covariance": np.asarray(self._cov_log).tolist(),
                "log_likelihood": self.log_likelihood_,
                "n_customers": self.n_customers_,
            }
        if hasattr(self, "regularization_"):
            out["regularization"] = self.regularization_.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        model = cls.from_params(**data["params"])
        if "log_covariance" in data:
            model._cov_log = np.asarray(data["log_covariance"])
            names = list(cls._param_names)
            p = model._p
            model.covariance_ = pd.DataFrame(model._cov_log * np.outer(p, p), index=names, columns=names)
            errors = data["standard_errors"]
            model.standard_errors_ = pd.Series([errors[n] for n in names], index=names, dtype=float)
            found = data.get("identification", {})
            model.identification_ = Identification(
                tuple(found.get("weak", ())), tuple(found.get("reasons", ())), (), found.get("condition", 1.0)
            )
            model.log_likelihood_ = data["log_likelihood"]
            model.n_customers_ = data["n_customers"]
        if "regularization" in data:
            found = data["regularization"]
            model.regularization_ = Regularization(
                found["weight"], found["reason"], found["customers"], found["informative"]
            )
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}()"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({params})"

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _checked_unit(unit: TimeUnit | None) -> TimeUnit | None:
    if unit is not None and unit not in get_args(TimeUnit):
        raise ParameterError(f"unknown time unit {unit!r}; use day, week or month")
    return unit


class PurchaseModel(BaseModel):
    """A model of repeat purchases in continuous time (BG/NBD, MBG/NBD, Pareto/NBD), fitted on a per-customer
    summary with ``frequency`` (x, repeat purchases), ``recency`` (t_x) and ``T``, all in one time unit, and
    predicting in that unit."""

    _data_columns = ("frequency", "recency", "T")
    _param_meanings: ClassVar[dict[str, str]] = {"r": HOW_OFTEN, "alpha": HOW_OFTEN}

    def __init__(
        self,
        *,
        unit: TimeUnit | None = None,
        regularization: RegularizationSetting = "auto",
        tol: float = 1e-9,
        max_iter: int = 5000,
    ) -> None:
        """``unit``: the time unit of ``recency`` and ``T`` in the data (day, week or month), so that
        predictions asked in another unit are converted (:func:`ltvkit.predict.clv.customer_value`); None
        leaves it to the caller to say."""
        super().__init__(regularization=regularization, tol=tol, max_iter=max_iter)
        self.unit = _checked_unit(unit)

    @classmethod
    def from_params(cls, **params: Any) -> Self:
        """A model with given parameters, and ``unit``: the time unit of its parameters (see
        :meth:`__init__`)."""
        unit = params.pop("unit", None)
        model = super().from_params(**params)
        model.unit = _checked_unit(unit)
        return model

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"unit": self.unit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        model = super().from_dict({k: v for k, v in data.items() if k != "unit"})
        model.unit = data.get("unit")
        return model

    def probability_alive(self, data: pd.DataFrame | None = None, **columns: Columns) -> np.ndarray:
        """P(alive | x, t_x, T): the probability that each customer has not dropped out."""
        raise NotImplementedError

    def expected_purchases(
        self, t: float | np.ndarray, data: pd.DataFrame | None = None, **columns: Columns
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in the next ``t`` time units."""
        raise NotImplementedError

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)]: expected repeat purchases by time ``t`` of a customer who has just made a first
        purchase."""
        raise NotImplementedError

    def probability_of_n_purchases(self, t: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
        """P(X(t) = n): the probability that a customer who has just made a first purchase makes exactly
        ``n`` repeat purchases by time ``t`` (broadcast over ``t`` and ``n``)."""
        raise NotImplementedError
