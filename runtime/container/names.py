"""Container names: validation, and Docker-style generated ones (`brave_turing`)."""

import os
import re

from runtime.errors import InvalidArgument

VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")

_ADJECTIVES = (
    "agile", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fair",
    "fond", "gentle", "happy", "hardy", "keen", "kind", "lively", "loyal", "lucid", "merry",
    "modest", "nimble", "noble", "patient", "polite", "proud", "quick", "quiet", "rapid",
    "ready", "serene", "sharp", "shiny", "steady", "stoic", "sturdy", "swift", "tender",
    "tidy", "upbeat", "vivid", "wise", "witty", "zealous",
)
_SURNAMES = (
    "agnesi", "babbage", "bardeen", "bell", "boole", "cerf", "curie", "darwin", "dijkstra",
    "einstein", "euler", "fermat", "feynman", "franklin", "galileo", "gauss", "goodall",
    "hamilton", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace",
    "maxwell", "meitner", "newton", "noether", "pascal", "perlman", "ritchie", "shannon",
    "thompson", "torvalds", "turing", "wozniak", "yalow",
)


def validate(name: str) -> str:
    name = name[1:] if name.startswith("/") else name
    if not VALID.match(name):
        raise InvalidArgument(
            f"invalid container name ({name!r}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name


def _pick(words):
    return words[int.from_bytes(os.urandom(4), "little") % len(words)]


def generate(is_taken) -> str:
    """A free generated name; `is_taken(name)` says whether a name is in use."""
    for attempt in range(1000):
        name = f"{_pick(_ADJECTIVES)}_{_pick(_SURNAMES)}"
        if attempt > 10:
            name += str(int.from_bytes(os.urandom(1), "little") % 100)
        if not is_taken(name):
            return name
    raise InvalidArgument("could not generate a free container name")
