"""Training elastic-dimension models: the config schema (:mod:`mic.training.config`), the recipe that builds model,
loss and trainer (:mod:`mic.training.recipe`), the run folders a resume reads (:mod:`mic.training.folders`), the
dev evaluator run during training (:mod:`mic.training.evaluator`) and ``mic demo`` (:mod:`mic.training.demo`).

Import from the submodules: importing this package loads nothing heavy.
"""
