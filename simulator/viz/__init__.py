"""Pure presentation helpers: plotly figures, graphviz DOT, KPI tiles and HTML reports.

Nothing here imports streamlit, so the CLI and tests can build the same figures the
dashboard shows.
"""
