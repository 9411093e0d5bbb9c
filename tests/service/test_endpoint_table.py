"""docs/engine-api.md lists exactly the endpoints the service serves and those it answers
501, and the plain command line never loads the service's HTTP server."""

import os
import re
import subprocess
import sys

from runtime.service import routes

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROW = re.compile(r"^\| (GET|HEAD|POST|PUT|DELETE) \| `([^`]+)` \|")


def documented(section: str) -> list[tuple[str, str]]:
    with open(os.path.join(REPOSITORY, "docs", "engine-api.md")) as f:
        text = f.read()
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [match.groups() for line in part.splitlines() if (match := ROW.match(line))]


def test_the_documented_endpoints_are_the_served_ones():
    assert documented("Implemented endpoints") == [(m, p) for m, p, _ in routes.IMPLEMENTED]
    assert documented("Answered with 501") == [(m, p) for m, p, _ in routes.NOT_IMPLEMENTED]


def test_the_plain_command_line_does_not_load_aiohttp():
    """Only serving imports the HTTP server; `moor ps`, even `moor system service --help`,
    do not pay for it."""
    for verb in (["ps", "--help"], ["system", "service", "--help"]):
        check = subprocess.run(
            [sys.executable, "-c", "import sys, runtime.cli as cli\n"
             f"try:\n    cli.main({verb!r})\nexcept SystemExit:\n    pass\n"
             "print('aiohttp loaded' if 'aiohttp' in sys.modules else 'aiohttp not loaded')"],
            cwd=REPOSITORY, capture_output=True, text=True)
        assert check.stdout.splitlines()[-1] == "aiohttp not loaded", check.stderr
