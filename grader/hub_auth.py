"""The trial authenticator: JupyterHub's DummyAuthenticator, refused off loopback.

A dummy authenticator lets anyone who knows the one shared password log in as anyone.
That is acceptable only while the hub listens on 127.0.0.1 (people on this machine, for a
trial); the hub refuses to start with it on any other address.
"""

from __future__ import annotations

from urllib.parse import urlparse

from jupyterhub.auth import DummyAuthenticator

from grader.hub import is_loopback


class LoopbackTrialAuthenticator(DummyAuthenticator):
    """DummyAuthenticator that stops the hub unless it is bound to a loopback address."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from jupyterhub.app import JupyterHub

        if JupyterHub.initialized():
            check_bind(JupyterHub.instance())


def check_bind(app) -> None:
    """Raise unless every address the hub listens on for people is loopback."""
    host = urlparse(app.bind_url).hostname or ""
    if not is_loopback(host):
        raise ValueError(
            f"The trial (dummy) authenticator is refused on {host or 'all interfaces'}: anyone "
            f"could log in as anyone. Bind to 127.0.0.1 (HUB_IP=127.0.0.1), or use real "
            f"authentication (HUB_AUTH=pam, or an OAuth authenticator; README 'For a cohort')."
        )
