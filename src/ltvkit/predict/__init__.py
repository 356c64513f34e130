"""Predictions from the models: customer summaries, CLV, holdout evaluation."""
