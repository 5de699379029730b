"""``python -m socsim.cli``: the socsim command."""

import sys

from socsim.cli import main

sys.exit(main())
