"""The layer guard: what each layer may load, checked transitively.

Each layer's modules are imported together in a fresh interpreter and the
forbidden packages are looked for in `sys.modules`, so an import that sneaks
Flask in two hops away (through a package `__init__`, a runtime helper) fails
here, not only a direct one. A layer that passes as a whole passes module by
module; on failure the guard names the modules that pull the package in.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def modules_under(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    found = []
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found.append(dotted.removesuffix(".__init__"))
    return found


FLASK = ("flask", "werkzeug")
ORM = ("sqlalchemy",)

LAYERS = {
    # Pure rules: `now` is passed in; no web, no database.
    "app.core": (modules_under("app.core"), FLASK + ORM),
    # Pure wire: knows its platform and nothing of Cartback's insides.
    "platforms": (modules_under("platforms"), FLASK + ORM + ("app",)),
    # The database flows and mail run from the worker and the CLI without a request.
    "domain": (
        modules_under("app.carts") + modules_under("app.privacy") + modules_under("app.mail")
        + modules_under("app.sms")
        + modules_under("app.db") + ["app.worker.periodic", "app.export", "app.runtime",
                                     "app.stores", "app.config", "app.errors"],
        FLASK,
    ),
}

PROBE = """
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
forbidden = json.loads(sys.argv[1])
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(forbidden))))
"""


def loaded(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(forbidden), *modules],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_loads_nothing_it_must_not(layer):
    modules, forbidden = LAYERS[layer]
    assert modules, f"layer {layer} has no modules: the guard would pass vacuously"
    if not loaded(modules, forbidden):
        return
    culprits = {m: found for m in modules if (found := loaded([m], forbidden))}
    pytest.fail(f"{layer} loads forbidden packages: {culprits}")


def test_the_guard_catches_a_transitive_import():
    # The factory pulls Flask in; the probe must see it through any number of hops.
    assert loaded(["app.factory"], FLASK) == ["flask", "werkzeug"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_scheduler_package_imports_apscheduler():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("app", "platforms")
        for path in (ROOT / folder).rglob("*.py")
        if any(name.split(".")[0] == "apscheduler" for name in _imports(path))
    ]
    assert offenders == []
