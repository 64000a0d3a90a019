"""Image store commands, one module each: status, versions, switch, rollback, cleanup, deploy."""
