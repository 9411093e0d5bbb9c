"""The resident engine service (`moor system service`): Docker's Engine API 1.41 on a
root-only Unix socket, for the tools people use with Docker (the docker CLI, docker-py,
docker-compose, Testcontainers).

    server.py       the aiohttp application, the socket, the Service every route shares
    wire.py         Docker's wire conventions: errors, parameters, stream framing, hijacking
    routes.py       the endpoint table (implemented, and 501 for the rest)
    translate.py    Docker's container JSON -> Engine.create options
    view.py         the containers in memory, for listings
    containers.py attach.py exec.py archive.py images.py build.py distribution.py
    networks.py volumes.py system.py     the routes, one module per resource
    commands.py     the command server: `moor` command lines run in the service
    client.py       `moor`'s side of that (interpreter built-ins only)

Only `moor system service` loads aiohttp; the command line loads `client.py` alone.
The socket is root-equivalent: whoever can write to it can run privileged containers with the
host's file system mounted. It knows nothing of the console's teams, grants or audit.
"""
