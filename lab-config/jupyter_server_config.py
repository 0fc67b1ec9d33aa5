"""Jupyter server settings for self-study: `make lab` reads this folder before the environment's
own settings (JUPYTER_CONFIG_PATH), so an instructor's `jupyter lab` is unchanged.

Config file for jupyter_server; `c` is the config object Jupyter passes in.
"""

# Self-study has no nbgrader course or exchange, so nbgrader's server side would only answer
# with errors (the Assignments tab's "exchange directory does not exist", an empty formgrader,
# a Validate that checks nothing). labconfig/page_config.json hides their panels to match. It also
# turns off JupyterLab's announcements: on a first start they ask in a pop-up whether to fetch
# Jupyter's news from the internet, and the pop-up covers the corner of module 01's first text.
c.ServerApp.jpserver_extensions = {  # noqa: F821 (c is defined by Jupyter)
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
}

# Without a terminal of its own the server would start login shells, and /etc/profile resets
# PATH, dropping .venv/bin and so `dialectic`. A plain interactive bash keeps the PATH `make lab`
# gives the server; terminals open where the server runs, in course/.
c.ServerApp.terminado_settings = {"shell_command": ["bash", "-i"]}  # noqa: F821
