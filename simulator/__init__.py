"""Pipeline Twin: a SimPy digital twin of an ML prediction service.

The core is pure Python (no streamlit), in layers that import only the ones below them:
``common`` -> ``mechanisms`` (rules of real systems) and ``ml`` -> ``scenario`` (the validated
input) -> ``engine`` (how requests move) -> ``report`` (one run told) -> ``runner`` ->
``viz`` (figures) -> ``analysis`` (many runs) -> ``store`` (the team's saved work) -> ``cli``.

Entry points: ``load_scenario`` (YAML -> validated Scenario), ``with_overrides`` (dotted
overrides through the same validation) and ``run`` (Scenario, seed -> RunResult).
"""
__all__ = ["Scenario", "load_scenario", "run", "with_overrides"]


def __getattr__(name: str):
    """Import the entry points lazily, so ``import simulator.x`` stays light."""
    if name == "run":
        from simulator.runner import run

        return run
    if name in ("Scenario", "load_scenario", "with_overrides"):
        from simulator.scenario import config

        return getattr(config, name)
    raise AttributeError(name)
