"""The stage cache: rebuild only what changed (``%post`` cut at checkpoints).

``markers`` (checkpoint lines), ``stages`` (a def split into stages),
``stage_keys`` (a digest per stage), ``entries`` (the cache directory),
``staged`` (a build resumed from the deepest cached stage) and ``hook``
(the glue into a versioned build).
"""
