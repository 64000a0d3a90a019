"""Agent-facing skill pages shipped with the package (the seed's ``skills`` command).

:mod:`.book` lists and reads the pages under ``pages/``; :mod:`.skill_install`
links (or copies) them where an agent looks for skills, replacing only what
it made itself.
"""
