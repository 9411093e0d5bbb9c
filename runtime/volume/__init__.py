"""Named and anonymous volumes, with Docker's `local` driver semantics.

- `names`: what a volume may be called.
- `store`: the volumes themselves, one directory each under `<root>/volumes/<name>/`.
- `specs`: how a container's mounts are asked for (`-v`, `--mount`, `--tmpfs`, an image's
  `VOLUME`), parsed and checked before anything is made; `tmpfs` for tmpfs options,
  `destinations` for where a mount may go.
- `mountpoints`: a container's mounts at create (volumes made or found, copy-up), at start
  (the OCI mounts), in `inspect`, at removal (`rm -v`), and for `cp` into a stopped one.
- `copyup`: the image's files copied into an empty volume, one descriptor at a time.
"""
