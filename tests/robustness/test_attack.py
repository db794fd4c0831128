"""tests/robustness/attack.py end to end: every hostile input, model folder, output path and config is handled."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_every_attack_is_handled():
    stray = REPO / "cache.sqlite"  # a relative cache path once anchored here, inside the project
    existed = stray.exists()
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "robustness" / "attack.py")],
                          capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    tried, handled = (int(x) for x in proc.stdout.strip().splitlines()[-1].split(": ", 1)[1].split(", handled: "))
    assert tried == handled >= 30
    assert stray.exists() == existed, "the attacks wrote a score cache into the project"
