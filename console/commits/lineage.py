"""Image lineage: every image points to its parent, down to a base image. This module finds the
lineage around some images (from the commits the console recorded and the images the hosts
report, both restricted to what the user may see) and draws it as a tree, in SVG, on the server.

Images are per host: the same ID on two hosts is two nodes. An image whose parent the user may
not see is drawn as a root, without saying what the parent is.
"""
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from console.images.models import Commit, Image

MAX_DEPTH = 200          # a longer chain is cut (images are rarely more than tens deep)
MAX_NODES = 400          # a bigger picture is cut, saying so


@dataclass
class Node:
    host_id: int
    host: str
    image_id: str
    parent_id: str = ""
    tags: list = field(default_factory=list)
    commit: Commit | None = None
    created: object = None
    children: list = field(default_factory=list)
    # layout: one row per image, a lane (column) per line of descent
    lane: int = 0
    row: int = 0

    @property
    def key(self):
        return (self.host_id, self.image_id)

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]

    @property
    def label(self) -> str:
        if self.tags:
            return self.tags[0]
        if self.commit is not None and self.commit.reference:
            return self.commit.reference
        return self.short_id


class Lineage:
    """The nodes found around some seed images, and their parent/child links."""

    def __init__(self, user):
        self.user = user
        self.nodes: dict = {}
        self.truncated = False

    # -- finding ------------------------------------------------------------------------

    def add_seeds(self, pairs, *, ancestors=True, descendants=False):
        """`pairs` of (host id, image id); then walk to their ancestors and/or descendants."""
        frontier = {pair for pair in pairs if pair[1]}
        self._learn(frontier)
        if ancestors:
            self._walk_up(frontier)
        if descendants:
            self._walk_down(frontier)
        return self

    def _node(self, host_id, host_name, image_id) -> Node:
        key = (host_id, image_id)
        if key not in self.nodes:
            if len(self.nodes) >= MAX_NODES:
                self.truncated = True
                return None
            self.nodes[key] = Node(host_id=host_id, host=host_name, image_id=image_id)
        return self.nodes[key]

    def _learn(self, pairs) -> set:
        """Read what the user may see of the images `pairs` (rows and commits); returns the
        pairs that turned out to exist for the user."""
        found = set()
        for host_id, ids in group_by_host(pairs).items():
            images = (Image.objects.restrict(self.user, "view").filter(host_id=host_id,
                                                                       image_id__in=ids)
                      .select_related("host"))
            for image in images:
                node = self._node(host_id, image.host.name, image.image_id)
                if node is None:
                    continue
                node.tags, node.parent_id = image.tags, node.parent_id or image.parent_id
                node.created = node.created or image.created
                found.add(node.key)
            commits = (Commit.objects.restrict(self.user, "view")
                       .filter(host_id=host_id, new_image_id__in=ids)
                       .select_related("host", "author").order_by("created_at", "pk"))
            for commit in commits:
                node = self._node(host_id, commit.host.name, commit.new_image_id)
                if node is None:
                    continue
                node.commit = commit
                node.parent_id = commit.parent_image_id or node.parent_id
                node.created = commit.created_at
                found.add(node.key)
        return found

    def _walk_up(self, frontier):
        for _ in range(MAX_DEPTH):
            parents = {(host_id, self.nodes[(host_id, image_id)].parent_id)
                       for host_id, image_id in frontier
                       if (host_id, image_id) in self.nodes
                       and self.nodes[(host_id, image_id)].parent_id}
            parents -= set(self.nodes)
            if not parents or self.truncated:
                return
            frontier = self._learn(parents)

    def _walk_down(self, frontier):
        for _ in range(MAX_DEPTH):
            children = set()
            for host_id, ids in group_by_host(frontier).items():
                children |= {(host_id, image_id) for image_id in
                             Commit.objects.restrict(self.user, "view")
                             .filter(host_id=host_id, parent_image_id__in=ids)
                             .values_list("new_image_id", flat=True)}
                children |= {(host_id, image_id) for image_id in
                             Image.objects.restrict(self.user, "view")
                             .filter(host_id=host_id, parent_id__in=ids)
                             .values_list("image_id", flat=True)}
            children -= set(self.nodes)
            if not children or self.truncated:
                return
            frontier = self._learn(children)

    # -- reading ------------------------------------------------------------------------

    def ancestry(self, host_id, image_id) -> list[Node]:
        """The chain from an image down to its base (or the first parent the user cannot see)."""
        chain, key = [], (host_id, image_id)
        while key in self.nodes and len(chain) < MAX_DEPTH:
            node = self.nodes[key]
            chain.append(node)
            key = (host_id, node.parent_id)
        return chain

    def roots(self) -> list[Node]:
        for node in self.nodes.values():
            node.children = []
        roots = []
        for node in self.nodes.values():
            parent = self.nodes.get((node.host_id, node.parent_id)) if node.parent_id else None
            if parent is None or parent is node:
                roots.append(node)
            else:
                parent.children.append(node)
        for node in self.nodes.values():
            node.children.sort(key=order_key)
        return sorted(roots, key=lambda n: (n.host, order_key(n)))


def group_by_host(pairs) -> dict:
    grouped = {}
    for host_id, image_id in pairs:
        grouped.setdefault(host_id, set()).add(image_id)
    return grouped


def order_key(node):
    return (node.created is None, node.created.isoformat() if node.created else "",
            node.image_id)


# -- drawing ------------------------------------------------------------------------------
#
# Like `git log --graph`, turned upside down so a lineage grows from its base: one row per
# image, parents above children. A first child continues its parent's lane; every further
# child opens a lane to the right. Labels sit right of all lanes, so no line crosses them.

LANE = 22         # px between lanes
ROW = 40          # px between rows
LEFT, TOP = 16, 30
LABEL_CHARS = 90


def layout(roots, first_row=0) -> tuple[int, int]:
    """Give every node of `roots` a row and a lane. Returns (rows used, lanes used)."""
    row, lanes = first_row, 0
    stack = [(root, None) for root in reversed(roots)]
    while stack:      # iterative pre-order: lineages can be deeper than Python's recursion
        node, lane = stack.pop()
        if lane is None:
            lane = lanes
            lanes += 1
        node.lane, node.row = lane, row
        row += 1
        for index, child in reversed(list(enumerate(node.children))):
            stack.append((child, lane if index == 0 else None))
    return row - first_row, lanes


def cut(text: str, size: int = LABEL_CHARS) -> str:
    return text if len(text) <= size else text[:size - 1] + "…"


def node_url(node: Node) -> str:
    if node.commit is not None:
        return reverse("commit-detail", args=[node.commit.pk])
    return reverse("commit-history") + "?" + urlencode({"image": node.image_id,
                                                        "host": node.host})


def render_svg(lineage: Lineage, *, current=None) -> str:
    """The lineage as an inline SVG picture; `current` (a node's key) is drawn highlighted."""
    roots = lineage.roots()
    if not roots:
        return ""
    by_host = {}
    for root in roots:
        by_host.setdefault(root.host, []).append(root)
    parts, y, widest = [], 0, 0
    for host, host_roots in sorted(by_host.items()):
        parts.append(f'<text class="lg-host" x="{LEFT}" y="{y + 18}">host {escape(host)}</text>')
        top = y + TOP
        rows, lanes = layout(host_roots)
        label_x = LEFT + lanes * LANE + 14
        nodes = list(walk(host_roots))
        for node in nodes:
            for child in node.children:
                parts.append(edge(node, child, top))
        for node in nodes:
            parts.append(draw_node(node, top, label_x, highlighted=node.key == current))
        y = top + rows * ROW
        widest = max(widest, label_x)
    if lineage.truncated:
        parts.append(f'<text class="lg-note" x="{LEFT}" y="{y + 14}">… more images than fit '
                     f'here: narrow the history to one image</text>')
        y += 24
    width, height = widest + 7 * LABEL_CHARS, y + 4
    return mark_safe(
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="image lineage">' + "".join(parts) + "</svg>")


def walk(roots):
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def point(node, top):
    return LEFT + 7 + node.lane * LANE, top + node.row * ROW + 8


def edge(parent, child, top) -> str:
    x1, y1 = point(parent, top)
    x2, y2 = point(child, top)
    if x1 == x2:
        return f'<path class="lg-edge" d="M{x1},{y1} V{y2}"/>'
    bend = y1 + ROW * 0.6       # leave the parent's lane, then run down the child's own
    return (f'<path class="lg-edge" d="M{x1},{y1} C{x1},{bend} {x2},{y1} {x2},{bend} '
            f'V{y2}"/>')


def draw_node(node: Node, top: int, label_x: int, *, highlighted: bool) -> str:
    x, y = point(node, top)
    kind = "commit" if node.commit is not None else ("base" if not node.parent_id else "image")
    classes = f"lg-node lg-{kind}" + (" lg-current" if highlighted else "")
    if node.commit is not None:
        commit = node.commit
        author = commit.author_name.split(" <")[0] or "?"
        detail = f"{node.short_id} · {author} · {commit.created_at:%Y-%m-%d %H:%M} · " \
                 f"{commit.subject or '(no message)'}"
        title = f"{node.label}\n{commit.author_name}\n{commit.message}"
    else:
        detail = node.short_id + (" · base image" if not node.parent_id else "")
        title = f"{node.label}\n{node.image_id}"
    return (f'<a href="{escape(node_url(node))}" class="{classes}" '
            f'data-image="{escape(node.image_id)}"><title>{escape(title)}</title>'
            f'<circle cx="{x}" cy="{y}" r="6"/>'
            f'<line class="lg-guide" x1="{x + 8}" y1="{y}" x2="{label_x - 4}" y2="{y}"/>'
            f'<text class="lg-label" x="{label_x}" y="{y - 1}">{escape(cut(node.label, 60))}'
            f'</text><text class="lg-detail" x="{label_x}" y="{y + 13}">'
            f'{escape(cut(detail))}</text></a>')
