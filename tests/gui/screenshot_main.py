"""Screenshot of the main window after analysing the sample study (resources/screenshot_main.png, for the README).

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m tests.gui.screenshot_main [--size 1600x1000] [--model-dir DIR]
                                                                                [--out PNG]

Runs the application's own start-up (`desktop.app.start`) on a throw-away settings folder, so the sample study opens
as on first run, then chooses Analysis → Analyse all slices and grabs the window once the verdict is shown, with
the probability profile above the slider. `--size` sets the window size (check layouts at 1280x800 and 1920x1080
too; give Xvfb a screen at least that large). Without a model (shipped or --model-dir) it stops rather than show an
invented result. Colours are reduced to a 256-colour palette so the PNG stays small.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QTimer

from core.model.classifier import MANIFEST_NAME
from core.paths import models_dir, resources_dir

DEFAULT_SIZE = "1600x1000"
# Slice shown in the screenshot (the sample's 4th image shows its lesion clearly).
SHOWN_SLICE = 3


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None, help="a model folder other than models/")
    parser.add_argument("--out", type=Path, default=resources_dir() / "screenshot_main.png")
    parser.add_argument("--size", type=window_size, default=window_size(DEFAULT_SIZE), metavar="WIDTHxHEIGHT",
                        help=f"window size in pixels (default {DEFAULT_SIZE})")
    return parser.parse_args()


def window_size(text: str) -> tuple[int, int]:
    """"1280x800" → (1280, 800)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1280x800, not {text!r}") from None
    return width, height


def main() -> int:
    arguments = parse_arguments()
    model_dir = arguments.model_dir or models_dir()
    if not (model_dir / MANIFEST_NAME).is_file():
        print(f"no model in {model_dir}: nothing honest to show", file=sys.stderr)
        return 1
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="brainmri-shot-")  # first run: opens the sample study
    from desktop.app import start

    app, window = start([], model_dir)
    window.resize(*arguments.size)

    def analyse_when_ready(_study: object) -> None:
        QTimer.singleShot(1500, window.analyse_all_action.trigger)  # once the load worker has ended

    def grab(_result: object) -> None:
        window.viewer.set_current_index(SHOWN_SLICE)
        QTimer.singleShot(800, save_and_quit)  # let the last status and bars paint

    def save_and_quit() -> None:
        path = Path(tempfile.mkdtemp()) / "shot.png"
        window.grab().save(str(path))
        Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
            arguments.out, optimize=True)
        print(f"{arguments.out}: {arguments.out.stat().st_size // 1024} KB")
        window.close()

    window.studyLoaded.connect(analyse_when_ready)
    window.analysisFinished.connect(grab)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
