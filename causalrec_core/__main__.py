import sys

from causalrec_core.cli import main

sys.exit(main())
