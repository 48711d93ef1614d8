"""The core (questionnaire model, store, call lists, coding) runs without Textual or Rich."""

from __future__ import annotations

import json
import subprocess
import sys

CORE_MODULES = [
    "survey_tui.model",
    "survey_tui.model.flow",
    "survey_tui.model.dispositions",
    "survey_tui.interviewing",
    "survey_tui.outbox",
    "survey_tui.callbacks",
    "survey_tui.supervisor",
    "survey_tui.store",
    "survey_tui.call_list",
    "survey_tui.sample",
    "survey_tui.cli",
    "coding",
]


def test_core_modules_do_not_import_textual_or_rich() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {CORE_MODULES!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'survey_tui') and m.split('.')[0] != 'survey_tui' "
        "or m.startswith('survey_tui.app') or m.startswith('survey_tui.screens'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_coding_does_not_import_the_app_package() -> None:
    code = "import coding, sys; print(sorted(m for m in sys.modules if m.startswith('survey_tui')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
