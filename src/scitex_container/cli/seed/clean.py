"""`scitex-container clean`: the seed's name of `cleanup`."""

from scitex_container.cli.seed.apply import alias

clean = alias("clean", "cleanup")
