"""``storeops report``: the monthly operations report for the brand's region (a feature).

Runs on the controller, read-only: it reads the controller's history database
(``storeops.history``), the rollout and patching audit logs under ``state_path("logs")``, the
inventory (stores, their timezone, the brand's availability target) and the asset registers,
and writes one self-contained HTML file (charts inlined as SVG) and the same as PDF.
Imports the core only; registered with the CLI by entry point (pyproject.toml).
"""
