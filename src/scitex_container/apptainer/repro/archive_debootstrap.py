"""Debootstrap from the artifact archive: the base of a locked def, offline.

Apptainer's debootstrap agent runs, on the host,
``debootstrap --variant=minbase --exclude=openssl,udev,debconf-i18n,e2fsprogs
--include=apt,<Include> --arch=<arch> <OSVersion> <rootfs> <MirrorURL>`` and
offers no ``--keyring``/``--no-check-gpg``, so it cannot read a local
unsigned repository.  A locked def from an archive therefore says
``Bootstrap: scratch`` and makes the same base itself, first thing in a
generated ``%setup`` (which runs on the host, as the build's root, with
``$APPTAINER_ROOTFS``):

* the archive *view* (see :mod:`.archive_def`) holds a Debian repository
  (:func:`write_mirror`): ``dists/<suite>/Release`` listing the SHA256 and
  size of ``main/binary-<arch>/Packages``, and that ``Packages`` made from
  exactly the lock's dpkg entries (one version each, this architecture and
  ``all``), ``Filename`` relative to the mirror root.  Both are generated
  deterministically (no date), so the same lock gives the same def text;
* the host's debootstrap runs with apptainer's options (variant, excludes,
  ``apt`` plus the def's ``Include``, arch, suite) against
  ``file://<copy>/apt`` with ``--no-check-gpg``, where ``<copy>`` is a
  private copy of the view that the build checked against the sha256
  manifest the locked def carries (see :mod:`.archive_view`).  Integrity
  does not come from a signature here but from content: every .deb is the
  file whose sha256 the archive verified against the source's published
  checksum when it stored it (and named it by), the copy is checked file by
  file against the pin, and debootstrap checks each .deb it unpacks against
  the ``SHA256`` of the generated ``Packages``;
* the rest follows apptainer's agent: in a fakeroot build (a user
  namespace) ``mount``/``mknod`` are ``/bin/true`` and ``/dev/null`` hides
  ``/proc/filesystems`` (in a private mount namespace, so nothing leaks),
  ``dev/{null,random,urandom,zero}`` are bound in; then the rootfs is
  ``0755`` and apptainer's base environment (``/.singularity.d``, the
  action links, empty ``/etc/hosts`` and ``/etc/resolv.conf``) is laid
  over it, as the agent's ``Pack`` does after debootstrap;
* ``/etc/apt/sources.list`` becomes what debootstrap from ``MirrorURL``
  leaves (``deb <MirrorURL> <suite> main``) and the index files debootstrap
  copied from the local mirror are removed, so the image holds nothing of
  the archive.  That line is the only network URL left in the locked def,
  and nothing reads it during the build: the archive's own ``%setup`` block
  replaces the sources until the end of ``%post``.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.deffile import DefFile, parse_def_text
from scitex_container.apptainer.deffile.text import content, split_lines
from scitex_container.errors import BadInputError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_write_bytes, atomic_write_text
from scitex_container.process import runner

#: What apptainer's agent passes, whatever the def says.
VARIANT = "minbase"
EXCLUDE = "openssl,udev,debconf-i18n,e2fsprogs"
COMPONENT = "main"
#: GOARCH-style machine names to Debian ports, as apptainer's agent maps them.
_ARCHES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "i386",
    "i686": "i386",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
    "mips64": "mips64el",
}
_HEADER_KEYS = ("bootstrap", "osversion", "mirrorurl", "include")
#: The comment after ``Bootstrap: scratch`` in a def :func:`as_scratch` made.
_NOTE = "# scitex-container: was `Bootstrap: debootstrap` of "
#: The prefix of each original header line that comment keeps.
_WAS = "# scitex-container was: "


@dataclass(frozen=True)
class DebootstrapBase:
    """The debootstrap header of a def: what the base is made from."""

    suite: str  #: ``OSVersion``
    mirror: str  #: ``MirrorURL``
    include: tuple[str, ...] = ()  #: ``Include`` packages, in order
    arch: str = "amd64"

    @property
    def include_arg(self) -> str:
        """``--include=`` value: ``apt,`` plus the def's packages, as apptainer joins them."""
        return "apt," + ",".join(self.include)


def deb_arch(machine: str | None = None) -> str:
    """The Debian architecture of this host (apptainer's mapping)."""
    machine = (machine or platform.machine()).lower()
    try:
        return _ARCHES[machine]
    except KeyError:
        raise BadInputError(f"no Debian architecture known for machine `{machine}`") from None


def base_of(deffile: DefFile, where: str) -> DebootstrapBase | None:
    """The final stage's debootstrap header, or None for another bootstrap."""
    stage = deffile.stage(-1)
    if stage.bootstrap.lower() != "debootstrap":
        return None
    suite = (stage.get("osversion") or "").strip()
    mirror = (stage.get("mirrorurl") or "").strip()
    for key, value in (("OSVersion", suite), ("MirrorURL", mirror)):
        if not value or any(c.isspace() for c in value):
            raise BadInputError(f"a debootstrap def needs one `{key}:` value", where)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", suite):
        raise BadInputError(f"`OSVersion: {suite}` is not a suite name", where)
    include = tuple(w for w in re.split(r"[\s,]+", stage.get("include") or "") if w)
    return DebootstrapBase(suite, mirror, include, deb_arch())


def as_scratch(deffile: DefFile, base: DebootstrapBase) -> DefFile:
    """The def with ``Bootstrap: scratch`` and no debootstrap header lines.

    The ``OSVersion``/``MirrorURL``/``Include`` lines (and their ``\\``
    continuations) go; the generated ``%setup`` carries their values, and
    each is kept as a comment (``# scitex-container was: ...``) so that
    :func:`as_debootstrap` can put them back when the def is re-pinned.
    """
    stage = deffile.stage(-1)
    rows = split_lines(deffile.emit())
    drop: set[int] = set()
    first = stage.header[0]
    for head in stage.header:
        if head.name not in _HEADER_KEYS:
            continue
        k = head.line - 1
        while True:
            drop.add(k)
            if not content(rows[k]).rstrip().endswith("\\") or k + 1 >= len(rows):
                break
            k += 1
    keep = []
    for i, row in enumerate(rows):
        if i == first.line - 1:
            ending = row[len(row.rstrip("\r\n")) :]
            keep.append(f"Bootstrap: scratch{ending}")
            keep.append(
                f"{_NOTE}{base.suite}; the %setup block below makes that base from the "
                f"archive{ending}"
            )
            keep += [f"{_WAS}{content(rows[k])}{ending}" for k in sorted(drop)]
        elif i not in drop:
            keep.append(row)
    return parse_def_text("".join(keep), deffile.path)


def as_debootstrap(deffile: DefFile) -> DefFile:
    """Undo :func:`as_scratch`: the def's own debootstrap header lines back.

    A def :func:`as_scratch` never touched is returned as it is; one made
    by a version that kept no copy of the lines is refused (re-pin from the
    rough def).
    """
    rows = split_lines(deffile.emit())
    texts = [content(r) for r in rows]
    note = next((i for i, t in enumerate(texts) if t.startswith(_NOTE)), None)
    if note is None or note == 0 or texts[note - 1].strip().lower() != "bootstrap: scratch":
        return deffile
    end = note + 1
    while end < len(texts) and texts[end].startswith(_WAS):
        end += 1
    if end == note + 1:
        raise BadInputError(
            "this locked def was made from an archive by a version that kept no copy of its "
            "debootstrap header; pin the rough def instead",
            deffile.path,
        )
    back = [texts[k].removeprefix(_WAS) + rows[k][len(texts[k]) :] for k in range(note + 1, end)]
    return parse_def_text("".join(rows[: note - 1] + back + rows[end:]), deffile.path)


def _stanzas(text: str) -> list[str]:
    return [s.strip("\n") for s in re.split(r"\n\s*\n", text) if s.strip()]


def _field(stanza: str, name: str) -> str:
    m = re.search(rf"^{name}:[ \t]*(.*)$", stanza, flags=re.MULTILINE)
    return m.group(1).strip() if m else ""


def mirror_packages(scanned: str, arch: str) -> str:
    """``Packages`` of the mirror: the scanned stanzas of ``arch``/``all``, sorted."""
    out = []
    for stanza in _stanzas(scanned):
        if _field(stanza, "Architecture") not in (arch, "all"):
            continue
        stanza = re.sub(r"^Filename: \./", "Filename: ", stanza, flags=re.MULTILINE)
        out.append((_field(stanza, "Package"), _field(stanza, "Version"), stanza))
    return "".join(f"{s}\n\n" for _, _, s in sorted(out))


def codename_of(apt_dir: Path, suite: str) -> str:
    """The release codename in the lock's ``base-files`` (``os-release``), else ``suite``.

    debootstrap takes the codename from ``Release`` and acts on it (bookworm
    adds ``usr-is-merged``), so a def naming ``stable`` must get the codename
    the mirror gave when the image was made, not the word ``stable``.
    """
    debs = sorted(apt_dir.glob("base-files_*.deb"))
    if not debs:
        return suite
    with temporaries.directory(".base-files-", apt_dir) as tmp:
        done = runner.run(["dpkg-deb", "-x", debs[0], tmp], check=False, readonly=True)
        for name in ("usr/lib/os-release", "etc/os-release"):
            path = Path(tmp) / name
            if done.ok and path.is_file() and not path.is_symlink():
                text = path.read_text(encoding="utf-8", errors="replace")
                m = re.search(r"^VERSION_CODENAME=\"?([A-Za-z0-9._-]+)", text, flags=re.MULTILINE)
                if m:
                    return m.group(1)
    return suite


def release_text(suite: str, arch: str, packages: bytes, codename: str = "") -> str:
    """A deterministic ``Release`` naming the one ``Packages`` index."""
    path = f"{COMPONENT}/binary-{arch}/Packages"
    digest = hashlib.sha256(packages).hexdigest()
    md5 = hashlib.md5(packages, usedforsecurity=False).hexdigest()
    return (
        "Origin: scitex-container archive\n"
        "Label: scitex-container archive\n"
        f"Suite: {suite}\n"
        f"Codename: {codename or suite}\n"
        f"Architectures: {arch}\n"
        f"Components: {COMPONENT}\n"
        "Description: the .deb files of one lock, from a scitex-container artifact archive\n"
        "MD5Sum:\n"
        f" {md5} {len(packages)} {path}\n"
        "SHA256:\n"
        f" {digest} {len(packages)} {path}\n"
    )


def write_mirror(apt_dir: Path, suite: str, arch: str) -> Path:
    """Lay ``dists/<suite>`` over a flat repository (``apt_dir/Packages``); return it."""
    packages = mirror_packages((apt_dir / "Packages").read_text(encoding="utf-8"), arch)
    data = packages.encode()
    binary = apt_dir / "dists" / suite / COMPONENT / f"binary-{arch}"
    binary.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(binary / "Packages", data, durable=False)  # a full disk names the file
    release = release_text(suite, arch, data, codename_of(apt_dir, suite))
    atomic_write_text(apt_dir / "dists" / suite / "Release", release, durable=False)
    return apt_dir / "dists" / suite


_ENV_DIRS = (
    ".singularity.d/libs .singularity.d/actions .singularity.d/env dev proc root var/tmp "
    "tmp etc sys home"
)


def setup_lines(mirror: str, base: DebootstrapBase) -> list[str]:
    """``%setup`` lines that debootstrap the base from the mirror at ``mirror``
    (a shell word: the build's checked copy of the view's ``apt``, see
    :func:`.archive_def.setup_block`)."""
    r = '"${APPTAINER_ROOTFS}"'
    url = f"file://{mirror}"
    q = shlex.quote
    argv = [
        f"--variant={VARIANT}",
        f"--exclude={EXCLUDE}",
        f"--include={base.include_arg}",
        f"--arch={base.arch}",
        "--no-check-gpg",
        base.suite,
    ]
    boot = " ".join(q(a) for a in argv)
    return [
        f"# The base: debootstrap {base.suite} as apptainer's agent runs it, from the",
        "# archive's local mirror (no network; each .deb checked against its sha256).",
        '_scx_env="$(mktemp -d)"',
        "# apptainer's base environment (/.singularity.d and the links into it) aside",
        f"for _scx_p in {r}/* {r}/.[!.]*; do",
        '    case "$_scx_p:$(readlink "$_scx_p" 2>/dev/null || true)" in',
        '        */.singularity.d:*|*:.singularity.d/*) mv "$_scx_p" "$_scx_env"/ ;;',
        "    esac",
        "done",
        f"find {r} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +",
        "if grep -qsE '^[[:space:]]*0[[:space:]]+0[[:space:]]+4294967295' /proc/self/uid_map; then",
        f"    debootstrap {boot} {r} {url}",
        "else  # fakeroot (a user namespace): apptainer's agent stubs mount/mknod",
        f"    mkdir -m 0755 {r}/dev",
        "    for _scx_d in null random urandom zero; do",
        f"        : > {r}/dev/$_scx_d; chmod 0644 {r}/dev/$_scx_d",
        "    done",
        "    unshare --mount --propagation private sh -e -c '",
        '        r="$1"; shift',
        "        t=/usr/bin/true; [ -x $t ] || t=/bin/true",
        '        for d in null random urandom zero; do mount --bind "/dev/$d" "$r/dev/$d"; done',
        "        mount --bind /dev/null /proc/filesystems",
        '        mount --bind $t "$(command -v mknod)"',
        '        mount --bind $t "$(command -v mount)"  # last: mount itself is stubbed now',
        '        exec debootstrap "$@"',
        f"    ' sh {r} {boot} {r} {url}",
        "fi",
        f"chmod 0755 {r}",
        "# ... and back over it, as the agent's Pack lays it after debootstrap",
        'for _scx_p in "$_scx_env"/* "$_scx_env"/.[!.]*; do',
        '    if [ -e "$_scx_p" ] || [ -L "$_scx_p" ]; then',
        f'        _scx_n="$(basename "$_scx_p")"; rm -rf {r}/"$_scx_n"; mv "$_scx_p" {r}/"$_scx_n"',
        "    fi",
        "done",
        'rmdir "$_scx_env"',
        f'for _scx_d in {_ENV_DIRS}; do mkdir -p {r}/"$_scx_d"; done',
        "for _scx_f in etc/hosts etc/resolv.conf; do",
        f"    : > {r}/$_scx_f; chmod 0644 {r}/$_scx_f",
        "done",
        f"echo {q(f'deb {base.mirror} {base.suite} {COMPONENT}')} > {r}/etc/apt/sources.list",
        "# the index files debootstrap copied from the mirror (named by its path, / as _)",
        f"rm -f {r}/var/lib/apt/lists/\"$(printf '%s' {mirror} | tr / _)\"_*",
    ]
