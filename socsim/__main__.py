"""``python -m socsim ARGS``: the command line (the same as the ``socsim`` script)."""

import sys

from socsim.cli import main

sys.exit(main())
