"""Run folders: every file a training run (and ``socsim report``, ``drift``, a sweep point) keeps in its folder.

:mod:`~socsim.runfolder.files` names each file and writes them atomically; :mod:`~socsim.runfolder.read`
loads a folder for reports (:class:`RunFolder`); :mod:`~socsim.runfolder.runargs` is ``run.json`` (what the
run was started with); :mod:`~socsim.runfolder.checkpoint` the data-only checkpoint format.
"""
