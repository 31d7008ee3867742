"""The one dependency rule: the core never pulls in Qt."""

import subprocess
import sys


def test_core_imports_without_qt():
    code = ("import sys, bpstudio, bpstudio.core, bpstudio.cli; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
