"""The image store: content-addressed blobs, shared unpacked layers, images and references.

- blobs/sha256/<hex>: image configs (an image's ID is the sha256 of its config bytes, exactly as
  stored) and original layer archives kept for push/save.
- layers/<chain hex>/diff: a layer unpacked once, used directly as an overlayfs lower dir by
  every image whose chain contains it; layer.json records its diff_id, parent chain and size;
  l/<link> is a short symlink to it so deep images fit in the mount option page.
- images/<id hex>.json: local metadata (the parent image, when known, as the client's notes
  describe: images form a linked list down to a base image).
- repositories.json: `name:tag` -> image ID.
- repodigests.json: `name@sha256:<manifest digest>` -> image ID, the manifests an image was
  pulled as or pushed as (Docker's RepoDigests).

Every write is atomic (staging under tmp/ + rename), under the store lock, so a crash never
leaves a half-image that `moor images` would show.
"""

import contextlib
import hashlib
import json
import os
import time

from runtime import atomic, staging
from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.image import reference as refs
from runtime.locking import locked
from runtime.paths import Paths

EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256("<ChainID(L0..n-1)> <DiffID(Ln)>")."""
    chains = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            chains.append("sha256:" + sha256_hex(f"{chains[-1]} {diff_id}".encode()))
    return chains


def _hex(digest: str) -> str:
    hexpart = digest[7:] if digest.startswith("sha256:") else digest
    if not refs.HEX64.match(hexpart):
        raise InvalidArgument(f"invalid digest: {digest!r}")
    return hexpart


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


class ImageStore:
    def __init__(self, paths: Paths):
        self.paths = paths

    # -- locking and staging ---------------------------------------------------------------

    def lock(self):
        return locked(self.paths.lock("images"))

    def staging_dir(self, prefix: str = "stage-"):
        """A fresh locked directory under tmp/, removed unless the caller renamed it away."""
        from runtime import staging
        return staging.working_dir(self.paths.tmp, prefix)

    # -- blobs -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.paths.blobs, _hex(digest))

    def has_blob(self, digest: str) -> bool:
        return os.path.exists(self.blob_path(digest))

    def put_blob(self, data: bytes) -> str:
        digest = "sha256:" + sha256_hex(data)
        path = self.blob_path(digest)
        if not os.path.exists(path):
            atomic.write_bytes(path, data, 0o600)
        return digest

    def put_blob_file(self, source_path: str, digest: str) -> None:
        """Move a file whose digest the caller verified into the blob store."""
        path = self.blob_path(digest)
        if os.path.exists(path):
            os.unlink(source_path)
        else:
            os.rename(source_path, path)

    def get_blob(self, digest: str) -> bytes:
        try:
            with open(self.blob_path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    # -- layers ------------------------------------------------------------------------------

    def layer_path(self, chain_id: str) -> str:
        return os.path.join(self.paths.layers, _hex(chain_id))

    def layer_diff(self, chain_id: str) -> str:
        return os.path.join(self.layer_path(chain_id), "diff")

    def has_layer(self, chain_id: str) -> bool:
        return os.path.exists(os.path.join(self.layer_path(chain_id), "layer.json"))

    def layer_info(self, chain_id: str) -> dict:
        info = atomic.read_json(os.path.join(self.layer_path(chain_id), "layer.json"))
        if info is None:
            raise NotFound(f"layer {chain_id} not found")
        return info

    def layer_link(self, chain_id: str) -> str:
        """The short name, relative to the root, overlayfs is given for this layer."""
        return os.path.join("l", self.layer_info(chain_id)["link"])

    def register_layer(self, staged_diff: str, diff_id: str, parent_chain: str | None,
                       size: int, source: dict | None = None) -> str:
        """Move an unpacked layer directory into the store; return its chain ID.

        If the store already has the layer, the staged directory is left for the caller's
        staging context to remove. Call with the store lock held.
        """
        chain_id = diff_id if parent_chain is None else (
            "sha256:" + sha256_hex(f"{parent_chain} {diff_id}".encode()))
        if self.has_layer(chain_id):
            if source and not self.layer_info(chain_id).get("source"):
                info = self.layer_info(chain_id)
                info["source"] = source
                atomic.write_json(os.path.join(self.layer_path(chain_id), "layer.json"), info)
            return chain_id
        final = self.layer_path(chain_id)
        if os.path.lexists(final):  # debris of a crash between rename and layer.json
            remove_tree(final)
        link = _hex(chain_id)[:20]
        holder = staging.make_dir(self.paths.tmp, "layer-")
        try:
            os.rename(staged_diff, os.path.join(holder, "diff"))
            os.chmod(holder, 0o700)
            atomic.write_json(os.path.join(holder, "layer.json"), {
                "chain_id": chain_id, "diff_id": diff_id, "parent": parent_chain,
                "size": size, "link": link, "source": source,
            })
            link_path = os.path.join(self.paths.links, link)
            if os.path.lexists(link_path):
                os.unlink(link_path)
            os.symlink(os.path.join("..", "layers", _hex(chain_id), "diff"), link_path)
            os.rename(holder, final)
        except BaseException:
            if os.path.lexists(holder):
                remove_tree(holder)
            raise
        return chain_id

    def remove_layer(self, chain_id: str) -> None:
        path = self.layer_path(chain_id)
        info = atomic.read_json(os.path.join(path, "layer.json"), {})
        link = info.get("link")
        if link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.paths.links, link))
        if os.path.lexists(path):
            # Rename first so a crash midway never leaves a half layer under its real name.
            doomed = staging.make_dir(self.paths.tmp, "doomed-")
            os.rename(path, os.path.join(doomed, "layer"))
            remove_tree(doomed)

    # -- images ------------------------------------------------------------------------------

    def _meta_path(self, image_id: str) -> str:
        return os.path.join(self.paths.images, _hex(image_id) + ".json")

    def exists(self, image_id: str) -> bool:
        return os.path.exists(self._meta_path(image_id))

    def image_ids(self) -> list[str]:
        try:
            names = os.listdir(self.paths.images)
        except FileNotFoundError:
            return []
        return ["sha256:" + n[:-5] for n in names if n.endswith(".json") and len(n) == 69]

    def config_bytes(self, image_id: str) -> bytes:
        return self.get_blob(image_id)

    def config(self, image_id: str) -> dict:
        return json.loads(self.config_bytes(image_id))

    def meta(self, image_id: str) -> dict:
        meta = atomic.read_json(self._meta_path(image_id))
        if meta is None:
            raise NotFound(f"No such image: {image_id}")
        return meta

    def parent(self, image_id: str) -> str | None:
        return self.meta(image_id).get("parent")

    def layers(self, image_id: str) -> list[str]:
        """Chain IDs of the image's layers, base first."""
        return chain_ids(self.config(image_id).get("rootfs", {}).get("diff_ids", []))

    def size(self, image_id: str) -> int:
        total = 0
        for chain in self.layers(image_id):
            with contextlib.suppress(NotFound):
                total += self.layer_info(chain).get("size", 0)
        return total

    def add_image(self, config_bytes: bytes, parent: str | None = None,
                  origin: str | None = None) -> str:
        """Register an image whose layers are already in the store. `origin` "build" marks
        a build's step image (the build cache). Call with the lock held."""
        config = json.loads(config_bytes)
        for chain in chain_ids(config.get("rootfs", {}).get("diff_ids", [])):
            if not self.has_layer(chain):
                raise NotFound(f"layer {chain} of the image is missing from the store")
        image_id = self.put_blob(config_bytes)
        if not self.exists(image_id):
            meta = {"parent": parent, "added": now_rfc3339()}
            if origin:
                meta["origin"] = origin
            atomic.write_json(self._meta_path(image_id), meta)
        return image_id

    # -- references --------------------------------------------------------------------------

    def references(self) -> dict[str, str]:
        return atomic.read_json(self.paths.repositories, {})

    def _save_references(self, table: dict[str, str]) -> None:
        atomic.write_json(self.paths.repositories, table)

    def tags_of(self, image_id: str) -> list[str]:
        return sorted(r for r, i in self.references().items() if i == image_id)

    @property
    def _digests_path(self) -> str:
        return os.path.join(self.paths.root, "repodigests.json")

    def digest_references(self) -> dict[str, str]:
        """`name@sha256:<manifest digest>` -> image ID."""
        return atomic.read_json(self._digests_path, {})

    def digests_of(self, image_id: str) -> list[str]:
        return sorted(r for r, i in self.digest_references().items() if i == image_id)

    def add_digest(self, image_id: str, ref: str) -> str:
        """Record that the image is the manifest `name@digest` names (pulled or pushed as
        it). Call with the lock held."""
        parsed = refs.parse(ref)
        if not parsed.digest:
            raise InvalidArgument(f"not a digest reference: {ref}")
        name = f"{parsed.name}@{parsed.digest}"
        table = self.digest_references()
        if table.get(name) != image_id:
            table[name] = image_id
            atomic.write_json(self._digests_path, table)
        return name

    def remove_digest(self, ref: str) -> str:
        parsed = refs.parse(ref)
        table = self.digest_references()
        image_id = table.pop(f"{parsed.name}@{parsed.digest}", None)
        if image_id is None:
            raise NotFound(f"No such image: {ref}")
        atomic.write_json(self._digests_path, table)
        return image_id

    def references_of(self, image_id: str) -> list[str]:
        """Every name of the image: its tags, then its digest references."""
        return self.tags_of(image_id) + self.digests_of(image_id)

    def remove_reference(self, ref: str) -> str:
        """Take a tag or a digest reference off its image; returns the image ID."""
        return self.remove_digest(ref) if refs.parse(ref).digest else self.untag(ref)

    def tag(self, image_id: str, ref: str) -> str:
        """Point `ref` at the image (moving it from any other image). Call with the lock held."""
        parsed = refs.parse(ref)
        if parsed.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        table = self.references()
        table[str(parsed)] = image_id
        self._save_references(table)
        return str(parsed)

    def untag(self, ref: str) -> str:
        parsed = str(refs.parse(ref))
        table = self.references()
        image_id = table.pop(parsed, None)
        if image_id is None:
            raise NotFound(f"No such image: {ref}")
        self._save_references(table)
        return image_id

    def resolve(self, text: str, among=None) -> str:
        """An image ID from a reference, a full ID or a unique ID prefix. With `among` (a set
        of image IDs), the other images are as if they were not there."""
        if not text:
            raise InvalidArgument("image reference must not be empty")
        table = self.references()
        if among is not None:
            table = {name: image_id for name, image_id in table.items() if image_id in among}
        if refs.looks_like_id(text):
            hexpart = text[7:] if text.startswith("sha256:") else text
            matches = [i for i in self.image_ids() if i[7:].startswith(hexpart)
                       and (among is None or i in among)]
            if len(matches) == 1 and (len(hexpart) >= 4 or text.startswith("sha256:")):
                return matches[0]
            if len(matches) > 1 and str(refs.parse(text)) not in table:
                raise Conflict(f"ambiguous image ID prefix {text!r}: {len(matches)} images match")
        try:
            parsed = refs.parse(text)
        except InvalidArgument:
            if refs.looks_like_id(text):
                raise NotFound(f"No such image: {text}") from None
            raise
        if parsed.digest:       # `name@sha256:...`, `name:tag@sha256:...`: by the digest
            image_id = self.digest_references().get(f"{parsed.name}@{parsed.digest}")
            if among is not None and image_id not in among:
                image_id = None
        else:
            image_id = table.get(str(parsed))
        if image_id is None or not self.exists(image_id):
            raise NotFound(f"No such image: {text}")
        return image_id

    def remove_image(self, image_id: str, layers_in_use: set[str]) -> list[str]:
        """Delete an untagged image and the layers nothing else uses. Lock held.
        Returns the chain IDs removed."""
        if self.references_of(image_id):
            raise Conflict(f"image {image_id} is still tagged")
        keep = set(layers_in_use)
        for other in self.image_ids():
            if other != image_id:
                with contextlib.suppress(NotFound):
                    keep.update(self.layers(other))
        removed = []
        try:
            mine = self.layers(image_id)
        except NotFound:
            mine = []
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._meta_path(image_id))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.blob_path(image_id))
        for chain in reversed(mine):
            if chain not in keep and self.has_layer(chain):
                source = self.layer_info(chain).get("source") or {}
                self.remove_layer(chain)
                if source.get("digest"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.blob_path(source["digest"]))
                removed.append(chain)
        # Children made from this image now point at nothing.
        for other in self.image_ids():
            meta = atomic.read_json(self._meta_path(other), {})
            if meta.get("parent") == image_id:
                meta["parent"] = None
                atomic.write_json(self._meta_path(other), meta)
        return removed


def remove_tree(path: str) -> None:
    """Remove a directory tree that may hold overlay whiteouts, read-only dirs or immutable
    modes, however deep. Never follows symlinks; leaves what cannot be removed."""
    from runtime.fdtree import remove_tree as remove
    remove(path, ignore_errors=True)
