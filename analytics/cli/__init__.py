"""Sub-commands of ``python -m analytics``: one module per command, each with ``add_parser(sub) -> run``."""
