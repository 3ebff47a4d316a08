"""Offline guarantee: the self-test, a CLI classification and an analysis in the desktop application (whose model
runs in a helper process) open no network connection, and the source tree holds no network client code.

The subprocesses run under a socket guard injected as `sitecustomize` (PYTHONPATH), so it is active before any
application or library code: every TCP/UDP connect, `create_connection` and name lookup is recorded in a marker
file and refused. (Native code that bypasses Python's socket module, e.g. C++ gRPC, is not seen by this guard; the
source scan below and the absence of any such dependency cover that side.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.paths import sample_study_dir
from tests.conftest import REPO_ROOT
from tests.dicom_factory import write_mr_series

pytest_plugins = ["tests.model_fixtures"]

SOCKET_GUARD = '''
import socket, traceback

MARKER = {marker!r}


def _refuse(what, *args):
    with open(MARKER, "a", encoding="utf-8") as marker:
        marker.write(f"{{what}} {{args!r}}\\n{{''.join(traceback.format_stack(limit=12))}}\\n")
    raise OSError(f"network access is forbidden ({{what}})")


def _guard_method(name):
    original = getattr(socket.socket, name)

    def guarded(self, address, *rest):
        if self.family != getattr(socket, "AF_UNIX", None):
            _refuse(f"socket.{{name}}", address)
        return original(self, address, *rest)
    return guarded


for _name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, _name, _guard_method(_name))
socket.create_connection = lambda *args, **kwargs: _refuse("create_connection", *args)
socket.getaddrinfo = lambda *args, **kwargs: _refuse("getaddrinfo", *args)
socket.gethostbyname = lambda *args, **kwargs: _refuse("gethostbyname", *args)
'''

# Python code that would open connections, fetch files or pretrained weights. `weights=None` is how the Xception
# backbone is built; "imagenet" anywhere would make Keras download weights.
FORBIDDEN_SOURCE = {
    "urllib.request": re.compile(r"\burllib\.request\b|from\s+urllib\s+import\s+request"),
    "requests": re.compile(r"^\s*(import|from)\s+requests\b", re.MULTILINE),
    "http.client": re.compile(r"\bhttp\.client\b|from\s+http\s+import\s+client"),
    "httpx/urllib3/aiohttp": re.compile(r"^\s*(import|from)\s+(httpx|urllib3|aiohttp)\b", re.MULTILINE),
    "socket": re.compile(r"^\s*(import|from)\s+socket\b", re.MULTILINE),
    "keras get_file": re.compile(r"\bget_file\s*\("),
    "pretrained weights": re.compile(r"weights\s*=\s*['\"]imagenet['\"]|['\"]imagenet['\"]"),
    "tfds/hub downloads": re.compile(r"\b(tensorflow_datasets|tensorflow_hub|huggingface_hub)\b"),
}
SCANNED_FOLDERS = ("core", "desktop", "installers", "benchmarks")


@pytest.fixture
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    marker = tmp_path / "network-attempts.log"
    (guard_dir / "sitecustomize.py").write_text(SOCKET_GUARD.format(marker=str(marker)), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}  # the app must quiet TF
    env.update(PYTHONPATH=os.pathsep.join([str(guard_dir), str(REPO_ROOT)]), QT_QPA_PLATFORM="offscreen",
               HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               KERAS_HOME=str(tmp_path / "keras"))
    return env, marker


def run_guarded(arguments: list[str], env: dict[str, str], marker: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    attempts = marker.read_text(encoding="utf-8") if marker.exists() else ""
    assert not attempts, f"network access attempted:\n{attempts}"
    return done


def test_socket_guard_catches_a_connection_attempt(guarded_env):
    env, marker = guarded_env
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert "create_connection" in marker.read_text(encoding="utf-8")


def test_self_test_runs_offline(guarded_env, tiny_model_dir: Path, tmp_path: Path):
    env, marker = guarded_env
    script = ("import sys\nfrom pathlib import Path\nfrom core.logging_setup import configure_logging\n"
              "from core.selftest import run_self_test\nconfigure_logging()\n"
              f"report = run_self_test(Path({str(tmp_path / 'out')!r}), model_dir=Path({str(tiny_model_dir)!r}))\n"
              "print(report.summary())\nsys.exit(report.exit_code)\n")
    done = run_guarded(["-c", script], env, marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Self-test PASSED" in done.stdout


DESKTOP_ANALYSIS = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QEventLoop
from desktop.app import start

app, window = start([{study!r}], Path({model!r}))
finished = []
window.analysisFinished.connect(finished.append)

def wait(condition):
    deadline = time.monotonic() + 300
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)

try:
    wait(lambda: bool(window.analysis_set()))
    window.start_analysis()
    wait(lambda: finished and not window.analysis.busy)
    helper = window.classifier.pid
finally:
    window.close()  # stops workers and the helper even when a check fails, so the process can exit
assert helper is not None and window.classifier.pid is None, "the helper process did not run or did not end"
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was imported by the app"
print("verdict", finished[0].verdict_label, "slices", len(finished[0].slice_results))
"""


def test_desktop_analysis_runs_offline_with_tensorflow_only_in_the_helper(guarded_env, tiny_model_dir: Path):
    env, marker = guarded_env
    script = DESKTOP_ANALYSIS.format(study=str(sample_study_dir()), model=str(tiny_model_dir))
    done = run_guarded(["-c", script], env, marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^verdict \w+ slices 6$", done.stdout, re.MULTILINE), done.stdout


def test_cli_classification_runs_offline_and_quietly(guarded_env, tiny_model_dir: Path, tmp_path: Path):
    env, marker = guarded_env
    study = tmp_path / "study"
    write_mr_series(study / "mr", n_slices=8, rows=64, cols=64, transfer_syntax="1.2.840.10008.1.2.4.90")  # J2K
    for picture in sorted(sample_study_dir().glob("*.jpg"))[:2]:
        shutil.copy(picture, study / picture.name)
    done = run_guarded(["-m", "core.cli", "classify", str(study), "--model-dir", str(tiny_model_dir),
                        "--json", str(tmp_path / "out.json"), "--report", str(tmp_path / "out.pdf")], env, marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out.json").is_file()
    noise = [line for line in done.stderr.splitlines() if re.search(r"tensorflow|oneDNN|cuda|absl|W0000|I0000", line)]
    assert not noise, "TensorFlow noise on stderr:\n" + "\n".join(noise)


def test_source_tree_has_no_network_client_code():
    this_file = Path(__file__).resolve()
    findings = []
    for folder in SCANNED_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path.resolve() == this_file:
                continue
            text = path.read_text(encoding="utf-8")
            findings += [f"{path.relative_to(REPO_ROOT)}: {what}" for what, pattern in FORBIDDEN_SOURCE.items()
                         if pattern.search(text)]
    assert not findings, "network-capable code found:\n" + "\n".join(findings)


NATIVE_CHATTER = r'''
import os, sys
from core.logging_setup import native_stderr_filtered
with native_stderr_filtered():
    for line in (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
                 b"I0000 00:00:1795536663.762585    2894 cpu_feature_guard.cc:227] "
                 b"This TensorFlow binary is optimized\n",
                 b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow\n",
                 b"I0000 00:00:1795536663.9 2894 port.cc:153] oneDNN custom operations are on.\n",
                 b"E0000 00:00:1795536663.9 2894 real_failure.cc:1] a genuine error\n"):
        os.write(2, line)
    print("python-level message", file=sys.stderr)
print("after", file=sys.stderr)
'''


def test_tensorflow_start_up_chatter_is_dropped_and_real_errors_kept():
    """Whatever a TensorFlow build prints at native level while the model loads, only its errors reach stderr."""
    done = subprocess.run([sys.executable, "-c", NATIVE_CHATTER], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["E0000 00:00:1795536663.9 2894 real_failure.cc:1] a genuine error",
                                        "python-level message", "after"]
