"""`scitex-container env-snapshot` / `save-env-snapshot`: the seed's names of `snapshot`."""

from scitex_container.cli.seed.apply import alias

env_snapshot = alias("env-snapshot", "snapshot")
save_env_snapshot = alias("save-env-snapshot", "snapshot")
