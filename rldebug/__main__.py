"""``python -m rldebug ...``: the same as the ``rldebug`` command."""

import sys

from rldebug.cli import main

sys.exit(main())
