import sys

from runtime.cli import main

try:
    status = main()
except KeyboardInterrupt:       # an interrupt that came outside main's own handling
    status = 130
sys.exit(status)
