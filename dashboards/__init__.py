"""Step 7, present: the Streamlit dashboards (`app.py`), their data module and the `dashboard` / `demo` commands."""
