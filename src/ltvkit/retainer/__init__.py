"""Retainers: client LTV for service businesses, prorated invoicing by working days, KPI-linked fees."""
