"""Helpers every layer may use: the scenario-section base, queueing formulas, numbers."""
