"""What the controller-side actions share in their documentation: they compute, change nothing."""

from __future__ import annotations


class ModuleDocFragment:
    """``extends_documentation_fragment: [storeops_controller]``: an answer computed on the
    controller from the inventory; the same in check mode, nothing to diff."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Only computes on the controller; the same answer in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
author:
  - storeops developers
"""
