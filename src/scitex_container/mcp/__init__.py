"""The MCP server: one more thin interface, like the CLI, for AI agents.

:mod:`.tool_catalog` declares the tools, :mod:`.tool_call` checks a call's
arguments and runs the matching CLI command with ``--json`` (in-process, or a child),
:mod:`.stdio_server` speaks the protocol (``scitex-container-mcp``).
"""
