import sys

from htcgen.cli import main

sys.exit(main())
