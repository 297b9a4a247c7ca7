"""Serve the dashboard, hardened: ``python serve.py [--port 8501] [--address 127.0.0.1]``.

``make run`` and the systemd units (``deploy/``) start the dashboard this way. The mode comes
from ``REGISTRY_MODE`` or ``registry.toml`` (app_support/auth.py); ``local`` binds 127.0.0.1
only. The app is ``st.App`` with the guard of app_support/hardening.py in front of Streamlit
(no metrics endpoint, no client-triggered cache clearing), and the Streamlit options of
``hardening.server_options`` (XSRF and CORS protection on, no tracebacks outside ``local``). The process's warm-up
(app_support/background.py) starts before the server, so the first visitor does not wait for it.
"""
from __future__ import annotations

import argparse
import os
import sys

import streamlit as st

from app_support import auth, background, hardening

app = st.App("app.py", middleware=hardening.middleware())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--secrets", action="append", default=None,
                        help="a secrets.toml to read instead of .streamlit/secrets.toml (repeatable)")
    parser.add_argument("--allowed-hosts", default=os.environ.get("REGISTRY_ALLOWED_HOSTS", ""),
                        help="comma-separated host names browsers use (DNS rebinding protection; "
                             "default REGISTRY_ALLOWED_HOSTS, empty: any)")
    args = parser.parse_args(argv)
    try:
        mode = auth.settings().mode
        options = hardening.server_options(mode, port=args.port, address=args.address, secrets=args.secrets)
        hosts = [h.strip() for h in args.allowed_hosts.split(",") if h.strip()]
        if hosts:
            options["server.allowedHosts"] = hosts
    except (auth.ConfigError, ValueError) as exc:
        sys.exit(f"serve.py: {exc}")
    print(f"Cancer registry dashboard, {mode} mode, on http://{options['server.address']}:{args.port}",
          flush=True)
    for warning in hardening.startup_warnings(mode):
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)
    sys.argv = sys.argv[:1]        # Streamlit passes the remaining arguments to the script
    # the demo, its first cube and the app's modules are prepared while the first visitor's
    # browser loads the page, not after its first run asked for them; then every page runs once
    # at its default selection in a session of the server's own (app_support/background.py)
    background.warm_up(pages=True)
    app.run(config=options)


if __name__ == "__main__":
    main()
