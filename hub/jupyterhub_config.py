"""JupyterHub configuration for the course's cohort hub (README: "For a cohort").

Everything comes from the roster and the settings `make hub` passes in DIALECTIC_HUB_*
variables; the logic lives in grader/hub.py. Add site-specific settings (an OAuth
authenticator, HTTPS certificates) below the call.
"""

from grader.hub import HubSettings, configure

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file
configure(c, HubSettings.from_environment())
