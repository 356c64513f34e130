"""Shared machinery of the models: maximum likelihood on compressed data, standard errors, parameter draws.

A model subclass declares its parameter names, the data columns its likelihood needs, and implements
``_log_likelihood(params, **columns)`` (one value per row). This base class

- compresses the data: identical rows are merged and carry a weight, so fitting costs the same for 10^3
  or 10^7 customers once the number of distinct rows stops growing;
- maximises the weighted log-likelihood over log-parameters (all parameters are positive) with L-BFGS-B,
  using the model's analytic gradient when it has one and central differences otherwise;
- takes the observed information (the Hessian of the negative log-likelihood at the optimum, by central
  differences of the gradient) for the covariance, standard errors and Wald intervals;
- draws parameter vectors from the asymptotic normal of the log-parameters, for prediction intervals.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize

from ltvkit.errors import ApproximationWarning, ConvergenceError, InputError, NotFittedError, ParameterError


LOG_BOUNDS = (-18.0, 18.0)  # parameters between about 1.5e-8 and 6.6e7: beyond, the data cannot tell


def compress(data: pd.DataFrame, columns: tuple[str, ...], weights: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Distinct rows of ``columns`` with a ``weight`` column (the number of rows, or the sum of ``weights``)."""
    frame = data[list(columns)].copy()
    frame["weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    return frame.groupby(list(columns), sort=True, as_index=False)["weight"].sum()


class BaseModel:
    """Template for a maximum-likelihood model. See the module docstring."""

    _param_names: ClassVar[tuple[str, ...]] = ()
    _data_columns: ClassVar[tuple[str, ...]] = ()
    _initial: ClassVar[tuple[float, ...]] = ()

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-9, max_iter: int = 5000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    # --- to be provided by a model --------------------------------------------------------------------------

    def _log_likelihood(self, params: np.ndarray, **data: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _gradient(self, params: np.ndarray, **data: np.ndarray) -> np.ndarray | None:
        """Per-row gradient of the log-likelihood w.r.t. the parameters, shape (rows, params); None if the
        model has no analytic gradient."""
        return None

    def _validate(self, data: pd.DataFrame) -> None:
        """Raise :class:`InputError` for data the model cannot use."""

    def _prepare(self, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        """Data as ``_log_likelihood`` takes it during fitting (a model may add precomputed levels)."""
        return arrays

    # --- fitting ----------------------------------------------------------------------------------------

    def fit(self, data: pd.DataFrame, *, weights: pd.Series | np.ndarray | None = None) -> Self:
        """Fit by maximum likelihood to ``data`` (one row per customer, or compressed rows with ``weights``).

        Sets ``params_``, ``standard_errors_``, ``covariance_``, ``log_likelihood_``, ``n_customers_`` and
        ``n_distinct_``.
        """
        if self.penalizer < 0:
            raise ParameterError(f"penalizer must be ≥ 0, not {self.penalizer}")
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
        w = table["weight"].to_numpy()
        total = w.sum()

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(log_params)
            with np.errstate(all="ignore"):
                value = -(w @ self._log_likelihood(params, **arrays)) / total + self.penalizer * np.sum(params**2)
                if not np.isfinite(value):
                    return 1e100, np.zeros_like(log_params)
                grad_rows = self._gradient(params, **arrays)
                if grad_rows is None:
                    grad = _central_gradient(lambda lp: _mean_nll(self, lp, arrays, w, total), log_params)
                else:
                    grad = -(w @ grad_rows) / total * params + 2 * self.penalizer * params**2
            return float(value), np.nan_to_num(grad)

        start = np.log(np.asarray(self._initial, dtype=float))
        result = optimize.minimize(
            objective, start, jac=True, method="L-BFGS-B", bounds=[LOG_BOUNDS] * len(start),
            options={"maxiter": self.max_iter, "ftol": self.tol * 1e-3, "gtol": self.tol},
        )  # fmt: skip
        at_bound = [n for n, v in zip(self._param_names, result.x) if min(abs(v - LOG_BOUNDS[0]), abs(v - LOG_BOUNDS[1])) < 1e-3]
        if at_bound:
            warnings.warn(
                f"{type(self).__name__}: {', '.join(at_bound)} ran to the edge of the allowed range "
                f"(e^±{LOG_BOUNDS[1]:g}): the data cannot pin {'it' if len(at_bound) == 1 else 'them'} down "
                "(e.g. no sign of customers dropping out yet); predictions may still be usable, its standard "
                "error is not",
                ApproximationWarning,
                stacklevel=2,
            )
        if not np.all(np.isfinite(result.x)) or (not result.success and result.nit >= self.max_iter):
            raise ConvergenceError(
                f"{type(self).__name__} did not converge ({result.message}); try a penalizer (e.g. 0.001) or "
                f"check the data summary for extreme values",
                result,
            )
        params = np.exp(result.x)
        self.params_ = pd.Series(params, index=list(self._param_names), dtype=float)
        self.log_likelihood_ = float(w @ self._log_likelihood(params, **arrays))
        self.n_customers_ = float(total)
        self.n_distinct_ = len(table)
        self._set_covariance(result.x, arrays, w)
        return self

    def _set_covariance(self, log_params: np.ndarray, arrays: dict[str, np.ndarray], w: np.ndarray) -> None:
        """Observed information in log-parameters; the natural-scale covariance by the delta method."""

        def total_gradient(lp: np.ndarray) -> np.ndarray:
            params = np.exp(lp)
            rows = self._gradient(params, **arrays)
            if rows is None:
                return _central_gradient(lambda q: _mean_nll(self, q, arrays, w, 1.0), lp)
            return -(w @ rows) * params

        k = len(log_params)
        hessian = np.empty((k, k))
        for j in range(k):
            step = np.zeros(k)
            step[j] = 1e-4 * max(1.0, abs(log_params[j]))
            hessian[:, j] = (total_gradient(log_params + step) - total_gradient(log_params - step)) / (2 * step[j])
        hessian = (hessian + hessian.T) / 2
        try:
            cov_log = np.linalg.inv(hessian)
            if np.any(np.diag(cov_log) < 0):
                raise np.linalg.LinAlgError("not positive definite")
        except np.linalg.LinAlgError:
            warnings.warn(
                f"{type(self).__name__}: the information matrix is singular at the estimate (a parameter is weakly "
                "identified); standard errors use a pseudo-inverse and may be unreliable",
                ApproximationWarning,
                stacklevel=3,
            )
            cov_log = np.linalg.pinv(hessian)
        params = np.exp(log_params)
        names = list(self._param_names)
        self._cov_log = cov_log
        self.covariance_ = pd.DataFrame(cov_log * np.outer(params, params), index=names, columns=names)
        self.standard_errors_ = pd.Series(np.sqrt(np.clip(np.diag(self.covariance_), 0, None)), index=names)

    # --- fitted state ------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit() or from_params() first")

    @property
    def _p(self) -> np.ndarray:
        self._check_fitted()
        return self.params_.to_numpy()

    @classmethod
    def from_params(cls, **params: float) -> Self:
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
        """Estimates, standard errors and 95% intervals (Wald on the log scale, so they stay positive)."""
        self._check_fitted()
        out = pd.DataFrame({"estimate": self.params_})
        if hasattr(self, "standard_errors_"):
            log_se = np.sqrt(np.clip(np.diag(self._cov_log), 0, None))
            out["standard_error"] = self.standard_errors_
            out["lower_95"] = self.params_ * np.exp(-1.96 * log_se)
            out["upper_95"] = self.params_ * np.exp(1.96 * log_se)
        return out

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
                "standard_errors": self.standard_errors_.to_dict(),
                "log_covariance": np.asarray(self._cov_log).tolist(),
                "log_likelihood": self.log_likelihood_,
                "n_customers": self.n_customers_,
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        model = cls.from_params(**data["params"])
        if "log_covariance" in data:
            model._cov_log = np.asarray(data["log_covariance"])
            names = list(cls._param_names)
            p = model._p
            model.covariance_ = pd.DataFrame(model._cov_log * np.outer(p, p), index=names, columns=names)
            model.standard_errors_ = pd.Series(data["standard_errors"])[names]
            model.log_likelihood_ = data["log_likelihood"]
            model.n_customers_ = data["n_customers"]
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}()"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({params})"

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _mean_nll(model: BaseModel, log_params: np.ndarray, arrays: dict[str, np.ndarray], w: np.ndarray, total: float) -> float:
    params = np.exp(log_params)
    return float(-(w @ model._log_likelihood(params, **arrays)) / total + model.penalizer * np.sum(params**2))


def _central_gradient(f: Any, x: np.ndarray) -> np.ndarray:
    grad = np.empty_like(x)
    for j in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[j]))
        step = np.zeros_like(x)
        step[j] = h
        grad[j] = (f(x + step) - f(x - step)) / (2 * h)
    return grad
