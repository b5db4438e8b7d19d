"""What `ebook-analytics dashboard` serves: the Streamlit app (`app.py`) plus the session cookie's HTTP routes.

`streamlit run dashboards/server.py` finds the `st.App` below and serves it with the same settings and flags as a
plain script; the routes (`dashboards.auth.routes`) are the only part of sign-in that needs plain HTTP.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards.auth.routes import ROUTES

app = st.App(Path(__file__).with_name("app.py"), routes=ROUTES)
