import sys

from lmcommon.cli import main

sys.exit(main())
