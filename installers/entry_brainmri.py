"""Frozen entry point of the desktop application (see installers/brainmri.spec)."""

import sys

from desktop.app import main

sys.exit(main())
