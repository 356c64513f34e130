"""Descriptive analytics of the orders: definitions, overview, historical LTV, cohorts, channels and first
products, segments, lifetimes, the data grade."""
