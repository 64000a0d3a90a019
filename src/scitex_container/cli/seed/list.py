"""`scitex-container list`: the seed's name of `versions`."""

from scitex_container.cli.seed.apply import alias

list_ = alias("list", "versions")
