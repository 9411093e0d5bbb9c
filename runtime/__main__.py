import sys

from runtime.service import client

status = client.forward(sys.argv[1:])
if status is not None:
    client.leave(status)
else:
    from runtime.cli import main

    try:
        status = main(sys.argv[1:])
    except KeyboardInterrupt:       # an interrupt that came outside main's own handling
        status = 130
sys.exit(status)
