"""Streamlit AppTest sessions as a signed-in tab: the account's server-side session, as sign-in would begin it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def sign_in(at: AppTest, email: str) -> None:
    """Make `at` a tab where the local account `email` has just signed in."""
    from dashboards.auth import sessions  # the settings (home, secret) are the test's: read when called
    from dashboards.auth.users import find_user

    user = find_user(email)
    assert user is not None, email
    at.session_state["auth_session"], _ = sessions.begin(user.email, user.role)
