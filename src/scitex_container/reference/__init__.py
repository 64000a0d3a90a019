"""The compatibility layer for *the reference*: the seed's published Python API.

scitex-container began as a seed package (``scitex-ai/scitex-container``)
whose documentation site had an API page listing 53 functions under
``scitex_container``, ``scitex_container.apptainer``, ``.docker`` and
``.host`` with their parameters and return shapes.  That page is *the
reference*: code written against it must keep working here, so its module
paths, names, parameters and return shapes are our public interface.  "The
seed" is that original package; "seed-era" files (locks, markers, snapshots)
are files it wrote, which we still read.

Most reference functions are thin names over the one store, the one def
model and the session builders, and are exported lazily from the package
``__init__`` modules.  The functions that exist only to keep the reference's
shapes (flat ``scitex-v*.sif`` stores, list-of-dict results) live here:

* :mod:`.store_versions` -- ``list_versions``, ``switch_version``,
  ``rollback``, ``cleanup``, ``cleanup_sifs``, ``is_sandbox``...
* :mod:`.sandboxes` -- ``list_sandboxes``, ``switch_sandbox``,
  ``rollback_sandbox``, ``cleanup_sandboxes``...

``scitex_container.apptainer._lockgen`` keeps the seed's private import path
for the lock functions.
"""
