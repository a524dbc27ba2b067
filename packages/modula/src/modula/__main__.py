import sys

from modula.cli import main

sys.exit(main())
