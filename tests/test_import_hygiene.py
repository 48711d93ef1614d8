"""The core runs without the app: every module of the model, the store, calling, research and coding
imports without Textual or Rich (and research and coding without click), checked in a fresh
interpreter. pyproject.toml states the same rules as import-linter contracts, checked by .ci/run."""

from __future__ import annotations

import json
import subprocess
import sys

# Every module below these is imported; a new module is checked without being listed here.
CORE_PACKAGES = [
    "survey_tui.model",
    "survey_tui.store",
    "survey_tui.calling",
    "survey_tui.research",
    "coding",
]
CORE_MODULES = ["survey_tui.settings", "survey_tui.resources"]
# Never to be imported by the core; click is allowed where the command line is (not here at all).
FORBIDDEN = {
    "survey_tui.model": ("textual", "rich", "click"),
    "survey_tui.store": ("textual", "rich", "click"),
    "survey_tui.calling": ("textual", "rich", "click"),
    "survey_tui.research": ("textual", "rich", "click"),
    "survey_tui.settings": ("textual", "rich", "click"),
    "survey_tui.resources": ("textual", "rich", "click"),
    "coding": ("textual", "rich", "click", "survey_tui"),
}

# The check runs in a fresh interpreter: a finder refuses the forbidden packages and notes which
# module asked. A third-party library that only tries (scikit-learn looks for rich to draw
# progress bars) is left alone: it copes with the ImportError, and our code never asked.
CHECK = r"""
import importlib, json, pkgutil, sys

forbidden, packages, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
refused = []


def ours(name):
    return name.split(".")[0] in ("survey_tui", "coding")


def importer():
    # The module whose code asked for the import: the first frame outside the import system.
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen_importlib")):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


class Refuse:
    def find_spec(self, name, path=None, target=None):
        asking = importer()
        if not ours(asking):
            return None  # a third-party module's own (optional) import
        for root, banned in forbidden.items():
            if (asking == root or asking.startswith(root + ".")) and name.split(".")[0] in banned:
                refused.append([asking, name])
                raise ImportError(f"{asking} may not import {name}")
        return None


sys.meta_path.insert(0, Refuse())
names = list(modules)
failed = {}
for package in packages:
    names.append(package)
    try:
        root = importlib.import_module(package)
    except ImportError as error:
        failed[package] = str(error)
        continue
    names += [info.name for info in pkgutil.walk_packages(root.__path__, package + ".", onerror=lambda _: None)]
for name in names:
    if ".migrations" in name:
        continue  # Alembic's scripts are run by Alembic, not imported
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed[name] = str(error)
app = sorted(m for m in sys.modules if m.startswith(("survey_tui.app", "survey_tui.screens", "survey_tui.cli")))
print(json.dumps({"checked": len(names), "refused": refused, "failed": failed, "app": app}))
"""


def run_check() -> dict[str, object]:
    arguments = [json.dumps(FORBIDDEN), json.dumps(CORE_PACKAGES), json.dumps(CORE_MODULES)]
    result = subprocess.run([sys.executable, "-c", CHECK, *arguments], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_every_core_module_imports_without_textual_rich_or_click() -> None:
    found = run_check()
    assert found["refused"] == [], found
    assert found["failed"] == {}
    assert found["app"] == []  # nor does it pull in the app, its screens or the command line
    assert int(str(found["checked"])) > 40  # the walk found the modules, not just the packages


def test_coding_does_not_import_the_app_package() -> None:
    code = (
        "import importlib, pkgutil, sys, coding\n"
        "for info in pkgutil.walk_packages(coding.__path__, 'coding.'): importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('survey_tui')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
