"""The Shopify store logic, config and reconciliation run without Flask (CLI, scheduler)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FLASK_FREE = ["app/integrations/shopify/install.py", "app/integrations/shopify/sync.py",
              "app/integrations/shopify/config.py"]


@pytest.mark.parametrize("module", FLASK_FREE)
def test_shopify_domain_module_does_not_import_flask(module):
    tree = ast.parse((ROOT / module).read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert not any(n == "flask" or n.startswith(("flask.", "werkzeug", "app.web")) for n in names)
