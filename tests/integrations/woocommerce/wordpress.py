"""The WordPress plugin run by PHP inside wp_harness.php (which stubs the WordPress
and WooCommerce functions it calls), for the plugin's tests and its page's
browser test."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from app.integrations.woocommerce.connect import webhook_url

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "static" / "cartback-woocommerce.php"
HARNESS = Path(__file__).with_name("wp_harness.php")
PHP = shutil.which("php")


def run_plugin(scenario: dict) -> dict:
    done = subprocess.run([PHP, str(HARNESS)], input=json.dumps(scenario), capture_output=True,
                          text=True, check=True, env={"CARTBACK_PLUGIN": str(PLUGIN)})
    assert "Warning" not in done.stdout and not done.stderr, done.stdout + done.stderr
    return json.loads(done.stdout)


def webhooks_of(runtime: Any, store: Any, status: str = "active") -> dict:
    """What WooCommerce holds once Cartback connected the store (plus a stranger's webhook)."""
    return {"3": {"delivery_url": "https://zapier.example/hooks/1", "secret": "x",
                  "status": "active"},
            "7": {"delivery_url": webhook_url(runtime, store.id), "secret": store.webhook_secret,
                  "status": status}}
