"""Moving images between hosts through a registry (the OCI Distribution API): `moor pull`,
`push`, `login`, `logout`.

names.py        a reference as typed -> registry, repository, familiar name (Docker's rules)
credentials.py  what `moor login` stored under the engine root
transport.py    HTTP/1.1 with keep-alive, TLS only when asked for
client.py       one repository of a registry: auth, redirects, manifests, blobs, uploads, errors
pull.py         manifest -> verified blobs -> layers unpacked, image registered, all or nothing
push.py         layers as gzip blobs (remembered as their sources), config, OCI manifest
policy.py       where a pull made for someone else may connect, and what its errors may tell
"""
