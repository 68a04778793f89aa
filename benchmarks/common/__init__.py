"""What every benchmark shares: the run record and its provenance (:mod:`.provenance`), the one run key and
run cache (:mod:`.runs`), the registry of settings and methods (:mod:`.settings`), scoring through ``mic eval``'s
runner (:mod:`.scoring`), training one cached run (:mod:`.training`), the dev sweeps' selection rules
(:mod:`.sweeps`), report writing (:mod:`.report`), what a fit saw (:mod:`.protocols`), timing contenders
(:mod:`.timing`), the funnel benchmark's grid, Qdrant Edge contenders, flat vs HNSW crossover and report
(:mod:`.funnel`, :mod:`.edge`, :mod:`.crossover`, :mod:`.funnel_report`), and the search benchmark's peers,
``mic serve`` clients and report (:mod:`.peers`, :mod:`.serve_load`, :mod:`.search_report`). Each benchmark script
is a short command line over these; no benchmark imports another.
"""
