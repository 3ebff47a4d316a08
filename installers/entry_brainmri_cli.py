"""Frozen entry point of the command-line interface (see installers/brainmri.spec)."""

import sys

from core.cli import main

sys.exit(main())
