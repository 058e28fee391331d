"""``python -m spherecodes``: the same command line as the ``spherecodes`` script."""

import sys

from spherecodes.cli import main

sys.exit(main())
