"""`moor build -` (a context archive or a Dockerfile on stdin), `-f -`, and Dockerfile
here-documents as BuildKit's frontend reads them (`RUN <<EOF`, `COPY <<EOF /path`): the
parser alone, then real builds whose images are run."""

import gzip
import io
import os
import subprocess
import sys
import tarfile

import pytest

from runtime.image.build import instructions
from runtime.image.build.parser import DockerfileError, parse
from tests.runtime.conftest import REPOSITORY

HEREDOCS = """FROM busybox
RUN <<EOF
echo "hello from a heredoc"
# a line the shell reads, not a Dockerfile comment
x=1; echo "x is $x"
EOF
COPY <<NOTE /note.txt
version $V
NOTE
ARG V=7
COPY <<-"RAW" <<LAST /dir/
\tliteral $V
\tRAW
last $V
LAST
RUN <<EOF
#!/bin/sh
echo "script at $0"
EOF
RUN cat <<EOF > /made
made by the shell for $V
EOF
CMD ["cat", "/note.txt", "/dir/RAW", "/dir/LAST", "/made"]
"""


# -- the parser --------------------------------------------------------------------------------

def test_heredocs_take_their_lines_and_keep_the_line_numbers_right():
    dockerfile = parse(HEREDOCS)
    nodes = {node.line: node for node in dockerfile.instructions}
    assert sorted(nodes) == [1, 2, 7, 10, 11, 16, 20, 23]
    run = nodes[2].heredocs[0]
    assert (run.name, run.chomp, run.expand) == ("EOF", False, True)
    assert run.content == ('echo "hello from a heredoc"\n# a line the shell reads, not a '
                           'Dockerfile comment\nx=1; echo "x is $x"\n')
    raw, last = nodes[11].heredocs
    assert (raw.name, raw.chomp, raw.expand, raw.text) == ("RAW", True, False, "literal $V\n")
    assert (last.name, last.expand, last.content) == ("LAST", True, "last $V\n")


def test_run_heredocs_become_what_buildkit_runs():
    meta, stages = instructions.stages(*_parsed(HEREDOCS))
    commands = {command.node.line: command for command in stages[0].commands}
    assert commands[2].shell_form == ('echo "hello from a heredoc"\n# a line the shell reads, '
                                      'not a Dockerfile comment\nx=1; echo "x is $x"\n')
    assert commands[16].shell_form == "/dev/pipes/EOF"
    assert commands[16].script == ("EOF", '#!/bin/sh\necho "script at $0"\n')
    assert commands[20].shell_form == "cat <<EOF > /made\nmade by the shell for $V\nEOF"
    copy = commands[11]
    assert (copy.sources, copy.destination) == ((), "/dir/")
    assert [document.name for document in copy.inline] == ["RAW", "LAST"]


def _parsed(text):
    dockerfile = parse(text)
    return dockerfile.instructions, dockerfile.escape


@pytest.mark.parametrize("text, line, message", [
    ("FROM busybox\nRUN <<EOF\necho never ends\n", 2, "unterminated heredoc EOF"),
    ("FROM busybox\nCOPY <<A\nx\nA\n", 2, "requires at least two arguments"),
    ("FROM busybox\nCOPY a <<B\nx\nB\n", 2, "a here-document cannot be the destination"),
])
def test_bad_heredocs_name_their_line(text, line, message):
    with pytest.raises(DockerfileError) as caught:
        instructions.stages(*_parsed(text))
    assert caught.value.line == line and message in caught.value.message


def test_what_is_no_heredoc_stays_text():
    dockerfile = parse('FROM busybox\nRUN ["echo", "<<X"]\nCMD cat <<EOF\nRUN echo a<<b\n')
    assert [node.heredocs for node in dockerfile.instructions] == [(), (), (), ()]
    assert len(dockerfile.instructions) == 4


# -- builds ------------------------------------------------------------------------------------

def moor_build(engine, *args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root,
                           "build", *args], cwd=REPOSITORY, input=stdin, capture_output=True,
                          timeout=300)


def output_of_image(engine, image: str, *cmd) -> str:
    container_id = engine.run({"image": image, "network": "none", **(
        {"cmd": list(cmd)} if cmd else {})})
    try:
        assert engine.wait(container_id) == 0
        return "".join(record.data.decode() for record in engine.logs(container_id))
    finally:
        engine.remove(container_id)


@pytest.mark.privileged
def test_a_dockerfile_on_stdin_with_heredocs_builds_and_runs(engine):
    result = moor_build(engine, "-t", "heredoc:1", "-", stdin=HEREDOCS.encode())
    output = result.stdout.decode()
    try:
        assert result.returncode == 0, result.stderr
        assert "hello from a heredoc\nx is 1\n" in output
        assert "script at /dev/pipes/EOF\n" in output
        assert output_of_image(engine, "heredoc:1") == \
            "version \nliteral $V\nlast 7\nmade by the shell for 7\n"
        # The script is mounted for its RUN, never left in the image.
        store = engine.store
        assert not any(os.path.lexists(os.path.join(store.layer_diff(chain), "dev", "pipes"))
                       for chain in store.layers(engine.image_id("heredoc:1")))
        again = moor_build(engine, "-t", "heredoc:1", "-", stdin=HEREDOCS.encode())
        assert again.stdout.decode().count(" ---> Using cache") == 7, again.stdout.decode()
        changed = HEREDOCS.replace('echo "script at $0"', 'echo "changed at $0"')
        rebuilt = moor_build(engine, "-t", "heredoc:2", "-", stdin=changed.encode())
        assert "changed at /dev/pipes/EOF\n" in rebuilt.stdout.decode(), rebuilt.stderr
    finally:
        for tag in ("heredoc:1", "heredoc:2"):
            try:
                engine.remove_image(tag, force=True)
            except Exception:
                pass
    assert os.listdir(engine.paths.tmp) == []


def _context_archive(files: dict, compress) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o644
            archive.addfile(info, io.BytesIO(content))
    return compress(buffer.getvalue())


@pytest.mark.privileged
@pytest.mark.parametrize("compress", [lambda data: data, gzip.compress], ids=["tar", "gzip"])
def test_a_context_archive_on_stdin(engine, compress):
    archive = _context_archive({
        "Dockerfile": b"FROM busybox\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n",
        "build/Other.Dockerfile": b"FROM busybox\nCOPY hello.txt /other.txt\n"
                                  b"CMD [\"cat\", \"/other.txt\"]\n",
        "hello.txt": b"from the archive\n"}, compress)
    try:
        result = moor_build(engine, "-q", "-t", "stdin-context:1", "-", stdin=archive)
        assert result.returncode == 0, result.stderr
        assert output_of_image(engine, "stdin-context:1") == "from the archive\n"
        # -f names a Dockerfile inside the archive.
        result = moor_build(engine, "-q", "-t", "stdin-context:2", "-f",
                            "build/Other.Dockerfile", "-", stdin=archive)
        assert result.returncode == 0, result.stderr
        assert output_of_image(engine, "stdin-context:2") == "from the archive\n"
    finally:
        for tag in ("stdin-context:1", "stdin-context:2"):
            try:
                engine.remove_image(tag, force=True)
            except Exception:
                pass
    assert os.listdir(engine.paths.tmp) == []


@pytest.mark.privileged
def test_a_dockerfile_on_stdin_with_a_context_directory(engine, tmp_path):
    (tmp_path / "hello.txt").write_text("from the directory\n")
    dockerfile = b"FROM busybox\nCOPY hello.txt /\nCMD [\"cat\", \"/hello.txt\"]\n"
    result = moor_build(engine, "-q", "-t", "stdin-file:1", "-f", "-", str(tmp_path),
                        stdin=dockerfile)
    try:
        assert result.returncode == 0, result.stderr
        assert output_of_image(engine, "stdin-file:1") == "from the directory\n"
    finally:
        engine.remove_image("stdin-file:1", force=True)


@pytest.mark.privileged
@pytest.mark.parametrize("args, stdin, message", [
    (["-f", "-", "-"], b"FROM busybox\n",
     "Error: invalid argument: can't use stdin for both build context and dockerfile\n"),
    (["-"], b"", "Error: Dockerfile parse error line 1: the Dockerfile has no instructions\n"),
])
def test_stdin_mistakes_are_one_line(engine, args, stdin, message):
    result = moor_build(engine, *args, stdin=stdin)
    assert (result.returncode, result.stderr.decode()) == (1, message)
    assert os.listdir(engine.paths.tmp) == []


@pytest.mark.privileged
def test_a_hostile_context_on_stdin_is_refused_and_leaves_nothing(engine):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    result = moor_build(engine, "-", stdin=buffer.getvalue())
    assert result.returncode == 1 and result.stderr.decode().startswith("Error: ")
    assert len(result.stderr.decode().splitlines()) == 1
    assert os.listdir(engine.paths.tmp) == []
    assert not os.path.exists(os.path.join(engine.paths.tmp, "..", "escape.txt"))
