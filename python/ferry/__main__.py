"""`python -m ferry ...` is the `ferry` command line."""
import sys

from .cli import main

sys.exit(main())
