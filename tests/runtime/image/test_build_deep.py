"""Trees nested thousands of directories deep, in a build and around it: a context directory,
a RUN step that makes one and a COPY that reads it are clean one-line errors, and everything
the build made is removed again (Python's shutil.rmtree recurses once per level and gives up
with RecursionError near 1,000). The engine fixture fails a test that leaves a container,
mount, cgroup or staging directory behind."""

import os

import pytest

from runtime.fdtree import remove_tree
from tests.runtime.image.test_build import make_context

DEEP = 2000


def nest(directory: str, depth: int, name: str = "d") -> None:
    """`depth` directories `name` inside one another below `directory` (made through fds: the
    path is longer than PATH_MAX)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def test_a_tree_thousands_deep_is_removed(tmp_path):
    nest(str(tmp_path), DEEP)
    os.symlink("/etc", tmp_path / "d" / "d" / "link")
    os.chmod(tmp_path / "d" / "d", 0o500)        # read-only: made writable to empty it
    remove_tree(str(tmp_path / "d"))
    assert os.listdir(tmp_path) == []
    assert os.path.isdir("/etc")                  # the link went, not what it points to


def test_a_missing_tree_or_a_symlink_to_one_is_fine(tmp_path):
    remove_tree(str(tmp_path / "nothing"))
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "file").write_text("x")
    os.symlink(tmp_path / "kept", tmp_path / "link")
    remove_tree(str(tmp_path / "link"))
    assert os.listdir(tmp_path) == ["kept"] and (tmp_path / "kept" / "file").exists()


@pytest.mark.privileged
def test_moor_build_of_a_deep_directory_is_a_clean_error(engine, moor, tmp_path):
    context = make_context(tmp_path, "FROM busybox\nCOPY . /ctx/\n")
    nest(context, 1500)
    try:
        result = moor("build", context)
    finally:
        remove_tree(os.path.join(context, "d"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, result.stderr
    assert "directories nested deeper than 256 levels are not supported" in lines[0]


@pytest.mark.privileged
def test_copy_of_a_deep_tree_a_run_step_made_is_a_clean_error(engine, moor, tmp_path):
    before = set(engine.store.image_ids())
    context = make_context(tmp_path, (
        "FROM busybox AS deep\n"
        f"RUN i=0; while [ $i -lt {DEEP} ]; do mkdir d && cd d || exit 1; i=$((i+1)); done\n"
        "FROM busybox\n"
        "COPY --from=deep /d /d\n"))
    result = moor("build", context, timeout=300)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, result.stderr
    assert "directories nested deeper than 256 levels are not supported" in lines[0]
    assert lines[0].endswith("(Dockerfile line 4)")
    assert "Removing intermediate container" in result.stdout
    # The RUN step's image holds the deep layer: removing it removes that too.
    made = set(engine.store.image_ids()) - before
    assert len(made) == 1
    engine.remove_image(made.pop()[7:19])
    assert os.listdir(engine.paths.tmp) == []
