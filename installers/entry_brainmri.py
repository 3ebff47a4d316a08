"""Frozen entry point of the desktop application (see installers/brainmri.spec)."""

import multiprocessing
import sys

# The model's helper process (core.model.remote) is this executable started again: this turns that start
# into the helper, before anything else is imported.
multiprocessing.freeze_support()

from desktop.app import main  # noqa: E402

sys.exit(main())
