"""``python -m actlab``: the command line (see :mod:`actlab.cli`)."""

import sys

from .cli import main

sys.exit(main())
