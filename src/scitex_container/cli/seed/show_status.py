"""`scitex-container show-status`: the seed's name of `status`."""

from scitex_container.cli.seed.apply import alias

show_status = alias("show-status", "status")
