"""`python -m tinygrad_rnn.run SCRIPT [ARGS...]`: see tinygrad_rnn.run."""

import sys

from . import main

sys.exit(main())
