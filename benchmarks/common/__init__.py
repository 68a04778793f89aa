"""What every benchmark shares: the run record and its provenance (:mod:`.provenance`), the one run key and
run cache (:mod:`.runs`), the registry of settings and methods (:mod:`.settings`), scoring through ``mic eval``'s
runner (:mod:`.scoring`), training one cached run (:mod:`.training`), the dev sweeps' selection rules
(:mod:`.sweeps`) and report writing (:mod:`.report`). Each benchmark script is a short command line over these;
no benchmark imports another.
"""
