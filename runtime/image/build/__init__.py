"""`moor build`: Dockerfile builds with the classic builder's semantics.

- parser.py       Dockerfile text -> instructions (directives, comments, continuations)
- instructions.py instructions -> typed commands and stages, all checked before a step runs
- words.py        quoting and `$VAR`/`${VAR:-default}` substitution
- context.py      the context snapshot and `.dockerignore`
- copying.py      COPY/ADD sources, their cache hash, confined copying, ADD's archives
- filesystem.py   COPY, ADD, WORKDIR through an overlay of the current image
- run.py          RUN in a container, committed with runtime.image.commit
- metadata.py     ENV, LABEL, CMD, ... and their history entries
- cache.py        step images and the classic cache
- leftovers.py    what a killed build leaves, found and removed by gc and the next build
- driver.py       the build: stages, steps, output
"""

from runtime.image.build.driver import BuildError, build

__all__ = ["build", "BuildError"]
