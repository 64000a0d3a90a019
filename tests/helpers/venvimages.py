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


#: A version of the venv-only package that the layered image installs into the system.
LAYER_SYSTEM_ONLY = (VENV_ONLY[0], "0.4.0")


def layered_def_text(base: Path) -> str:
    """FROM the venv image: the system Python gets a package the venv has at another version.

    In this ``%post`` apptainer has sourced the base's environment, so
    ``pip3``/``python3`` are the venv's; only ``/usr/bin/python3`` is the system's.
    """
    whl = make_wheel(cache_dir() / "layer-inputs-v1", *LAYER_SYSTEM_ONLY)
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {whl} /opt/w2/{whl.name}

        %post
            /usr/bin/python3 -m pip install --break-system-packages --no-index --no-deps \\
                --find-links /opt/w2 {LAYER_SYSTEM_ONLY[0]}=={LAYER_SYSTEM_ONLY[1]}
        """
    )


#: The probe's versions in a top-level venv (``/venv``) and a conda-style env.
TOP_PROBE, CONDA_PROBE = "3.0.0", "4.0.0"
CONDA_ENV = "/opt/conda/envs/py"


def _more_wheels() -> list[Path]:
    d = cache_dir() / "more-envs-inputs-v1"
    return [make_wheel(d, PROBE, TOP_PROBE), make_wheel(d, PROBE, CONDA_PROBE)]


def more_envs_def_text(base: Path) -> str:
    """FROM the venv image: ``/venv`` (first on PATH) and ``/opt/conda/envs/py``."""
    top, conda = _more_wheels()
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {top} /opt/w3/top/{top.name}
            {conda} /opt/w3/conda/{conda.name}

        %post
            set -e
            /usr/bin/python3 -m venv /venv
            /venv/bin/python3 -m pip install --no-index --no-deps --find-links /opt/w3/top \\
                {PROBE}=={TOP_PROBE}
            mkdir -p /opt/conda/envs
            /usr/bin/python3 -m venv {CONDA_ENV}
            {CONDA_ENV}/bin/python3 -m pip install --no-index --no-deps \\
                --find-links /opt/w3/conda {PROBE}=={CONDA_PROBE}
            rm -rf /opt/w3

        %environment
            export PATH=/venv/bin:$PATH
        """
    )


def more_envs_sif() -> Path:
    text = more_envs_def_text(venv_sif())
    return cached_build("more-envs", text)


def sourced_env_def_text(base: Path) -> str:
    """FROM :func:`more_envs_sif`: ``%environment`` sources a file that puts the conda env first."""
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %post
            echo 'export PATH={CONDA_ENV}/bin:$PATH' > {CONDA_ENV}/activate.sh

        %environment
            . {CONDA_ENV}/activate.sh
        """
    )


def sourced_env_sif() -> Path:
    return cached_build("sourced-env", sourced_env_def_text(more_envs_sif()))
