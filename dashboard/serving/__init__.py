"""Several app processes behind HAProxy (`python -m dashboard serve`, `make serve`).

`haproxy.py` writes the proxy's configuration (sticky sessions, WebSockets, health checks); `supervisor.py` starts
the Streamlit processes, the worker and HAProxy, restarts an app process that dies and stops them all on Ctrl-C or
SIGTERM. No Streamlit import here: the children are separate `streamlit run` processes.
"""
