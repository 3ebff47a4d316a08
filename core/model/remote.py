"""The classifier in a helper process, so the desktop application's own process never imports TensorFlow.

Importing TensorFlow and building the network hold Python's interpreter lock for hundreds of milliseconds at a time
(loading its native libraries cannot release it), so running them in a worker thread still froze the window on the
first analysis of a session. `ClassifierProcess` offers what the application uses of `core.model.classifier.Classifier`
(`manifest`, `is_loaded`, `load`, `predict`) and runs a real `Classifier` in a child process started with "spawn"
(forking a process that runs Qt threads is unsafe). Requests and answers travel over a multiprocessing pipe, a local
socket pair that never touches the network; a thread waiting for an answer does not hold the interpreter lock.

`close()` terminates the child at once, even in the middle of a request; when the application dies the child reads
end-of-file and exits. If the child dies, the call in progress raises `ClassifierProcessError` and the next call
starts a new child.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ClassifierProcessError
from core.model.classifier import Classifier, ModelManifest, SlicePrediction

_CLOSE_TIMEOUT_S = 5.0


class _Child:
    """One started helper process and our end of its pipe. `end()` is idempotent and safe from any thread."""

    def __init__(self, model_dir: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end, model_dir), name="brainmri-classifier",
                                       daemon=True)  # never outlives the application, even if close() is not reached
        self.exit_code: int | None = None
        self.closed_on_purpose = False
        self._end_lock = threading.Lock()
        self._ended = False
        try:
            self.process.start()
        except OSError as error:
            self.connection.close()
            raise ClassifierProcessError(model_dir, f"the analysis process could not start ({error})") from error
        finally:
            child_end.close()  # the child holds its own copy; ours must close so its end-of-file reaches us

    def end(self, on_purpose: bool) -> None:
        """Terminate the child (it holds nothing that needs a clean exit; TensorFlow's own shutdown takes ~2 s). A
        request waiting on the pipe then reads end-of-file. The pipe itself closes when the last user drops it."""
        with self._end_lock:
            if self._ended:
                return
            self._ended = True
            self.closed_on_purpose = on_purpose
            self.process.terminate()
            self.process.join(_CLOSE_TIMEOUT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.exit_code = self.process.exitcode
            self.process.close()


class ClassifierProcess:
    """A `Classifier` running in a child process; thread-safe (requests are serialised, `close` does not wait)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self._local = Classifier(model_dir)  # reads the manifest here; never loads the network in this process
        self.model_dir = self._local.model_dir
        self._child: _Child | None = None
        self._loaded = False
        self._request_lock = threading.Lock()  # one request at a time on the pipe
        self._child_lock = threading.Lock()  # guards _child and _loaded, never held while waiting for the child

    @property
    def manifest(self) -> ModelManifest:
        return self._local.manifest

    @property
    def is_loaded(self) -> bool:
        return self._loaded

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (diagnostics and tests)."""
        with self._child_lock:
            child = self._child
        return child.process.pid if child is not None and child.process.is_alive() else None

    def load(self) -> None:
        """Start the child if needed and have it verify the files and build the network (a few seconds)."""
        with self._request_lock:
            self._loaded_child()

    def predict(self, images: Sequence[np.ndarray], with_cams: bool = True) -> list[SlicePrediction]:
        """As `Classifier.predict`: one prediction per uint8 display image."""
        with self._request_lock:
            return self._request(self._loaded_child(), "predict", list(images), with_cams)

    def close(self) -> None:
        """End the child now, without waiting for a request in progress (quitting must not wait seconds for the
        model to finish loading): that request raises `ClassifierProcessError`. A later call starts a new child."""
        with self._child_lock:
            child, self._child, self._loaded = self._child, None, False
        if child is not None:
            child.end(on_purpose=True)

    def _loaded_child(self) -> _Child:
        with self._child_lock:
            child, loaded = self._child, self._loaded
        if child is None:
            child = _Child(self.model_dir)
            with self._child_lock:
                self._child = child
        if not loaded:
            self._request(child, "load")
            with self._child_lock:
                self._loaded = self._child is child
        return child

    def _request(self, child: _Child, command: str, *arguments: Any) -> Any:
        try:
            child.connection.send((command, *arguments))
            status, answer = child.connection.recv()
        except (EOFError, OSError) as error:
            with self._child_lock:
                if self._child is child:
                    self._child, self._loaded = None, False
            child.end(on_purpose=False)  # no-op when close() ended it
            raise ClassifierProcessError(self.model_dir, _ending_reason(child)) from error
        if status == "error":
            raise answer
        return answer


def _ending_reason(child: _Child) -> str:
    if child.closed_on_purpose:
        return "the analysis process was closed before it answered"
    return (f"the analysis process stopped unexpectedly (exit code {child.exit_code}); the next analysis starts it "
            "again")


def serve(connection: Connection, model_dir: Path) -> None:
    """The child's loop: answer ("load",) and ("predict", images, with_cams) with ("ok", value) or ("error", error)
    until the pipe closes."""
    from core.logging_setup import quiet_third_party_logging

    quiet_third_party_logging()  # a fresh interpreter: the parent's logger settings did not come along
    classifier = Classifier(model_dir)
    while True:
        try:
            command, *arguments = connection.recv()
        except EOFError:
            return
        try:
            if command == "load":
                classifier.load()
                answer: tuple[str, Any] = ("ok", None)
            elif command == "predict":
                answer = ("ok", classifier.predict(*arguments))
            else:
                raise ValueError(f"unknown request {command!r}")
        except Exception as error:  # every failure goes back to the caller, who reports it
            answer = ("error", _transferable(error))
        connection.send(answer)


def _transferable(error: Exception) -> Exception:
    """The error itself when it survives pickling, else a RuntimeError with the same text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # whatever makes it unpicklable
        return RuntimeError(f"{type(error).__name__}: {error}")
