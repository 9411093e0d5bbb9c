"""Adding layers to the store: from a directory (bootstrap, commit, build) or an archive
(import, load, pull). Both go through the safe packer/unpacker and end in
`ImageStore.register_layer`, under the store lock the caller holds."""

import os

from runtime.image.layer_pack import pack_layer
from runtime.image.layer_unpack import unpack_layer


def add_directory(store, directory: str, parent_chain: str | None) -> tuple[str, str]:
    """Hash `directory` (already in overlay layer format, inside the store's tmp/) as a
    canonical layer tar and move it into the store. Returns (diff_id, chain_id)."""
    packed = pack_layer(directory, None)
    chain_id = store.register_layer(directory, packed.diff_id, parent_chain,
                                    packed.content_size)
    return packed.diff_id, chain_id


def copy_directory(store, directory: str, parent_chain: str | None) -> tuple[str, str, int]:
    """Copy `directory` (a container's upper dir) into a new layer in one pass, hashing it as
    it goes. Returns (diff_id, chain_id, size of the file contents)."""
    with store.staging_dir("commit-") as staging:
        target = os.path.join(staging, "diff")
        os.mkdir(target)
        packed = pack_layer(directory, None, copy_to=target)
        chain_id = store.register_layer(target, packed.diff_id, parent_chain,
                                        packed.content_size)
    return packed.diff_id, chain_id, packed.content_size


def add_archive(store, stream, parent_chain: str | None, source: dict | None = None
                ) -> tuple[str, str, int]:
    """Unpack a layer archive safely into the store. Returns (diff_id, chain_id, size)."""
    with store.staging_dir("unpack-") as staging:
        target = os.path.join(staging, "diff")
        os.mkdir(target)
        stats = unpack_layer(stream, target)
        chain_id = store.register_layer(target, stats.diff_id, parent_chain, stats.size,
                                        source=source)
    return stats.diff_id, chain_id, stats.size
