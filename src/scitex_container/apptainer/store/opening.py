"""Which store a path names: a store directory, its active link or any version in it.

The reference's flat layout (``scitex-v<version>.sif``, ``scitex-base-v*.sif``,
``current.sif``) and an image directory written by ``build()``
(``<name>/<name>-v<timestamp>.sif`` with the active link ``<name>/<name>.sif``)
are told apart here, so every command opens a store the same way.  A
directory may hold several images side by side (a deploy target every
image is deployed to): :func:`open_stores` returns one store per image.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from scitex_container.apptainer.sif.magic import has_sif_magic
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.guard import check_store
from scitex_container.apptainer.store.naming import FLAT_SANDBOX, FLAT_SIF, Scheme, image_scheme
from scitex_container.apptainer.store.sidecars import SIDECAR_SUFFIXES
from scitex_container.errors import BadInputError
from scitex_container.files.pathinfo import broken_link, from_oserror

#: ``<name>-v<version>.sif`` or ``<name>-v<version>-sandbox``: a version of image ``name``.
#: (a version starts with a digit: ``my-viewer-v2026...`` is image ``my-viewer``, not ``my``)
_VERSION_NAME = re.compile(r"(?P<name>[^/]+?)-v(?P<version>\d[^/]*?)(?P<end>\.sif|-sandbox)\Z")


def _has(directory: Path, pattern: str) -> bool:
    return next(iter(directory.glob(pattern)), None) is not None


def detect_scheme(directory: str | os.PathLike, sandbox: bool = False) -> Scheme:
    """The naming scheme of the store in ``directory`` (flat layout by default)."""
    d = Path(directory)
    flat = FLAT_SANDBOX if sandbox else FLAT_SIF
    if os.path.lexists(d / flat.active) or _has(d, f"{flat.prefix}*{flat.suffix}"):
        return flat
    own = image_scheme(d.name, sandbox) if d.name and not d.name.startswith(".") else None
    # A killed first build leaves only its log and hidden temporaries: still this store.
    marks = (f"{own.prefix}*", f".{own.prefix}*") if own else ()
    if own and (os.path.lexists(d / own.active) or any(_has(d, m) for m in marks)):
        return own
    others = schemes_in(d, sandbox)
    return others[0] if len(others) == 1 else flat


def schemes_in(directory: str | os.PathLike, sandbox: bool = False) -> list[Scheme]:
    """Every store in ``directory``: the flat layout and each image with a version there.

    Names the flat layout claims (its versions and base images) are its own,
    never another image's.  Sorted by image name, the flat layout first.
    """
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    flat = FLAT_SANDBOX if sandbox else FLAT_SIF
    found: list[Scheme] = []
    if flat.active in names or any(flat.version_of(n) or flat.is_base(n) for n in names):
        found.append(flat)
    images: set[str] = set()
    for name in names:
        if name.startswith(".") or (found and (flat.version_of(name) or flat.is_base(name))):
            continue
        match = _VERSION_NAME.match(name)
        if match and (match["end"] == "-sandbox") == sandbox:
            images.add(match["name"])
    for image in sorted(images):
        scheme = image_scheme(image, sandbox)
        if any(scheme.version_of(n) for n in names):
            found.append(scheme)
    return found


def open_store(location: str | os.PathLike, sandbox: bool = False) -> Store:
    """The store at ``location``: a store directory, its active link or one of its versions.

    A store another user could steer us with (a planted link, an entry of a
    third user) is refused here, before any command acts on it (:mod:`.guard`).
    """
    store = _open(location, _holds_sandboxes(location, sandbox))
    check_store(store.dir, store.scheme)
    return store


def _holds_sandboxes(location: str | os.PathLike, sandbox: bool) -> bool:
    """A directory of sandbox versions only is a sandbox store whichever command reads it."""
    if sandbox:
        return True
    path = Path(location)
    try:
        if not path.is_dir() or path.is_symlink() or _is_version_dir(path):
            return False
    except OSError:
        return False
    return not schemes_in(path) and bool(schemes_in(path, True))


def _open(location: str | os.PathLike, sandbox: bool) -> Store:
    path = Path(location)
    _refuse_broken_link(path)
    try:
        os.stat(path)
    except OSError as exc:  # a link loop, a path through a file: said as such, never "empty"
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EACCES):
            raise from_oserror(exc, path) from None
    missing = missing_link_store(path)
    if missing is not None:
        return missing
    owner = sidecar_owner(path)
    if owner is not None:
        if not os.path.lexists(owner):  # the log of a failed build: its version never came
            return Store(owner.parent, _scheme_of_name(owner.name))
        return _open(owner, sandbox)
    if path.is_file() and not path.is_symlink() and not has_sif_magic(path):
        raise BadInputError(
            "not a store: give the store directory, its active link or one of its versions",
            str(path),
        )
    if path.is_symlink() or path.is_file() or (path.is_dir() and _is_version_dir(path)):
        name = path.name
        parent = path.parent
        for scheme in (FLAT_SIF, FLAT_SANDBOX, *schemes_in(parent), *schemes_in(parent, True)):
            if name == scheme.active or scheme.version_of(name) is not None:
                return Store(parent, scheme)
            if scheme.is_base(name):  # a base image the flat store keeps beside its versions
                return Store(parent, scheme)
        if path.is_dir() and not path.is_symlink():
            return Store(path, detect_scheme(path, sandbox))
        if name.endswith("-sandbox"):
            return Store(parent, image_scheme(name[: -len("-sandbox")], True))
        return Store(parent, image_scheme(name.removesuffix(".sif")))
    store = Store(path, detect_scheme(path, sandbox))
    active = broken_link(store.dir / store.scheme.active)
    if active is not None and "loop" in str(active):  # never "empty": say what the link is
        raise active
    return store


def _refuse_broken_link(path: Path) -> None:
    """A link loop, or a dangling link that is no store's active link: said as such.

    (A dangling active link beside its store's versions still opens the store:
    ``rollback`` and ``switch`` repair it.)
    """
    trouble = broken_link(path)
    if trouble is None:
        return
    if "dangling" in str(trouble) and missing_link_store_of(path) is not None:
        return
    raise trouble


def missing_link_store_of(path: Path) -> Store | None:
    """The store whose active link ``path`` is named as, when versions sit beside it."""
    parent = Path(os.path.normpath(path.absolute())).parent
    for sandbox in (False, True):
        for scheme in schemes_in(parent, sandbox):
            if scheme.active == path.name:
                return Store(parent, scheme)
    return None


def missing_link_store(location: str | os.PathLike) -> Store | None:
    """The store whose active link ``location`` would be, when that link is missing and
    the directory beside it holds the store's versions (None otherwise)."""
    path = Path(os.path.normpath(Path(location).absolute()))
    if os.path.lexists(path):
        return None
    for sandbox in (False, True):
        for scheme in schemes_in(path.parent, sandbox):
            if scheme.active == path.name:
                return Store(path.parent, scheme)
    return None


def _scheme_of_name(name: str) -> Scheme:
    """The scheme whose version ``name`` is (a name :func:`sidecar_owner` accepted)."""
    for flat in (FLAT_SIF, FLAT_SANDBOX):
        if flat.version_of(name) is not None or flat.is_base(name):
            return flat
    match = _VERSION_NAME.match(name)
    if match is None:
        return FLAT_SIF
    return image_scheme(match["name"], match["end"] == "-sandbox")


def sidecar_owner(path: Path) -> Path | None:
    """The version ``path`` is a sidecar of (``X.sif.lock`` -> ``X.sif``), if it names one."""
    if path.is_dir() or path.is_symlink():
        return None
    for suffix in SIDECAR_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            owner = path.with_name(path.name[: -len(suffix)])
            names = (
                FLAT_SIF,
                FLAT_SANDBOX,
                *schemes_in(path.parent),
                *schemes_in(path.parent, True),
            )
            if any(s.version_of(owner.name) is not None or s.is_base(owner.name) for s in names):
                return owner
            if not os.path.lexists(owner) and _VERSION_NAME.match(owner.name):
                return owner  # a version that no longer exists (a failed build's log)
    return None


def _is_version_dir(path: Path) -> bool:
    """A sandbox version (a directory named as one), not a store directory."""
    name = path.name
    if FLAT_SANDBOX.version_of(name) is not None:
        return True
    match = _VERSION_NAME.match(name)
    return bool(match and match["end"] == "-sandbox")


def open_stores(location: str | os.PathLike, sandbox: bool = False) -> list[Store]:
    """Every store ``location`` names: one, or one per image of a shared directory."""
    path = Path(location)
    sandbox = _holds_sandboxes(path, sandbox)
    store = open_store(path, sandbox)
    if store.dir != Path(os.path.normpath(path.absolute())):
        return [store]  # a link or a version named the one store
    schemes = schemes_in(path, sandbox)
    if len(schemes) > 1 or (schemes and not store.version_names()):
        stores = [Store(path, s) for s in schemes]
        for each in stores:
            check_store(each.dir, each.scheme)
        return stores
    if not schemes and not store.version_names() and path.is_dir():
        # `build -o DIR` puts each image in DIR/<name>/: the stores one level down
        below = [
            open_store(sub, sandbox)
            for sub in sorted(path.iterdir())
            if sub.is_dir()
            and not sub.is_symlink()
            and not sub.name.startswith(".")
            and image_scheme(sub.name, sandbox).version_of(sub.name) is None
            and schemes_in(sub, sandbox)
        ]
        found = [s for s in below if s.version_names()]
        if found:
            return found
    return [store]


def open_one_store(location: str | os.PathLike, sandbox: bool = False) -> Store:
    """The one store ``location`` names (one image one level down included).

    A directory of several images is refused naming each image's link.
    """
    stores = open_stores(location, sandbox)
    if len(stores) > 1:
        links = ", ".join(str(s.link) for s in stores)
        raise BadInputError(
            f"holds {len(stores)} images: name one by its link ({links})", os.fspath(location)
        )
    return stores[0]


def named_version(location: str | os.PathLike, store: Store) -> str | None:
    """The version ``location`` names in ``store`` (a version file or one of its sidecars)."""
    path = Path(os.path.normpath(Path(location).absolute()))
    owner = sidecar_owner(path)
    if owner is not None:
        path = owner
    if path.parent != store.dir or path.is_symlink():
        return None
    return store.scheme.version_of(path.name)


def resolved_note(location: str | os.PathLike, store: Store) -> str | None:
    """What ``location`` was taken for, when it is not the store directory itself."""
    path = Path(os.path.normpath(Path(location).absolute()))
    if path == store.dir:
        return None
    if path == store.link:
        return None  # the active link names its store plainly
    owner = sidecar_owner(path)
    if owner is not None and owner.parent == store.dir:
        version = store.scheme.version_of(owner.name)
        if version is None:
            return f"{path} is a sidecar of base image {owner.name} of the store {store.dir}"
        if not os.path.lexists(owner):
            return (
                f"{path} is a sidecar of version {version}, which is not in the store"
                f" (a failed build's log); its store's active link is {store.link}"
            )
        return (
            f"{path} is a sidecar of version {version} of the image"
            f" whose active link is {store.link}"
        )
    if path.parent == store.dir and store.scheme.is_base(path.name):
        return f"{path} is a base image of the store whose active link is {store.link}"
    version = store.scheme.version_of(path.name)
    if path.parent == store.dir and version is not None:
        return f"{path} is version {version} of the image whose active link is {store.link}"
    return None
