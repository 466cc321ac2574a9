"""`python -m chatrepl`."""

import sys

from chatrepl.cli import main

sys.exit(main())
