import sys

from scripts.gpu_check.cli import main

sys.exit(main())
