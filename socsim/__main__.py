"""``python -m socsim``: the ``socsim`` command (socsim.cli)."""

import sys

from socsim.cli import main

sys.exit(main())
