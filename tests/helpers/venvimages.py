"""Real images with several Python environments and with a deleted direct-URL wheel.

Built FROM the cached Debian base (``Bootstrap: localimage``), cached by content.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from images import cache_dir, cached_build, debian_sif
from wheels import make_wheel

#: The system Python and the venv both have the probe, at different versions.
PROBE = "scitex-venv-probe"
SYSTEM_PROBE, VENV_PROBE = "1.0.0", "2.0.0"
VENV_ONLY = ("scitex-venv-only", "0.3.0")


def _wheels() -> list[Path]:
    d = cache_dir() / "venv-inputs-v1"
    return [
        make_wheel(d, PROBE, SYSTEM_PROBE),
        make_wheel(d, PROBE, VENV_PROBE),
        make_wheel(d, *VENV_ONLY),
    ]


def venv_def_text(base: Path) -> str:
    sys_whl, venv_whl, only_whl = _wheels()
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {sys_whl} /opt/w/sys/{sys_whl.name}
            {venv_whl} /opt/w/venv/{venv_whl.name}
            {only_whl} /opt/w/venv/{only_whl.name}

        %post
            set -e
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
            pip3 install --break-system-packages --no-index --no-deps /opt/w/sys/{sys_whl.name}
            python3 -m venv /opt/venv
            /opt/venv/bin/pip install --no-index --no-deps --find-links /opt/w/venv \\
                {PROBE}=={VENV_PROBE} {VENV_ONLY[0]}
            apt-get clean
            rm -rf /var/lib/apt/lists/*

        %environment
            export PATH=/opt/venv/bin:$PATH
        """
    )


def venv_sif() -> Path:
    """Debian base + a venv at /opt/venv first on the runtime PATH (about a minute once)."""
    text = venv_def_text(debian_sif())
    digest = hashlib.sha256(b"".join(w.read_bytes() for w in _wheels())).hexdigest()
    return cached_build("venv-envs", text, extra_key=digest)


URL_WHEEL = ("UrlGone_Pkg", "5.0")


def urlgone_def_text(base: Path) -> str:
    """A wheel installed by path, then deleted: ``pip freeze`` prints ``Name @ file://...``."""
    whl = make_wheel(cache_dir() / "urlgone-inputs-v1", *URL_WHEEL)
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {whl} /opt/tmpw/{whl.name}

        %post
            pip3 install --break-system-packages --no-index --no-deps /opt/tmpw/{whl.name}
            rm -rf /opt/tmpw
        """
    )
