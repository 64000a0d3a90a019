"""`scitex-container freeze`: the seed's name of `lock freeze`."""

from scitex_container.cli.seed.apply import alias

freeze = alias("freeze", "lock freeze")
