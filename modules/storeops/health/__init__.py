"""``storeops health`` and ``storeops sample``: the read-only morning check of every store,
and the DMS availability sampler."""
