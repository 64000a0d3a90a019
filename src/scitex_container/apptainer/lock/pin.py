"""The locked def: a rough def plus generated pin stanzas from a lock.

``generate_locked_def(rough_def, lock, out_def)`` copies the rough def and
gives its final stage one generated ``%post`` (``# >>> scitex-container
pins >>>`` ... ``# <<< scitex-container pins <<<``) that runs the rough
``%post`` exactly as apptainer would (whatever it does: ``exit 0``,
functions, ``-c /usr/bin/python3``; see :mod:`.post_wrap`) and then one
stanza per package manager, in this order:

* **apt** (first: pip and npm may come from apt packages):
  ``apt-get install -y --allow-downgrades --no-install-recommends pkg=version``.
  Which packages are pinned is ``apt_scope``:

  - ``"added"`` (default): every package whose version the bootstrap does
    not already fix.  For ``Bootstrap: localimage`` the base image is a fixed
    file, so its lock (captured from ``From:``, or ``base_lock``) is
    subtracted: only packages the def added or changed are pinned.  Any
    other bootstrap (debootstrap, docker tags, ...) resolves against a
    moving mirror or tag, so every package in the lock is pinned.
  - ``"explicit"``: only the packages the def names (``Include:`` and the
    arguments of ``apt-get install``/``apt install`` in ``%post``).
  - ``"all"``: every dpkg package in the lock.  ``"none"``: no apt stanza.

  ``snapshot_mirror`` adds a dated archive (``snapshot.debian.org`` /
  ``snapshot.ubuntu.com`` style, ``[check-valid-until=no]``) for the pins
  to resolve from after the live mirror moved on; ``"lock"`` uses the
  lock's capture time.
* **pip**: exact pins in a requirements file, ``pip install --no-deps``,
  with the pip the image has (the rough def's own, ``pip3``, ``pip`` or
  ``python3 -m pip``), ``--break-system-packages`` only where pip knows it
  and Python is externally managed (PEP 668), and the source options the
  rough def's ``pip install`` calls used (``--no-index``, ``--find-links``,
  index URLs) so pinned versions are found where the rough def found them.
  ``pip_options`` replaces the detected options.
* **npm**: ``npm install -g name@version``, from a ``name-version.tgz`` in a
  directory the rough def installed tarballs from when there is one, with
  the rough def's ``--offline``/``--registry`` options.

Each stanza installs only the pins that differ from what the image already
has, so a rebuild that matches needs no network; it prints why and does
nothing in an image without that package manager.  Regenerating a locked
def replaces the block and the header; nothing stacks.  When the locked
def is written to another directory than the rough def, relative
``%files`` sources and a relative ``localimage`` ``From:`` are made
absolute so it builds from where it is, in apptainer's own syntax: globs,
spaces, quotes and ``{{ NAME }}`` keep their meaning.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from scitex_container._version import __version__
from scitex_container.apptainer.deffile import DefFile, no_seed_pins, parse_def, parse_def_text
from scitex_container.apptainer.deffile.text import content, split_lines
from scitex_container.apptainer.lock.lockfile import Lock, read_lock
from scitex_container.apptainer.lock.pip_pins import env_pips, pins_of
from scitex_container.apptainer.lock.post_wrap import unwrap_post, wrap_post
from scitex_container.apptainer.lock.pyenvs import SYSTEM
from scitex_container.apptainer.lock.rebase import rebase_def
from scitex_container.apptainer.repro import archive_def
from scitex_container.apptainer.repro.detect import PIN_BLOCK_TAG, DefUsage, analyse_def, shell_word
from scitex_container.apptainer.repro.stanzas import (
    SnapshotMirror,
    apt_stanza,
    npm_stanza,
    pip_stanza,
    skipped,
)
from scitex_container.errors import BadInputError
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.process import runner

APT_SCOPES = ("added", "explicit", "all", "none")
#: Every line of the file header starts with this; regeneration strips them.
HEADER_PREFIX = "# [scitex-container] "

__all__ = ["APT_SCOPES", "PIN_BLOCK_TAG", "generate_locked_def", "render_locked_def"]


def _as_lock(lock: Lock | str | os.PathLike) -> Lock:
    return lock if isinstance(lock, Lock) else read_lock(lock)


def _base_lock_of(deffile: DefFile, base_dir: Path) -> Lock | None:
    """The lock of a ``localimage`` base image (``None`` when there is no such file)."""
    stage = deffile.stage(-1)
    if stage.bootstrap.lower() != "localimage" or not stage.from_:
        return None
    base = Path(stage.from_)
    base = base if base.is_absolute() else base_dir / base
    if not base.exists():
        return None
    return capture_to_memory(base)


def capture_to_memory(image: Path) -> Lock:
    """The lock of ``image``, captured without writing a lock file."""
    from scitex_container.apptainer.lock.capture import capture_lock

    return capture_lock(image, None, captured_at="", with_digest=False)


def _apt_pins(
    lock: Lock, deffile: DefFile, usage: DefUsage, scope: str, base: Lock | None
) -> tuple[dict[str, str], str]:
    if scope == "all":
        return dict(lock.dpkg), "scope all: every dpkg package in the lock"
    if scope == "explicit":
        pins = {n: v for n, v in lock.dpkg.items() if n.split(":")[0] in usage.apt_explicit}
        return pins, "scope explicit: the packages the def names"
    if base is not None:
        pins = {n: v for n, v in lock.dpkg.items() if base.dpkg.get(n) != v}
        return pins, "scope added: beyond the base image's own packages"
    boot = deffile.stage(-1).bootstrap.lower()
    return dict(lock.dpkg), f"scope added: all, a {boot} bootstrap is not fixed content"


def _snapshot(value: str | SnapshotMirror | None, lock: Lock) -> SnapshotMirror | None:
    if isinstance(value, SnapshotMirror) or not value:
        return value or None
    if value == "lock":
        if not lock.captured_at:
            raise BadInputError(
                "the lock records no capture time; give a timestamp instead of `lock`",
                "snapshot_mirror",
            )
        value = lock.captured_at
    try:
        return SnapshotMirror.parse(value)
    except ValueError as exc:
        raise BadInputError(str(exc), "snapshot_mirror") from None


def _snapshot_arg(value: str | SnapshotMirror | None) -> str | None:
    if isinstance(value, SnapshotMirror):
        return value.url or value.timestamp
    return value or None


def _strip_header(text: str) -> str:
    lines = split_lines(text)
    k = 0
    while k < len(lines) and content(lines[k]).startswith(HEADER_PREFIX.rstrip()):
        k += 1
    return "".join(lines[k:])


def default_command(
    rough_def: str | os.PathLike,
    lock: str | os.PathLike | None,
    out_def: str | os.PathLike,
    *,
    apt_scope: str = "added",
    snapshot_mirror: str | None = None,
    pip_options: Sequence[str] | None = None,
    base_lock: str | os.PathLike | None = None,
    archive: str | os.PathLike | None = None,
) -> str:
    """The ``scitex-container lock pin ...`` command line that regenerates a locked def."""
    argv = ["scitex-container", "lock", "pin", os.fspath(rough_def), os.fspath(lock or "LOCK")]
    argv += ["-o", os.fspath(out_def)]
    if apt_scope != "added":
        argv += ["--apt-scope", apt_scope]
    if snapshot_mirror:
        argv += ["--snapshot", str(snapshot_mirror)]
    if base_lock is not None:
        argv += ["--base-lock", os.fspath(base_lock)]
    for opt in pip_options or ():
        argv += ["--pip-option", opt]
    if archive is not None:
        argv += ["--archive", os.fspath(archive)]
    return shlex.join(argv)


def render_locked_def(
    rough_def: str | os.PathLike,
    lock: Lock | str | os.PathLike,
    out_def: str | os.PathLike | None = None,
    *,
    apt_scope: str = "added",
    base_lock: Lock | str | os.PathLike | None = None,
    snapshot_mirror: str | SnapshotMirror | None = None,
    pip_options: Sequence[str] | None = None,
    command: str | None = None,
    archive: str | os.PathLike | None = None,
) -> str:
    """The text :func:`generate_locked_def` writes (nothing is written)."""
    if apt_scope not in APT_SCOPES:
        raise BadInputError(
            f"unknown apt scope `{apt_scope}` (one of {', '.join(APT_SCOPES)})", "apt_scope"
        )
    rough_path = Path(rough_def)
    the_lock = _as_lock(lock)
    deffile = parse_def(rough_path)
    stripped = no_seed_pins(_strip_header(deffile.emit()), deffile.path)  # the seed's stanza too
    deffile = parse_def_text(stripped, deffile.path)
    deffile = unwrap_post(deffile, PIN_BLOCK_TAG) or deffile.remove_generated_block(PIN_BLOCK_TAG)
    deffile = archive_def.unapply(deffile)  # an earlier archive pin's stanza goes whole
    src_dir = rough_path.resolve().parent
    rebased = 0
    if out_def is not None and Path(out_def).absolute().parent.resolve() != src_dir:
        deffile, rebased = rebase_def(deffile, src_dir)
    usage = analyse_def(deffile)
    snapshot = _snapshot(snapshot_mirror, the_lock)

    body: list[str] = [
        f"# Pins generated by scitex-container {__version__}; do not edit this block,",
        "# regenerate it (see the header of this file). Each stanza installs only the",
        "# pins that differ from what the image already has.",
    ]
    apt_pins: dict[str, str] = {}
    if apt_scope == "none":
        body += skipped("apt", "apt pinning turned off (apt scope none)")
    elif not the_lock.dpkg:
        body += skipped("apt", "the lock holds no dpkg packages (no dpkg in the image)")
    else:
        base = _as_lock(base_lock) if base_lock is not None else None
        if base is None and apt_scope == "added":
            base = _base_lock_of(deffile, src_dir)
        pins, scope_note = _apt_pins(the_lock, deffile, usage, apt_scope, base)
        # An empty version (a seed lock's ``name=``) means unpinned: never ``name=``.
        unpinned = sorted(n for n, v in pins.items() if not v)
        pins = {n: v for n, v in pins.items() if v}
        apt_pins = pins
        if unpinned:
            body.append(f"# apt: no version in the lock, left unpinned: {' '.join(unpinned)}")
        if pins:
            body += apt_stanza(pins, scope=scope_note, snapshot=snapshot)
        else:
            body += skipped("apt", f"nothing to pin ({scope_note})")
    pip_pins, unpinnable = pins_of(the_lock)
    node = {
        n: v  # an empty version means "unpinned": never `npm install -g name@`
        for n, v in the_lock.node_versions.items()
        if v and f"node:{n}" not in the_lock.provided_by
    }
    body += [
        f"# {key.partition(':')[0]}: {key.partition(':')[2]} is {owner}'s, pinned with it"
        for key, owner in the_lock.provided_by.items()
    ]
    hashed: list[str] = []
    pip_opts: Sequence[str] | None = pip_options
    npm_dirs, npm_opts = usage.npm_tarball_dirs, usage.npm_options
    if archive is not None:
        deffile, hashed = archive_def.apply(
            deffile, os.fspath(rough_def), archive, the_lock.dpkg, apt_pins, pip_pins, node
        )
        pip_opts = ["--no-index", "--require-hashes"]
        npm_dirs, npm_opts = (archive_def.ROOT + "/npm",), ("--offline",)
    options = [shell_word(o) for o in pip_opts] if pip_opts is not None else usage.pip.options
    if pip_pins:
        body += pip_stanza(
            pip_pins,
            commands=env_pips(the_lock.pip_environment, usage.pip.commands, the_lock),
            options=options,
            hashed=hashed,
            exclusive=bool(the_lock.pip_envs) or the_lock.pip_environment not in ("", SYSTEM),
            label=f" ({the_lock.pip_environment})" if the_lock.pip_environment else "",
        )
    else:
        body += skipped("pip", "the lock holds no pip-installed packages")
    for env, values in the_lock.pip_envs.items():
        env_pins, env_raw = pins_of(the_lock, values, f"pip@{env}")
        unpinnable += env_raw
        if env_pins:
            body += pip_stanza(
                env_pins,
                commands=env_pips(env, (), the_lock),
                options=[shell_word(o) for o in pip_opts]
                if pip_opts is not None
                else usage.pip.options,
                exclusive=True,
                label=f" ({env})",
            )
    for line in unpinnable:
        body.append(
            f"# pip: not pinnable (editable or VCS install, kept as in the rough def): {line}"
        )
    if node:
        body += npm_stanza(node, tarball_dirs=npm_dirs, options=npm_opts)
    else:
        body += skipped(
            "npm", "the lock holds no global npm packages (no npm globals in the image)"
        )
    if archive is not None:
        body += archive_def.restore_lines()
    if the_lock.apk:
        body += skipped(
            "apk", f"{len(the_lock.apk)} apk package(s) in the lock; apk pins are not generated"
        )

    commands = [ln for ln in body if ln.strip() and not ln.lstrip().startswith("#")]
    if not commands and not deffile.stages[-1].sections_named("post"):
        # nothing to run, and no %post to run it after: adding one would make apptainer
        # need a shell in a final stage that may have none (a scratch stage, say)
        pinned = deffile
    else:
        try:
            prelude = tuple(archive_def.env_lines()) if archive is not None else ()
            pinned = wrap_post(deffile, PIN_BLOCK_TAG, body, prelude)
        except ValueError as exc:  # a lock line that would change the def's structure
            raise BadInputError(
                f"cannot place the pin block: {exc}", os.fspath(rough_def)
            ) from None

    if command is None:
        command = default_command(
            rough_def,
            None if isinstance(lock, Lock) else lock,
            out_def or "OUT",
            apt_scope=apt_scope,
            snapshot_mirror=_snapshot_arg(snapshot_mirror),
            pip_options=pip_options,
            base_lock=None if base_lock is None or isinstance(base_lock, Lock) else base_lock,
            archive=archive,
        )
    source = f"image sha256 {the_lock.image_sha256}" if the_lock.image_sha256 else "the lock"
    counts = the_lock.counts()
    header = [
        f"Locked def generated by scitex-container {__version__}: the rough def plus pins",
        f"from {source} ({counts['dpkg']} dpkg, {counts['pip']} pip, {counts['node']} npm).",
        f"Regenerate: {command}",
    ]
    if rebased:
        header.append(f"Relative paths made absolute against {src_dir} ({rebased} line(s)).")
    head = "".join(HEADER_PREFIX + " ".join(h.split()) + "\n" for h in header)
    return head + pinned.emit()


def generate_locked_def(
    rough_def: str | os.PathLike,
    lock: Lock | str | os.PathLike,
    out_def: str | os.PathLike,
    *,
    apt_scope: str = "added",
    base_lock: Lock | str | os.PathLike | None = None,
    snapshot_mirror: str | SnapshotMirror | None = None,
    pip_options: Sequence[str] | None = None,
    command: str | None = None,
    archive: str | os.PathLike | None = None,
) -> Path:
    """Write the locked def of ``rough_def`` pinned to ``lock`` at ``out_def``.

    ``lock`` is a :class:`~.lockfile.Lock` or a lock file.  See the module
    docstring for the stanzas and for ``apt_scope``, ``snapshot_mirror``
    and ``pip_options``.  Deterministic: the same inputs give the same
    bytes.  ``out_def`` may be ``rough_def`` itself or an earlier locked
    def: the generated header and block are replaced, never stacked.
    Skipped in a dry run.  With ``archive`` (an artifact archive directory,
    see :mod:`.archive_def`) the def installs only from the archive and every
    artifact it needs is checked first (NotFoundError lists what is missing).
    Returns ``out_def``.

    Args:
        base_lock: The base image's lock: with ``apt_scope="added"`` its packages are
            not pinned.
        command: The command line recorded in the generated files' headers (default: the
            equivalent ``scitex-container`` command).
    """
    text = render_locked_def(
        rough_def,
        lock,
        out_def,
        apt_scope=apt_scope,
        base_lock=base_lock,
        snapshot_mirror=snapshot_mirror,
        pip_options=pip_options,
        command=command,
        archive=archive,
    )
    out = Path(out_def)
    if not runner.is_dry_run():
        atomic_write_text(out, text)
    return out
