"""Reading one Compose file: bounded size, PyYAML's safe loader, alias bombs refused, and the
YAML nodes kept so that any value can be traced back to its line.

PyYAML's safe loader shares one Python object between an anchor and its aliases, so a
"billion laughs" document costs little to construct but explodes in everything that walks it
afterwards (interpolation, schema validation, hashing). Before constructing anything, the
node graph is measured as if every alias were expanded; a document larger than
`MAX_EXPANDED_NODES` (go-yaml, which compose-go uses, refuses excessive aliasing the same
way), nested deeper than `MAX_DEPTH`, or holding a recursive alias is refused.

Compose's merge tags are understood: `!reset` (drop what earlier files set) and `!override`
(replace instead of merging), see `runtime.compose.merge`.
"""

import os

import yaml

from runtime.compose.errors import ComposeError

MAX_FILE_BYTES = 4 << 20          # a Compose file larger than this is refused unread
MAX_EXPANDED_NODES = 250_000      # scalars, sequences and mappings once aliases are expanded
MAX_DEPTH = 100                   # nesting of sequences and mappings


class Reset:
    """A value tagged `!reset`: the merged model drops the attribute."""

    def __init__(self, value=None):
        self.value = value

    def __repr__(self):
        return "Reset()"


class Override:
    """A value tagged `!override`: it replaces the earlier files' value instead of merging."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Override({self.value!r})"


class _Loader(yaml.SafeLoader):
    """The safe loader, plus Compose's two merge tags."""


def _construct_any(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node) if node.value != "" else None


_Loader.add_constructor("!reset", lambda loader, node: Reset(_construct_any(loader, node)))
_Loader.add_constructor("!override", lambda loader, node: Override(_construct_any(loader, node)))


class Document:
    """One file's data (after YAML), with its nodes for `line()`."""

    def __init__(self, name: str, data: dict, root):
        self.name = name            # the path as shown in messages
        self.data = data
        self._root = root

    def node_at(self, path):
        """The YAML node of `path` (a sequence of keys and indices), or the nearest parent
        that exists."""
        node = self._root
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        return node

    def line(self, path) -> int | None:
        """The line of `path`: of its key, for an entry of a mapping (where a reader looks
        for `ports:` rather than for its first item), else of its value."""
        node, mark = self._root, None
        for step in path:
            if node is None:
                break
            key = _key(node, step)
            child = _child(node, step)
            if child is None:
                break
            mark = (key or child).start_mark
            node = child
        if mark is None:
            return self._root.start_mark.line + 1 if self._root is not None else None
        return mark.line + 1

    def has(self, path) -> bool:
        node = self._root
        for step in path:
            node = _child(node, step)
            if node is None:
                return False
        return True

    def where(self, path) -> str:
        line = self.line(path)
        return f"{self.name}, line {line}" if line else self.name


def _key(node, step):
    """The key node of a mapping entry (through `<<` merges), or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    merged = None
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            merged = value
        elif isinstance(key, yaml.ScalarNode) and key.value == str(step):
            return key
    if merged is not None:
        for source in (merged.value if isinstance(merged, yaml.SequenceNode) else [merged]):
            found = _key(source, step)
            if found is not None:
                return found
    return None


def _child(node, step):
    if isinstance(node, yaml.MappingNode):
        merged = None
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                merged = value
            elif isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return value
        if merged is not None:  # `<<: *anchor` or `<<: [*a, *b]`
            sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
            for source in sources:
                found = _child(source, step)
                if found is not None:
                    return found
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        return node.value[step] if 0 <= step < len(node.value) else None
    return None


def read_text(path: str) -> str:
    """A file's text, refusing one that is too large before reading it whole."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ComposeError(f"no such Compose file: {path}") from None
    except OSError as error:
        raise ComposeError(f"cannot read {path}: {error.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_FILE_BYTES:
            raise ComposeError(f"{path} is {_mib(size)}, larger than the {_mib(MAX_FILE_BYTES)} "
                               f"a Compose file may be")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 16):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise ComposeError(f"{path} is larger than the {_mib(MAX_FILE_BYTES)} a "
                                   f"Compose file may be")
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ComposeError(f"{path} is not UTF-8 text (byte {error.start})") from None


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def parse(text: str, name: str) -> Document:
    """Parse one Compose file's text (`name` is how messages call it)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ComposeError(f"{name} is larger than the {_mib(MAX_FILE_BYTES)} a Compose file "
                           f"may be")
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
            if root is None:
                return Document(name, {}, None)
            _measure(root, name)
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}, line {mark.line + 1}" if mark else name
        problem = error.problem or error.context or "invalid YAML"
        raise ComposeError(f"{where}: {problem}") from None
    except yaml.YAMLError as error:
        raise ComposeError(f"{name}: {error}") from None
    except RecursionError:
        raise ComposeError(f"{name}: nested too deeply (more than {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise ComposeError(f"{name}: a Compose file is a mapping at the top level, not "
                           f"{type(data).__name__}")
    return Document(name, data, root)


def _measure(root, name: str) -> None:
    """Refuse a node graph that is too large once aliases are expanded, too deep, or
    recursive — without expanding it (each distinct node is visited once)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # an explicit stack: a deeply nested file must not exhaust Python's own
    stack = [(root, 0, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            sizes[key] = size
            if size > MAX_EXPANDED_NODES:
                raise ComposeError(
                    f"{name}, line {node.start_mark.line + 1}: the document expands to more "
                    f"than {MAX_EXPANDED_NODES} values through its aliases (anchors re-used "
                    f"inside each other); Moorage refuses it")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ComposeError(f"{name}, line {node.start_mark.line + 1}: an alias refers to a "
                               f"node that contains it (a recursive anchor)")
        if depth > MAX_DEPTH:
            raise ComposeError(f"{name}, line {node.start_mark.line + 1}: nested too deeply "
                               f"(more than {MAX_DEPTH} levels)")
        open_nodes.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise ComposeError(f"{name}, line {child.start_mark.line + 1}: an alias refers "
                                   f"to a node that contains it (a recursive anchor)")
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
