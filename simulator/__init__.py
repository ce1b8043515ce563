"""Pipeline Twin: a SimPy digital twin of an ML prediction service.

The core is pure Python (no streamlit). Entry points:
``load_scenario`` (YAML -> validated Scenario), ``with_overrides`` (dotted
overrides through the same validation) and ``run`` (Scenario, seed -> RunResult).
"""
