"""Dagster assets of the machine-learning models (churn score, recommendations, backtest)."""
