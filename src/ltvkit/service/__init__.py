"""The use-case layer: the one front door that the CLI, the web API and the report call. Each function takes
the orders' tables (a workspace or a source) and the user's settings, composes the analytics, the models and
the what-if code below it, and returns results to print, serve or render; nothing above it composes
analytics.

- :mod:`ltvkit.service.summary`: customers, revenue and LTV per currency;
- :mod:`ltvkit.service.valuation`: fit a model, score customers, compare models on a holdout;
- :mod:`ltvkit.service.report`: the report's figures, once, in every language asked;
- :mod:`ltvkit.service.demo`: the demo school from generation to reports;
- :mod:`ltvkit.service.retainer`: invoices and KPI fees of a retainer, the client book and its metrics.
"""
