"""Pipeline Twin dashboard: ``streamlit run app.py``.

The frame (shared sidebar, navigation over ``pages/``) lives in :mod:`dashboard.frame`.
Streamlit runs this file as ``__main__``, so the simulation worker processes (``spawn``)
re-import it as ``__mp_main__``; the guard keeps them from drawing the app, and the
dashboard modules are imported inside it so workers do not load them either.
"""

if __name__ == "__main__":
    from dashboard.frame import main

    main()
