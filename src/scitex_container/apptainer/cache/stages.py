"""Splitting a def file into stages whose results can be cached.

A single-stage def becomes:

* ``bootstrap``: the header alone (debootstrap, localimage, scratch, ...);
  the automatic checkpoint.
* ``post-1`` .. ``post-N``: ``%post`` cut at each checkpoint marker
  (:mod:`.markers`); ``post-1`` also applies ``%files`` (apptainer copies
  them before ``%post`` runs, so the order is the same as a cold build's).
  A def with ``%files`` and no ``%post`` has one such stage with an empty
  ``%post``.
* ``final``: everything else (``%environment``, ``%runscript``, ``%labels``,
  ``%help``, ``%test``, ``%startscript``, apps), applied on the last cached
  stage; never cached itself, so a change there reuses every ``%post`` stage.

Each stage after the bootstrap is built as ``Bootstrap: localimage`` from
the previous stage's root file system.  A def the cache cannot split
faithfully gets a plan with ``uncacheable`` set and is built cold: a
multi-stage def (:data:`MULTI_STAGE_COLD`; the code that caches each earlier
``Stage:`` on its own, :mod:`.multistage`, is kept behind it), ``%setup``
(it reads the host in ways no key can see), more than one ``%post``, any
``%app*`` section (apptainer applies them after all of ``%post``, which a
cold build's ``%post`` sees in ``/scif/apps``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from scitex_container.apptainer.cache import multistage
from scitex_container.apptainer.cache.markers import checkpoint_lines, is_marker
from scitex_container.apptainer.cache.shellstate import wrap
from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.apptainer.deffile.parts import Section
from scitex_container.apptainer.deffile.text import APP_SECTIONS, TEMPLATE_RE
from scitex_container.result import Result

#: The label of an image built through the cache naming the entry it was built on (its key).
BASE_LABEL = "org.scitex.stage-cache.base"
#: A multi-stage def is built cold: an earlier ``Stage:`` nothing copies from would not be
#: built (a cold build runs it, and fails where it fails), and ``%files from`` is not yet
#: rewritten faithfully (:data:`.multistage.REWRITE_FILES_FROM`).
MULTI_STAGE_COLD = True
#: Bootstrap agents that read only local files; every other one reaches the network.
LOCAL_AGENTS = frozenset({"localimage", "scratch", "docker-archive", "oci-archive", "oci"})
#: Commands that read only local files.  A ``%post`` piece is offline only when every
#: command in it is one of these (or ``pip install --no-index``); anything else (``uv``,
#: ``poetry``, ``mvn``, ``julia``, a script, a here-document's body) counts as reaching the
#: network, so its entry is reused only within the cache's maximum age.
OFFLINE_COMMANDS = frozenset(
    [
        "echo",
        "printf",
        "true",
        "false",
        ":",
        "cd",
        "mkdir",
        "rmdir",
        "rm",
        "cp",
        "mv",
        "ln",
        "chmod",
        "chown",
        "chgrp",
        "touch",
        "cat",
        "tee",
        "sed",
        "test",
        "[",
        "export",
        "set",
        "unset",
        "umask",
        "install",
        "ls",
        "head",
        "tail",
        "sort",
        "uniq",
        "cut",
        "tr",
        "wc",
        "grep",
        "ldconfig",
        "useradd",
        "groupadd",
        "adduser",
        "addgroup",
        "usermod",
        "sleep",
        "exit",
        "date",
    ]
)
_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://")
#: apptainer binds the host's /tmp, /var/tmp and /dev (so /dev/shm) into %post: what is read
#: there is not keyed
_HOST_TMP_RE = re.compile(r"(?<![\w.-])(?:(?:/var)?/tmp|/dev/shm|/run/shm)(?![\w.-])")
_COMMAND_SPLIT_RE = re.compile(r"&&|\|\||[;&|()\n{}`]|\$\(")
_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*\Z")
_PIP_RE = re.compile(r"(?:pip[0-9.]*|python[0-9.]*\s+-m\s+pip)\s+install\b")
_KEYWORDS = frozenset(
    ["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac", "!", "time"]
)


@dataclass(frozen=True)
class StageSpec(Result):
    """One cacheable step of a build."""

    name: str  #: ``stage-<name>`` (an earlier ``Stage:``), ``bootstrap``, ``post-1``, ``final``
    kind: str  #: ``stage``, ``bootstrap``, ``post`` or ``final``
    line: int  #: first line of the def this stage covers
    body: str  #: the def text of this stage, without its ``Bootstrap``/``From`` lines
    network: bool  #: may reach the network (reused only within the cache's maximum age)
    templates: tuple[str, ...]  #: build arguments it references
    sources: tuple[str, ...] = ()  #: earlier ``Stage:`` names it copies from (``%files from``)
    checkpoint: int | None = None  #: the line of the checkpoint that ends this ``%post`` piece

    def def_text(
        self, base: str | None, arguments: str, roots: Mapping[str, str] | None = None
    ) -> str:
        """The def that builds this stage on ``base`` (a root fs path; None for bootstrap);
        ``roots``: the root fs of each earlier stage it copies from."""
        body = multistage.fill(self.body, roots or {})
        if self.kind in ("bootstrap", "stage"):
            return body + ("" if self.kind == "stage" else arguments)
        return f"Bootstrap: localimage\nFrom: {base}\n\n{arguments}{body}"


@dataclass(frozen=True)
class StagePlan(Result):
    """The stages of one def, or why it is built cold."""

    stages: tuple[StageSpec, ...]
    arguments: str  #: the raw ``%arguments`` sections, repeated in every stage's def
    uncacheable: str | None = None
    earlier: tuple[StageSpec, ...] = ()  #: the earlier ``Stage:`` sections, in file order
    path: str = ""  #: the def file (named by a refusal at a checkpoint)

    @property
    def cached(self) -> tuple[StageSpec, ...]:
        """The stages whose results are kept (all but ``final``)."""
        return tuple(s for s in self.stages if s.kind != "final")


def _templates(text: str) -> tuple[str, ...]:
    return tuple(sorted({m.group(1) for m in TEMPLATE_RE.finditer(text)}))


def _spec(
    name: str, kind: str, line: int, body: str, network: bool, checkpoint: int | None = None
) -> StageSpec:
    sources = multistage.sources(body)
    return StageSpec(name, kind, line, body, network, _templates(body), sources, checkpoint)


def may_reach_network(text: str) -> bool:
    """Can this shell text reach the network?  Yes unless it provably cannot: every command
    in it is a known offline one (:data:`OFFLINE_COMMANDS`, ``pip install --no-index``) and
    it names no URL, nor the host's ``/tmp``, ``/var/tmp`` or ``/dev/shm`` (bound into
    ``%post``)."""
    joined = re.sub(r"\\\n", " ", text)
    code = "\n".join(line.split("#", 1)[0] for line in joined.splitlines())
    if _URL_RE.search(code) or _HOST_TMP_RE.search(code):
        return True
    for command in _COMMAND_SPLIT_RE.split(code):
        words = [w for w in command.split() if not _ASSIGN_RE.match(w)]
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if words[:1] in (["for"], ["case"], ["select"]):
            continue  # `for NAME in WORDS` / `case WORD in`: words, no command
        if not words or words[0].startswith(">") or words[0].startswith("<"):
            continue
        if _PIP_RE.match(" ".join(words)):
            if "--no-index" not in words:
                return True
            continue
        if words[0].rsplit("/", 1)[-1] not in OFFLINE_COMMANDS:
            return True
    return False


def _post_chunks(section: Section, markers: tuple[int, ...]) -> list[tuple[int, str]]:
    """``(first line, text)`` of each piece of ``%post`` between checkpoints."""
    chunks: list[tuple[int, list[str]]] = [(section.line + 1, [])]
    lines = section.raw_body.splitlines(keepends=True)
    for offset, raw in enumerate(lines):
        number = section.line + 1 + offset
        if number in markers and is_marker(raw.rstrip("\r\n")):
            chunks.append((number + 1, []))
            continue
        chunks[-1][1].append(raw)
    return [(first, "".join(body)) for first, body in chunks]


def plan_stages(deffile: DefFile) -> StagePlan:
    """Split ``deffile`` into stages (refusing misplaced checkpoint markers)."""
    markers = checkpoint_lines(deffile)
    try:
        return _plan(deffile, markers)
    except multistage.Uncacheable as exc:
        return StagePlan((), "", str(exc))


def _earlier(deffile: DefFile) -> tuple[list[StageSpec], tuple[str, ...]]:
    """Each earlier ``Stage:`` as one spec, and their names."""
    specs: list[StageSpec] = []
    names: list[str] = []
    for stage in deffile.stages[:-1]:
        if not stage.name:
            raise multistage.Uncacheable("an earlier stage without a `Stage:` name")
        if any(s.name == "setup" for s in stage.sections):
            raise multistage.Uncacheable("`%setup` runs on the host: no key can see what it reads")
        body = multistage.header_text(stage) + "\n"
        for section in stage.sections:
            body += multistage.section_text(deffile.path, section, tuple(names))
        agent = stage.bootstrap.strip().lower()
        network = agent not in LOCAL_AGENTS or any(
            may_reach_network(s.raw_body) for s in stage.sections if s.name == "post"
        )
        specs.append(_spec(f"stage-{stage.name}", "stage", stage.line, body, network))
        names.append(stage.name)
    return specs, tuple(names)


def _plan(deffile: DefFile, markers: tuple[int, ...]) -> StagePlan:
    if len(deffile.stages) > 1 and MULTI_STAGE_COLD:
        raise multistage.Uncacheable("multi-stage defs build cold")
    earlier, names = _earlier(deffile)
    stage = deffile.stages[-1]
    sections = stage.sections
    app = next((s for s in sections if s.name in APP_SECTIONS), None)
    if app is not None:
        raise multistage.Uncacheable(
            f"`%{app.name}` (line {app.line}): apptainer applies SCIF app sections after all "
            "of `%post`, which a cold build's `%post` sees in /scif/apps"
        )
    names_here = [s.name for s in sections]
    if "setup" in names_here:
        raise multistage.Uncacheable("`%setup` runs on the host: no key can see what it reads")
    if names_here.count("post") > 1:
        raise multistage.Uncacheable("more than one `%post` section")
    arguments = "".join(s.raw for s in sections if s.name == "arguments")
    agent = stage.bootstrap.strip().lower()
    # comments and blank lines of the header are no input: two recipes on one base share it
    header = multistage.header_text(stage)
    specs = [_spec("bootstrap", "bootstrap", stage.line, header + "\n", agent not in LOCAL_AGENTS)]
    files = "".join(
        multistage.section_text(deffile.path, s, names) for s in sections if s.name == "files"
    )
    post = next((s for s in sections if s.name == "post"), None)
    if post is not None:
        head = post.raw_header if post.raw_header.endswith("\n") else post.raw_header + "\n"
        chunks = _post_chunks(post, markers)
        for index, (first, text) in enumerate(chunks, 1):
            text = re.sub(r"(?:\n[ \t]*)+\Z", "\n", "\n" + text)[1:]  # trailing blanks: no input
            # the shell-state check around each checkpoint (part of the text, so of the key)
            body = (files if index == 1 else "") + head + wrap(text, index, len(chunks))
            mark = chunks[index][0] - 1 if index < len(chunks) else None
            network = may_reach_network(text)
            specs.append(_spec(f"post-{index}", "post", first, body, network, mark))
    elif files:
        line = next(s.line for s in sections if s.name == "files")
        specs.append(_spec("post-1", "post", line, files + "%post\n", False))
    rest = [s for s in sections if s.name not in ("arguments", "files", "post")]
    final_line = rest[0].line if rest else stage.line
    specs.append(_spec("final", "final", final_line, "".join(s.raw for s in rest), False))
    return StagePlan(tuple(specs), arguments, earlier=tuple(earlier), path=deffile.path)
