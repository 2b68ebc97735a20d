"""``python -m cli gate ...``: the same as the ``mpr`` console script."""

import sys

from cli.gate import main

sys.exit(main())
