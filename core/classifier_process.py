"""The classifier in a helper process, so the desktop application's own process never imports TensorFlow.

Importing TensorFlow and building the network hold Python's interpreter lock for hundreds of milliseconds at a time
(loading its native libraries cannot release it), so running them in a worker thread still froze the window on the
first analysis of a session. `ClassifierProcess` offers what the application uses of `core.model.Classifier`
(`manifest`, `is_loaded`, `load`, `predict`) and runs a real `Classifier` in a child process started with "spawn"
(forking a process that runs Qt threads is unsafe). Requests and answers travel over a multiprocessing pipe, a local
socket pair that never touches the network; a thread waiting for an answer does not hold the interpreter lock.

The child ends when the pipe closes: on `close()`, or when the application dies (the child then reads end-of-file).
If the child dies, the call in progress raises `ClassifierProcessError` and the next call starts a new child.
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
from core.model import Classifier, ModelManifest, SlicePrediction

_CLOSE_TIMEOUT_S = 5.0


class ClassifierProcess:
    """A `Classifier` running in a child process; thread-safe (requests are serialised)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self._local = Classifier(model_dir)  # reads the manifest here; never loads the network in this process
        self.model_dir = self._local.model_dir
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def manifest(self) -> ModelManifest:
        return self._local.manifest

    @property
    def is_loaded(self) -> bool:
        return self._loaded

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (diagnostics and tests)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def load(self) -> None:
        """Start the child if needed and have it verify the files and build the network (a few seconds)."""
        with self._lock:
            self._load_locked()

    def predict(self, images: Sequence[np.ndarray], with_cams: bool = True) -> list[SlicePrediction]:
        """As `Classifier.predict`: one prediction per uint8 display image."""
        with self._lock:
            self._load_locked()
            return self._request("predict", list(images), with_cams)

    def close(self) -> None:
        """End the child now (it holds nothing that needs a clean exit; TensorFlow's own shutdown takes ~2 s)."""
        with self._lock:
            self._stop_child()

    def _load_locked(self) -> None:
        if self._loaded:
            return
        if self._process is None:
            self._start_child()
        self._request("load")
        self._loaded = True

    def _start_child(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=serve, args=(child_end, self.model_dir), name="brainmri-classifier",
                                  daemon=True)  # never outlives the application, even if close() is not reached
        try:
            process.start()
        except OSError as error:
            parent_end.close()
            raise ClassifierProcessError(self.model_dir, f"the analysis process could not start ({error})") from error
        finally:
            child_end.close()  # the child holds its own copy; ours must close so its end-of-file reaches us
        self._process, self._connection = process, parent_end

    def _request(self, command: str, *arguments: Any) -> Any:
        assert self._connection is not None
        try:
            self._connection.send((command, *arguments))
            status, answer = self._connection.recv()
        except (EOFError, OSError) as error:
            exit_code = self._process.exitcode if self._process is not None else None
            self._stop_child()
            raise ClassifierProcessError(self.model_dir, f"the analysis process stopped unexpectedly (exit code "
                                                         f"{exit_code}); the next analysis starts it again") from error
        if status == "error":
            raise answer
        return answer

    def _stop_child(self) -> None:
        process, connection = self._process, self._connection
        self._process, self._connection, self._loaded = None, None, False
        if connection is not None:
            connection.close()
        if process is not None:
            process.terminate()
            process.join(_CLOSE_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()


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
        except Exception as error:  # noqa: BLE001 - every failure goes back to the caller, who reports it
            answer = ("error", _transferable(error))
        connection.send(answer)


def _transferable(error: Exception) -> Exception:
    """The error itself when it survives pickling, else a RuntimeError with the same text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - whatever makes it unpicklable
        return RuntimeError(f"{type(error).__name__}: {error}")
