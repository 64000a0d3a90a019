"""`scitex-container verify`: an image against its def and its lock; exit 1 on fail."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import EXISTING, EXISTING_DIR, EXISTING_FILE, common_options
from scitex_container.cli.output import emit
from scitex_container.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_UNVERIFIED


@click.command()
@click.argument("image", type=EXISTING)
@click.option(
    "--def",
    "def_path",
    type=EXISTING_FILE,
    help="The .def that should have built IMAGE.",
)
@click.option(
    "--lock-dir",
    type=EXISTING_DIR,
    help="Directory with the lock (default: the .lock sidecar, else the lock in the image).",
)
@click.option("--key", type=EXISTING_FILE, help="Also check IMAGE's signature with this PEM key.")
@click.option(
    "--keyring",
    type=EXISTING_DIR,
    help="Also check IMAGE's signature: any *.pub/*.pem key in this directory.",
)
@common_options
def verify(
    image: str, def_path: str | None, lock_dir: str | None, key: str | None, keyring: str | None
) -> int:
    """Verify IMAGE: sha256, def origin and installed versions against its lock.

    With --key/--keyring also apptainer's signature over every object and the
    signed build statement (signer, builder, materials).  Read-only: with
    --dry-run no cache is written; the exit code is the check's: 0 pass,
    1 a check failed, 4 unverified (nothing failed, but no recorded digest
    or verified signature vouches for the image's bytes).
    """
    from scitex_container.apptainer.signing.signature_check import verify_with_signature
    from scitex_container.files.pathinfo import broken_link

    broken = broken_link(image)  # no image behind it: bad input (2), not a failed check
    if broken is not None:
        raise broken
    if def_path is not None:  # a FIFO, device, link loop or oversized def is bad input
        from scitex_container.apptainer.deffile.files import read_def_text

        read_def_text(def_path)  # the same bounds as build (size, lines), file:line
    opts = get_options()
    result, commands = execute(
        lambda: verify_with_signature(image, def_path, lock_dir, key, keyring)
    )
    if opts.json:
        emit(result, opts, dry_run_commands=commands)
    else:
        sif = result["sif"]
        lines = [f"image       {sif['path']}  sha256 {sif['sha256'] or '-'}"]
        source = result.get("lock_source", {})
        if source.get("kind") not in (None, "none"):
            lines.append(f"lock from   {source['kind']}: {source['path']}")
        keys = ("integrity", "def_origin", "lock_origin", "pip_lock", "dpkg_lock", "node_lock")
        for key in (*keys, "apk_lock"):
            if key in result:
                check = result[key]
                lines.append(f"{key:<11} {check['status']:<5} {check['detail']}")
        if "signature" in result:
            sig = result["signature"]
            status = "pass" if sig["ok"] else f"fail  {sig['failed_check']}:"
            lines.append(f"signature   {status} {sig['detail']}")
            if sig.get("builder"):
                lines.append(f"builder     {sig['builder']}")
            for item in sig.get("materials") or []:
                digest = ", ".join(f"{k}:{v[:16]}" for k, v in (item.get("digest") or {}).items())
                lines.append(f"material    {item.get('uri')} {digest}")
        lines.append(f"overall     {result['overall']}")
        click.echo("\n".join(lines))
    if result["overall"] == "unverified":
        return EXIT_UNVERIFIED
    return EXIT_OK if result["overall"] == "pass" else EXIT_CHECK_FAILED
