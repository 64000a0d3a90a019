"""The seed's command line, accepted as it was: its command names and option spellings.

Every seed name that differs from ours is an alias shown as such in
``--help`` (``list`` of ``versions``, ``env-snapshot`` of ``snapshot``...);
every seed option is added to our command with the seed's meaning
(:mod:`.table`).  :func:`.apply.with_seed` is what the root group calls on
each command it loads.
"""
