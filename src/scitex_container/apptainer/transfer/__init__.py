"""Images that travel with their proof: OCI registries (``oras://``) and bundles.

* :mod:`.oci_ref` parses ``oras://REGISTRY/NAME[:TAG|@sha256:HEX]``;
* :mod:`.oci_client` speaks the distribution API for the few calls we make
  beside apptainer (manifests, small blobs);
* :mod:`.proof` collects an image's lock, in-toto statement and SBOM and
  checks them against the signed copies inside the SIF;
* :mod:`.push` / :mod:`.pull` move a version through a registry (the SIF by
  ``apptainer push``/``pull``, its proof as an OCI artifact whose ``subject``
  is the SIF's manifest);
* :mod:`.bundle_manifest`, :mod:`.bundle_export`, :mod:`.bundle_import`: one
  tar file for air-gapped sites, every member named with its sha256.
"""
