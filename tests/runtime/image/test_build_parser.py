"""The Dockerfile parser, word substitution, instruction checks and .dockerignore rules of
`moor build` — pure functions, no containers."""

import pytest

from runtime.errors import InvalidArgument
from runtime.image.build import instructions
from runtime.image.build.context import IgnoreRules, pattern_regex
from runtime.image.build.metadata import exposed_ports, go_duration, go_quoted
from runtime.image.build.parser import DockerfileError, parse
from runtime.image.build.run import created_by
from runtime.image.build.words import split_words, substitute, substitute_words


def stages(text: str):
    dockerfile = parse(text)
    return instructions.stages(dockerfile.instructions, dockerfile.escape)


# -- lines ---------------------------------------------------------------------------------

def test_continuations_comments_and_blank_lines_join_one_instruction():
    dockerfile = parse("FROM busybox\n"
                       "RUN echo a \\\n"
                       "  # a comment inside\n"
                       "\n"
                       "  && echo b\n"
                       "# a comment\n"
                       "CMD x\n")
    run = dockerfile.instructions[1]
    assert run.keyword == "RUN" and run.line == 2
    assert run.arguments == "echo a   && echo b"
    assert [i.keyword for i in dockerfile.instructions] == ["FROM", "RUN", "CMD"]
    assert dockerfile.instructions[2].line == 7


def test_instructions_are_case_insensitive_and_keep_what_was_written():
    dockerfile = parse("from busybox\nRun echo hi\n")
    assert [i.keyword for i in dockerfile.instructions] == ["FROM", "RUN"]
    assert dockerfile.instructions[1].original == "Run echo hi"


def test_escape_directive_changes_the_continuation_character():
    dockerfile = parse("# escape=`\nFROM busybox\nRUN echo a `\n b\nRUN echo c\\\n")
    assert dockerfile.escape == "`"
    assert dockerfile.instructions[1].arguments == "echo a  b"
    assert dockerfile.instructions[2].arguments == "echo c\\"


def test_directives_only_count_at_the_top():
    dockerfile = parse("FROM busybox\n# escape=`\nRUN echo a \\\n b\n")
    assert dockerfile.escape == "\\"
    assert dockerfile.instructions[1].arguments == "echo a  b"


def test_bad_escape_directive_is_refused():
    with pytest.raises(DockerfileError, match="line 1: invalid escape token"):
        parse("# escape=x\nFROM busybox\n")


def test_unknown_instruction_names_its_line():
    with pytest.raises(DockerfileError) as caught:
        parse("FROM busybox\n\nFORM busybox\n")
    assert str(caught.value) == "Dockerfile parse error line 3: unknown instruction: FORM"


def test_a_10000_character_garbage_line_is_a_short_clean_error():
    with pytest.raises(DockerfileError) as caught:
        parse("FROM busybox\n" + "A" * 10_000 + "\n")
    message = str(caught.value)
    assert message.startswith("Dockerfile parse error line 2: unknown instruction: AAAA")
    assert len(message) < 200 and "\n" not in message


def test_a_line_longer_than_dockers_scanner_allows_is_refused():
    with pytest.raises(DockerfileError, match="line 2: line is longer than 65536"):
        parse("FROM busybox\nRUN echo " + "x" * 70_000 + "\n")


def test_a_long_but_legal_line_parses():
    dockerfile = parse("FROM busybox\nRUN echo " + "x" * 10_000 + "\n")
    assert len(dockerfile.instructions[1].arguments) == 10_005


def test_flags_are_split_from_the_arguments():
    dockerfile = parse("FROM busybox\nCOPY --from=builder --chown=1:2 a b /c/\n")
    copy = dockerfile.instructions[1]
    assert copy.flags == (("from", "builder"), ("chown", "1:2"))
    assert copy.arguments == "a b /c/"


# -- words -----------------------------------------------------------------------------------

ENV = {"A": "1", "EMPTY": "", "TWO": "two words"}


@pytest.mark.parametrize("text,expected", [
    ("$A", "1"), ("${A}", "1"), ("${A}b", "1b"), ("$UNSET", ""),
    ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"), ("${UNSET:-a b}", "a b"),
    ("${A:+x}", "x"), ("${EMPTY:+x}", ""), ("${EMPTY+x}", "x"), ("${UNSET+x}", ""),
    ('"$A"', "1"), ("'$A'", "$A"), ("\\$A", "$A"), ("a$", "a$"), ('"a \\" b"', 'a " b'),
    ("x${TWO}y", "xtwo wordsy"),
])
def test_substitution(text, expected):
    assert substitute(text, ENV) == expected


def test_substitution_with_the_backtick_escape():
    assert substitute("`$A", ENV, escape="`") == "$A"
    assert substitute("C:\\dir", ENV, escape="`") == "C:\\dir"


@pytest.mark.parametrize("text,message", [
    ("${A", "missing '}'"), ("${:-x}", "a variable name must follow"),
    ("${A%x}", "unsupported modifier"), ('"abc', "double-quote"), ("'abc", "single-quote"),
    ("${UNSET:?is required}", "UNSET: is required"),
])
def test_bad_substitutions_are_errors(text, message):
    with pytest.raises(InvalidArgument, match=message):
        substitute(text, ENV)


def test_words_split_on_unquoted_whitespace_only():
    assert substitute_words('a "b c" $TWO d', ENV) == ["a", "b c", "two words", "d"]
    assert split_words('A=1 B="x y" C=a\\ b') == ["A=1", 'B="x y"', "C=a\\ b"]


# -- instructions and stages ------------------------------------------------------------------

def test_exec_and_shell_forms():
    _, (stage,) = stages('FROM busybox\nRUN ["echo", "hi"]\nRUN echo hi\nRUN [ -f /x ]\n')
    exec_run, shell_run, test_run = stage.commands
    assert exec_run.exec_form == ("echo", "hi") and exec_run.shell_form is None
    assert shell_run.shell_form == "echo hi"
    assert test_run.shell_form == "[ -f /x ]"   # the shell's `[`, not JSON


def test_bad_json_is_an_error_with_its_line():
    with pytest.raises(DockerfileError, match='line 2: CMD: invalid JSON array'):
        stages('FROM busybox\nCMD ["echo", hi]\n')
    with pytest.raises(DockerfileError, match="line 2: SHELL requires the arguments to be "
                                              "in JSON form"):
        stages("FROM busybox\nSHELL /bin/bash -c\n")


def test_missing_from_is_an_error():
    with pytest.raises(DockerfileError, match="line 1: ENV before FROM"):
        stages("ENV A=1\nFROM busybox\n")
    with pytest.raises(DockerfileError, match="no FROM instruction"):
        stages("ARG A=1\n")
    with pytest.raises(DockerfileError, match="no instructions"):
        stages("# nothing here\n\n")


def test_args_before_from_and_named_stages():
    meta_args, parsed = stages("ARG BASE=busybox\nFROM $BASE AS Builder\nRUN true\n"
                               "FROM busybox\nCOPY --from=builder /a /a\n")
    assert [a.names for a in meta_args] == [(("BASE", "busybox"),)]
    assert [s.name for s in parsed] == ["builder", None]
    assert parsed[1].commands[0].source_stage == "builder"


def test_duplicate_stage_names_are_refused():
    with pytest.raises(DockerfileError, match="line 2: duplicate name for build stage"):
        stages("FROM busybox AS a\nFROM busybox AS a\n")


@pytest.mark.parametrize("line,message", [
    ("COPY onlyone", "COPY requires at least two arguments"),
    ("COPY --bogus=1 a b", "unknown flag: --bogus"),
    ("RUN --mount=type=cache,target=/x true", "RUN --mount needs BuildKit"),
    ("ENV", "ENV requires at least one argument"),
    ("ENV A", "ENV must have two arguments"),
    ("ENV A=1 B", "syntax error - can.t find = in .B."),
    ("FROM a b", "FROM requires either one or three arguments"),
    ("HEALTHCHECK --interval=fast CMD true", "HEALTHCHECK --interval: invalid duration"),
    ("HEALTHCHECK SOMETIMES true", "unknown type"),
    ("ONBUILD ONBUILD RUN true", "ONBUILD isn't allowed as an ONBUILD trigger"),
    ("ONBUILD FORM x", "unknown instruction: FORM"),
    ("WORKDIR", "WORKDIR requires at least one argument"),
])
def test_malformed_instructions(line, message):
    with pytest.raises(DockerfileError, match="line 2: " + message.replace("[", "\\[")):
        stages(f"FROM busybox\n{line}\n")


def test_healthcheck_durations_are_nanoseconds():
    _, (stage,) = stages("FROM busybox\nHEALTHCHECK --interval=1m30s --timeout=500ms "
                         "--retries=3 CMD wget -q localhost\n")
    check = stage.commands[0]
    assert check.test == ("CMD-SHELL", "wget -q localhost")
    assert (check.interval, check.timeout, check.retries) == (90_000_000_000, 500_000_000, 3)


# -- Docker's renderings ---------------------------------------------------------------------

def test_go_renderings_used_in_history():
    assert go_quoted(["sh", "-c", "echo hi"]) == '["sh" "-c" "echo hi"]'
    assert [go_duration(n) for n in (0, 500, 1500, 2_000_000, 30_000_000_000, 90_000_000_000,
                                     3_600_000_000_000)] == \
        ["0s", "500ns", "1.5µs", "2ms", "30s", "1m30s", "1h0m0s"]


def test_run_history_carries_the_build_arguments():
    assert created_by(["/bin/sh", "-c", "echo"], None) == "/bin/sh -c echo"
    assert created_by(["/bin/sh", "-c", "echo"], ["B=2", "A=1"]) == \
        "|2 B=2 A=1 /bin/sh -c echo"


def test_exposed_ports():
    assert exposed_ports("80") == ["80/tcp"]
    assert exposed_ports("53/UDP") == ["53/udp"]
    assert exposed_ports("8000-8002") == ["8000/tcp", "8001/tcp", "8002/tcp"]
    for bad in ("http", "80/icmp", "0", "70000", "9-3"):
        with pytest.raises(InvalidArgument):
            exposed_ports(bad)


# -- .dockerignore ---------------------------------------------------------------------------

def test_dockerignore_rules():
    rules = IgnoreRules(["# a comment", "*.log", "docs", "!docs/README.md", "**/tmp",
                         "/abs/", "  ", "./build/"])
    excluded = {p for p in ("a.log", "x/a.log", "docs", "docs/x", "docs/README.md",
                            "a/b/tmp", "tmp", "tmp/x", "abs", "abs/f", "src/x", "build/out")
                if rules.excluded(p)}
    assert excluded == {"a.log", "docs", "docs/x", "a/b/tmp", "tmp", "tmp/x", "abs", "abs/f",
                        "build/out"}
    assert rules.may_include_below("docs") and not rules.may_include_below("abs")


def test_last_matching_pattern_wins():
    rules = IgnoreRules(["*.md", "!README.md", "README.md"])
    assert rules.excluded("README.md")
    rules = IgnoreRules(["*", "!keep"])
    assert rules.excluded("other") and not rules.excluded("keep")


def test_go_match_syntax():
    assert pattern_regex("[a-c]?.txt", double_star=False).match("b1.txt")
    assert not pattern_regex("*.txt", double_star=False).match("dir/a.txt")
    assert pattern_regex("[^a]x", double_star=False).match("bx")
    assert not pattern_regex("[^a]x", double_star=False).match("ax")
    assert pattern_regex("\\*x", double_star=False).match("*x")
