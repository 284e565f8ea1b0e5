"""The integrations registry: every platform with an integration is wired the same way
(routes, `cartback <name>`, periodic jobs, `stores add`, metrics), and no platform
name is spelled outside its own folders and the registries."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import click
import pytest

import platforms
from app import integrations
from app.cli import cli
from app.worker import periodic

ROOT = Path(__file__).resolve().parents[2]
WITH_INTEGRATION = [name for name in platforms.names() if name in integrations.names()]
# Platforms whose names only their own folders and the registries may spell.
NAMED = sorted({*integrations.names(), *platforms.names()} - {integrations.CUSTOM})
# Python 3.12 splits f-strings into parts; 3.11 keeps them one STRING token.
CODE_TOKENS = {tokenize.NAME, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


class Recorder:
    def __init__(self):
        self.nightly, self.interval = {}, {}

    def add_nightly(self, job_id, func, *, hour, minute=0, timezone="UTC"):
        self.nightly[job_id] = func

    def add_interval(self, job_id, func, *, seconds):
        assert job_id not in self.interval, f"job {job_id} registered twice"
        self.interval[job_id] = (seconds, func)


def test_every_integration_is_a_registered_platform():
    assert set(integrations.names()) <= set(platforms.names())
    assert integrations.CUSTOM in platforms.names()
    assert integrations.CUSTOM not in integrations.names()  # the platform-free lane
    assert integrations.find(integrations.CUSTOM) is None
    with pytest.raises(KeyError):
        integrations.get("nowhere")


@pytest.mark.parametrize("name", WITH_INTEGRATION)
def test_integration_routes_commands_and_jobs_are_registered(name, app, runtime):
    # Given the platform's integration
    integration = integrations.get(name)
    assert integration.name == name

    # Its blueprints are served by the app, under its own name
    assert integration.blueprints
    for blueprint in integration.blueprints:
        assert app.blueprints[blueprint.name] is blueprint
        assert blueprint.name == name or blueprint.name.startswith(f"{name}_")

    # Its command group is `cartback <name>`, with at least one command
    assert integration.cli is not None and integration.cli.name == name
    assert cli.commands[name] is integration.cli and integration.cli.commands

    # Its periodic jobs run in the timer process, ids prefixed by its name
    recorder = Recorder()
    periodic.register(recorder, runtime)
    for job in integration.jobs:
        assert job.id.startswith(f"{name}-") and job.seconds > 0
        assert recorder.interval[job.id][0] == job.seconds

    # `cartback stores add --platform <name>` reaches its own way of adding a store
    add = cli.commands["stores"].commands["add"]
    platform = next(p for p in add.params if p.name == "platform")
    assert isinstance(platform.type, click.Choice)
    assert (name in platform.type.choices) == (integration.stores_add is not None)
    if integration.stores_add is not None:
        for option in integration.stores_add.options:
            assert option in add.params

    # Its topic header, if any, is a header name
    if integration.topic_header is not None:
        assert re.fullmatch(r"X-[A-Za-z-]+", integration.topic_header)


def test_stores_add_options_are_unique_across_integrations():
    add = cli.commands["stores"].commands["add"]
    names = [p.name for p in add.params]
    flags = [flag for p in add.params for flag in getattr(p, "opts", [])]
    assert len(names) == len(set(names)) and len(flags) == len(set(flags))
    assert list(add.params[0].type.choices) == [integrations.CUSTOM, *(
        i.name for i in integrations.every() if i.stores_add is not None)]


def test_periodic_job_ids_are_unique_and_the_core_jobs_stay(runtime):
    recorder = Recorder()
    periodic.register(recorder, runtime)
    assert {"exports"} <= set(recorder.interval)
    assert set(recorder.interval) == {"exports", *(j.id for i in integrations.every()
                                                   for j in i.jobs)}


# --- platform names stay in their folders ------------------------------------------------

def _allowed(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return (relative == "app/integrations/__init__.py"  # the registry
            or any(relative.startswith(f"app/integrations/{name}/") for name in NAMED)
            # Migration revision ids are history; renaming one would break upgrades.
            or relative.startswith("app/db/migrations/"))


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return lines


def spelled_in_code(source: str) -> list[tuple[int, str]]:
    """(line, token) of identifiers and string literals naming a platform.

    Comments and docstrings are prose: they may say what Cartback works with.
    """
    pattern = re.compile("|".join(NAMED), re.I)
    docstrings = _docstring_lines(ast.parse(source))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in CODE_TOKENS:
            continue
        if token.type != tokenize.NAME and token.start[0] in docstrings:
            continue
        if pattern.search(token.string):
            found.append((token.start[0], token.string))
    return found


def test_the_name_guard_sees_identifiers_and_strings_but_not_prose():
    source = ('"""Works with Shopify."""\n'
              '# and WooCommerce\n'
              'if store.platform == "shopify":\n'
              '    from app.integrations.woocommerce import views\n'
              'header = f"X-Shopify-{topic}"\n')
    assert [line for line, _ in spelled_in_code(source)] == [3, 4, 5]


def test_platform_names_are_spelled_only_in_their_folders_and_registries():
    offenders = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if not _allowed(path):
            offenders += [f"{path.relative_to(ROOT)}:{line}: {text}"
                          for line, text in spelled_in_code(path.read_text())]
    pattern = re.compile("|".join(NAMED), re.I)
    for path in sorted((ROOT / "templates" / "admin").rglob("*")):
        if path.is_file():
            offenders += [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                          for n, line in enumerate(path.read_text().splitlines(), start=1)
                          if pattern.search(line)]
    assert offenders == []
