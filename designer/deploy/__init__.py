"""Deploy: a trained design as a file a phone or a board runs, checked in that file's own runtime.

`targets.py` names the targets and the packages each needs (the `deploy` extra); `engine.py`
converts, loads the file back in its runtime, compares it with the design on the same inputs and
measures it; `cli.py` is the `designer deploy` verb. Qt-free, like every engine.
"""
